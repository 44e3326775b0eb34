"""The known-malicious rule, through the engine, with a hand-built lockfile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_helpers import EVIL_SRI, FIXTURES, PLEX_SRI, lockfile, pkg
from providers import StaticFeed

from npmguard.engine import Engine
from npmguard.facts import Need
from npmguard.feeds.importer import import_feed
from npmguard.feeds.store import FeedStore, create_feed_store
from npmguard.model import Level, Verdict
from npmguard.policy.model import AllowEntry, PackageMatcher, Policy
from npmguard.rules.base import all_rules
from npmguard.rules.feeds import KnownMalicious

OTHER_SRI = "sha512-" + "A" * 86 + "=="


@pytest.fixture
def feed(shared_data: Path, tmp_path: Path) -> Iterator[FeedStore]:
    store = create_feed_store(tmp_path / "feeds.sqlite")
    import_feed(str(shared_data / "osv-samples" / "osv"), store=store)
    import_feed(str(FIXTURES / "integrity"), store=store)
    yield store
    store.close()


TREE = lockfile(
    pkg("@ctrl/tinycolor", "4.1.1", OTHER_SRI),
    pkg("@ctrl/tinycolor", "4.1.0", OTHER_SRI),
    pkg("-pem-misa", "1.0.5", OTHER_SRI),
    pkg("@ctrl/plex", "6.0.0", PLEX_SRI),
    pkg("innocent-name", "2.0.0", EVIL_SRI),
    pkg("left-pad", "1.3.0", OTHER_SRI),
)


def run(feed: FeedStore | None, policy: Policy | None = None) -> dict[str, object]:
    engine = Engine(
        policy or Policy(),
        rules=[KnownMalicious()],
        providers=(StaticFeed(feed),),
    )
    report = engine.run([TREE])
    return {v.package.key: v for v in report.packages}


def test_rule_is_registered_and_needs_the_feed() -> None:
    assert all_rules()["known-malicious"] is KnownMalicious
    assert KnownMalicious.needs == frozenset({Need.FEED})
    assert KnownMalicious.level is Level.BLOCK


def test_verdicts(feed: FeedStore) -> None:
    verdicts = run(feed)
    expected = {
        "@ctrl/tinycolor@4.1.1": Verdict.BLOCK,
        "@ctrl/tinycolor@4.1.0": Verdict.WARN,
        "-pem-misa@1.0.5": Verdict.BLOCK,
        "@ctrl/plex@6.0.0": Verdict.OK,  # withdrawn, even though its hash matches
        "innocent-name@2.0.0": Verdict.BLOCK,  # by tarball hash
        "left-pad@1.3.0": Verdict.OK,
    }
    assert {k: v.verdict for k, v in verdicts.items()} == expected  # type: ignore[attr-defined]


def test_evidence_of_a_range_match(feed: FeedStore) -> None:
    (finding,) = run(feed)["@ctrl/tinycolor@4.1.1"].findings  # type: ignore[attr-defined]
    assert finding.rule == "known-malicious" and finding.level is Level.BLOCK
    assert finding.message == "known malicious: MAL-2025-47141 covers it (>=4.1.1 <=4.1.2)"
    evidence = {e.label: e for e in finding.evidence}
    assert evidence["feed record"].value == "MAL-2025-47141"
    assert evidence["feed record"].source.endswith("tinycolor/MAL-2025-47141.json")
    assert evidence["summary"].value == "Malicious code in @ctrl/tinycolor (npm)"
    assert evidence["affected range"].value == ">=4.1.1 <=4.1.2"
    assert evidence["aliases"].value == "GHSA-qjqf-7j6f-82c4"
    assert evidence["details"].value == "https://osv.dev/vulnerability/MAL-2025-47141"
    assert "remove @ctrl/tinycolor" in finding.hint
    assert finding.line == 10


def test_catch_all_only_match_warns_and_hints_an_allow_entry(feed: FeedStore) -> None:
    (finding,) = run(feed)["@ctrl/tinycolor@4.1.0"].findings  # type: ignore[attr-defined]
    assert finding.level is Level.WARN
    assert "only by the record's catch-all range (introduced: 0)" in finding.message
    assert "narrower ranges >=4.1.1 <=4.1.2" in finding.message
    assert '[[allow]] package = "@ctrl/tinycolor" rules = ["known-malicious"]' in finding.hint
    assert "MAL-2025-47141 catch-all range" in finding.hint


def test_integrity_match_names_the_record_package(feed: FeedStore) -> None:
    (finding,) = run(feed)["innocent-name@2.0.0"].findings  # type: ignore[attr-defined]
    assert "tarball hash is in MAL-2099-0001 (a record for evil-hash)" in finding.message
    evidence = {e.label: e.value for e in finding.evidence}
    assert evidence["tarball hash in the record"] == EVIL_SRI


def test_policy_allow_and_level_shift(feed: FeedStore) -> None:
    allow = AllowEntry(
        PackageMatcher("@ctrl/tinycolor", "<4.1.1"),
        reason="MAL-2025-47141 catch-all range; version outside 4.1.1-4.1.2",
        rules=("known-malicious",),
    )
    verdicts = run(feed, Policy(allow=(allow,)))
    assert verdicts["@ctrl/tinycolor@4.1.0"].verdict is Verdict.OK  # type: ignore[attr-defined]
    assert verdicts["@ctrl/tinycolor@4.1.1"].verdict is Verdict.BLOCK  # type: ignore[attr-defined]
    warn_only = run(feed, Policy(levels={"known-malicious": Level.WARN}))
    (catch_all,) = warn_only["@ctrl/tinycolor@4.1.0"].findings  # type: ignore[attr-defined]
    assert catch_all.level is Level.INFO
    assert warn_only["-pem-misa@1.0.5"].verdict is Verdict.WARN  # type: ignore[attr-defined]


def test_no_feed_no_findings() -> None:
    verdicts = run(None)
    assert all(v.verdict is Verdict.OK for v in verdicts.values())  # type: ignore[attr-defined]
