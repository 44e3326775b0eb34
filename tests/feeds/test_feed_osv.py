"""OSV parsing, range evaluation, hash normalisation and record matching."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from feed_helpers import EVIL_SHA1_HEX, EVIL_SRI, FIXTURES, PLEX_SRI

from npmguard.errors import FeedError
from npmguard.feeds.osv import (
    OsvEvent,
    OsvRange,
    compact_osv,
    hash_to_ssri,
    match_record,
    normalise_hashes,
    parse_record,
)

SAMPLES = "osv-samples/osv/{}"
TINYCOLOR = "malicious/npm/@ctrl/tinycolor/MAL-2025-47141.json"
PEM = "malicious/npm/-pem-misa/MAL-2025-179413.json"
PLEX = "withdrawn/npm/@ctrl/plex/MAL-2026-4377.json"


def load(shared_data: Path, rel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared_data / SAMPLES.format(rel)).read_text())
    return data


def test_tinycolor_sample_has_a_catch_all_and_a_narrow_range(shared_data: Path) -> None:
    record = parse_record(load(shared_data, TINYCOLOR), "t.json")
    assert record.id == "MAL-2025-47141"
    assert record.aliases == ("GHSA-qjqf-7j6f-82c4",)
    assert record.malicious and record.withdrawn is None
    assert record.origins == ("ghsa-malware",)
    (affected,) = record.affected
    assert [r.catch_all for r in affected.ranges] == [True, False]
    assert affected.ranges[1].text() == ">=4.1.1 <=4.1.2"
    assert record.link == "https://osv.dev/vulnerability/MAL-2025-47141"


def test_tinycolor_matching(shared_data: Path) -> None:
    record = parse_record(load(shared_data, TINYCOLOR), "t.json")
    inside = match_record(record, "@ctrl/tinycolor", "4.1.2")
    assert inside is not None and not inside.catch_all_only
    assert inside.matched == ">=4.1.1 <=4.1.2"
    outside = match_record(record, "@ctrl/tinycolor", "4.1.0")
    assert outside is not None and outside.catch_all_only
    assert outside.narrower == ">=4.1.1 <=4.1.2"
    assert match_record(record, "@ctrl/other", "4.1.1") is None


def test_catch_all_is_not_hidden_by_an_enumerated_versions_list(shared_data: Path) -> None:
    # osv.dev exports enumerate `versions` from the ranges, catch-all included
    raw = load(shared_data, TINYCOLOR)
    raw["affected"][0]["versions"] = ["4.0.0", "4.1.0", "4.1.1", "4.1.2"]
    found = match_record(parse_record(raw, "t.json"), "@ctrl/tinycolor", "4.1.0")
    assert found is not None and found.catch_all_only


def test_a_lone_catch_all_blocks_every_version(shared_data: Path) -> None:
    record = parse_record(load(shared_data, PEM), "p.json")
    for version in ("0.0.1", "1.0.0", "99.0.0-beta.1", "not-a-version"):
        found = match_record(record, "-pem-misa", version)
        assert found is not None and not found.catch_all_only, version


def test_withdrawn_sample_with_hashes(shared_data: Path) -> None:
    record = parse_record(load(shared_data, PLEX), "x.json")
    assert record.withdrawn == "2026-05-26T17:12:48Z"
    assert set(record.hashes) == {
        "sha1:8335acc541bae5d1dc6efc400e9a72eb6bfa44ed",
        normalise_hashes(PLEX_SRI)[0],
    }
    by_version = match_record(record, "@ctrl/plex", "6.0.0")
    assert by_version is not None and by_version.how == "version"
    assert match_record(record, "@ctrl/plex", "6.0.1") is None
    by_hash = match_record(record, "renamed", "1.0.0", normalise_hashes(PLEX_SRI))
    assert by_hash is not None and by_hash.how == "integrity" and by_hash.name == "@ctrl/plex"
    assert by_hash.matched == PLEX_SRI


def test_compact_form_parses_back_to_the_same_record(shared_data: Path) -> None:
    for rel in (TINYCOLOR, PEM, PLEX):
        raw = load(shared_data, rel)
        compact = compact_osv(raw)
        assert "credits" not in compact
        assert parse_record(compact, "c") == parse_record(raw, "r")
        assert len(json.dumps(compact)) < len(json.dumps(raw))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.1.9", False),
        ("1.2.0", True),
        ("1.2.9", True),
        ("1.3.0-rc.1", True),  # OSV ranges are pure ordering: a prerelease before the fix
        ("1.3.0", False),
        ("2.0.0", True),
        ("2.4.9", True),
        ("2.5.0", False),
        ("3.0.0", False),
        ("garbage", False),
    ],
)
def test_fixed_and_limit_events(version: str, expected: bool) -> None:
    record = parse_record(json.loads((FIXTURES / "ranges" / "MAL-2099-0002.json").read_text()), "r")
    assert len(record.affected[0].ranges) == 2  # the GIT range is dropped
    assert (match_record(record, "ranged", version) is not None) is expected


def test_last_affected_and_unsorted_events() -> None:
    r = OsvRange("SEMVER", (OsvEvent("last_affected", "1.5.0"), OsvEvent("introduced", "1.0.0")))
    assert r.contains("1.5.0") and r.contains("1.0.0")
    assert not r.contains("1.5.1") and not r.contains("0.9.0")
    assert r.text() == "<=1.5.0 >=1.0.0"


def test_normalise_hashes() -> None:
    both = normalise_hashes(f"{EVIL_SRI} sha1-{'A' * 27}= {EVIL_SHA1_HEX} junk sha512-!!")
    assert both[0].startswith("sha512:") and len(both[0]) == len("sha512:") + 128
    assert f"sha1:{EVIL_SHA1_HEX}" in both
    assert len(both) == 3
    assert normalise_hashes(None) == ()
    assert hash_to_ssri(both[0]) == EVIL_SRI


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "bad.json: not an OSV record"),
        ({"modified": "x"}, 'bad.json: not an OSV record (missing "id")'),
        ({"id": "MAL-1"}, 'bad.json: MAL-1: missing "modified"'),
        ({"id": "MAL-1", "modified": "x", "affected": {}}, '"affected" is not a list'),
        (
            {"id": "MAL-1", "modified": "x", "affected": [{"package": {"ecosystem": "npm"}}]},
            'affected[0]: npm package without a "name"',
        ),
        (
            {
                "id": "MAL-1",
                "modified": "x",
                "affected": [
                    {
                        "package": {"ecosystem": "npm", "name": "a"},
                        "ranges": [
                            {"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1"}]}
                        ],
                    }
                ],
            },
            "an event must have exactly one",
        ),
    ],
)
def test_invalid_records_name_the_file(data: object, message: str) -> None:
    with pytest.raises(FeedError, match=r"^bad\.json") as err:
        parse_record(data, "bad.json")
    assert message in str(err.value)
