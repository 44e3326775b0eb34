"""Dormant traps and takeovers on fixtures shaped like documented incidents and look-alikes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from rule_facts import NOW, check, context, for_facts, load, locked, run_engine, tree

from npmguard.facts import ManifestFacts, Need, PackageFacts, VersionInfo
from npmguard.model import Level, Verdict
from npmguard.policy.model import Policy
from npmguard.rules.additions import NewBin, NewDependency, NewInstallScript
from npmguard.rules.history import previous_version
from npmguard.rules.takeover import (
    DormantWake,
    NewPackage,
    ProvenanceLost,
    PublisherChange,
    TooNew,
)

TAKEOVER_RULES = (
    "dormant-wake",
    "new-install-script",
    "new-bin",
    "new-dependency",
    "publisher-change",
    "provenance-lost",
    "too-new",
    "new-package",
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# --- event-stream 3.3.6 (2018) -----------------------------------------------------------------


def test_event_stream_publisher_change_names_the_new_account() -> None:
    findings = check(PublisherChange, load("event-stream-3.3.6"))
    assert len(findings) == 1
    f = findings[0]
    assert "right9ctrl" in f.message
    values = {e.label: e.value for e in f.evidence}
    assert values["earlier publishers"] == "dominictarr"
    assert "event-stream@3.3.4" in f.hint  # the previous release to pin


def test_event_stream_brand_new_dependency_is_raised_a_level() -> None:
    es, flat = load("event-stream-3.3.6"), load("flatmap-stream-0.1.1")
    lockfile = tree(
        for_facts(es, requires=[flat.key]), for_facts(flat, dependents=[es.key], depth=2)
    )
    ctx = context(lockfile, {es.key: es, flat.key: flat}, now=at("2018-09-20T00:00:00"))
    findings = list(NewDependency().check(ctx))
    assert len(findings) == 1
    f = findings[0]
    assert f.package == "event-stream"
    # info by default, one up for a package 4 days old, one more: new publisher, quiet period
    assert f.level == Level.BLOCK
    assert "brand-new" in f.message and "flatmap-stream" in f.message
    assert any("created 2018-09-05" in e.value for e in f.evidence)
    labels = {e.label for e in f.evidence}
    assert {"new publisher", "after a quiet period"} <= labels


def test_brand_new_dependency_alone_is_information() -> None:
    es, flat = load("event-stream-3.3.6"), load("flatmap-stream-0.1.1")
    same_hand = tuple(
        replace(v, publisher="dominictarr") for v in es.versions or ()
    )  # as if the old maintainer had added it
    es = replace(es, versions=same_hand)
    lockfile = tree(
        for_facts(es, requires=[flat.key]), for_facts(flat, dependents=[es.key], depth=2)
    )
    ctx = context(lockfile, {es.key: es, flat.key: flat}, now=NOW)  # years later: no wake
    (f,) = NewDependency().check(ctx)
    assert f.level == Level.INFO and "brand-new package(s): flatmap-stream" in f.message
    # with the wake-up it is a combination: a warning, the wake-up as evidence
    ctx = context(lockfile, {es.key: es, flat.key: flat}, now=at("2018-09-20T00:00:00"))
    (f,) = NewDependency().check(ctx)
    assert f.level == Level.WARN
    assert "after a quiet period" in {e.label for e in f.evidence}


def test_new_dependency_without_the_dependency_facts_stays_info() -> None:
    findings = check(NewDependency, load("event-stream-3.3.6"))
    assert [f.level for f in findings] == [Level.INFO]


def test_event_stream_is_a_dormant_wake_when_checked_soon_after() -> None:
    es = load("event-stream-3.3.6")
    findings = check(DormantWake, es, now=at("2018-09-20T00:00:00"))
    assert len(findings) == 1
    assert "793 days" in findings[0].message  # 2016-07-08 .. 2018-09-09
    assert check(DormantWake, es, now=NOW) == []  # years later it is not recent any more


def test_previous_version_skips_versions_published_later() -> None:
    es = load("event-stream-3.3.6")
    prev = previous_version(es)
    assert prev is not None and prev.version == "3.3.4"  # not 4.0.0, published after


def test_previous_version_of_a_backport_is_the_lower_line() -> None:
    infos = (
        VersionInfo("1.2.8", published=at("2020-01-01T00:00:00")),
        VersionInfo("2.0.0", published=at("2021-01-01T00:00:00")),
        VersionInfo("1.2.9", published=at("2022-01-01T00:00:00")),
    )
    facts = PackageFacts(name="x", version="1.2.9", versions=infos)
    prev = previous_version(facts)
    assert prev is not None and prev.version == "1.2.8"


# --- ua-parser-js 0.7.29, coa 2.0.3, rc 1.2.9 (2021) -----------------------------------------


def test_ua_parser_new_install_script_alone_is_information() -> None:
    findings = check(NewInstallScript, load("ua-parser-js-0.7.29"), now=at("2021-10-22T13:00:00"))
    assert len(findings) == 1
    assert findings[0].level == Level.INFO  # same publisher, no wake-up: no combination
    assert any("start /B node preinstall.js" in e.value for e in findings[0].evidence)
    assert "ua-parser-js@0.7.28" in findings[0].hint
    assert check(PublisherChange, load("ua-parser-js-0.7.29")) == []


def test_coa_and_rc_woken_with_an_install_script_warn() -> None:
    for name in ("coa-2.0.3", "rc-1.2.9"):
        facts = load(name)
        now = at("2021-11-04T18:00:00")
        wake = check(DormantWake, facts, now=now)
        assert [f.level for f in wake] == [Level.INFO], name  # a wake-up alone informs
        added = check(NewInstallScript, facts, now=now)
        assert len(added) == 1, name
        # a combination, but one benign histories show too (mime 1.3.0 added an install
        # script after two years): a warning; their dropper's content is what blocks
        assert added[0].level == Level.WARN
        assert "after 1" in added[0].message
        assert any(e.label == "after a quiet period" for e in added[0].evidence)
        # publishers are unknown in these fixtures: unknown never counts as a change
        assert check(PublisherChange, facts) == []


# --- chalk 5.6.1 (September 2025 phishing) ----------------------------------------------------


def test_chalk_same_publisher_is_not_a_publisher_change() -> None:
    chalk = load("chalk-5.6.1")
    now = at("2025-09-08T15:00:00")
    assert check(PublisherChange, chalk, now=now) == []
    assert check(ProvenanceLost, chalk, now=now) == []  # never had provenance
    assert check(NewInstallScript, chalk, now=now) == []
    young = check(TooNew, chalk, now=now)
    assert len(young) == 1  # the cool-down is what catches it
    assert "2 hours ago" in young[0].message
    assert "chalk@5.6.0" in young[0].hint


# --- Shai-Hulud (September 2025) --------------------------------------------------------------


def test_tinycolor_loses_provenance_and_gains_an_install_script() -> None:
    tc = load("tinycolor-4.1.1")
    now = at("2025-09-16T00:00:00")
    lost = check(ProvenanceLost, tc, now=now)
    assert len(lost) == 1
    assert "4.1.0 had one" in lost[0].message
    assert "@ctrl/tinycolor@4.1.0" in lost[0].hint
    added = check(NewInstallScript, tc, now=now)
    assert len(added) == 1 and added[0].level == Level.BLOCK
    labels = {e.label for e in added[0].evidence}
    assert {"provenance lost", "after a quiet period"} <= labels
    assert any(e.value == "node bundle.js" for e in added[0].evidence)


def test_install_script_with_provenance_lost_alone_blocks() -> None:
    tc = load("tinycolor-4.1.1")
    versions = tuple(
        replace(v, published=at("2025-09-01T00:00:00")) if v.version == "4.1.0" else v
        for v in tc.versions or ()
    )
    added = check(NewInstallScript, replace(tc, versions=versions), now=at("2025-09-16T00:00:00"))
    assert added[0].level == Level.BLOCK
    assert "after a quiet period" not in {e.label for e in added[0].evidence}


# --- legitimate look-alike: ms after two quiet years ------------------------------------------


def test_ms_routine_release_only_notes_the_wake() -> None:
    ms = load("ms-2.1.4")
    report, source = run_engine(tree(for_facts(ms)), {ms.key: ms}, TAKEOVER_RULES)
    assert source.asked == [frozenset({Need.PACKUMENT})]
    assert [(f.rule, f.level) for f in report.findings] == [("dormant-wake", Level.INFO)]
    assert report.verdict is Verdict.OK  # information, not a warning


def test_incidents_through_the_engine() -> None:
    coa = load("coa-2.0.3")
    tc = load("tinycolor-4.1.1")
    lockfile = tree(for_facts(coa), for_facts(tc))
    from providers import FakeFacts

    from npmguard.engine import Engine
    from npmguard.rules.base import all_rules

    engine = Engine(
        Policy(),
        rules=[all_rules()[r]() for r in TAKEOVER_RULES],
        providers=(FakeFacts({coa.key: coa, tc.key: tc}),),
        now=at("2021-11-04T18:00:00"),
    )
    report = engine.run([lockfile])
    by_pkg = {v.package.name: v.verdict for v in report.packages}
    assert by_pkg["coa"] is Verdict.WARN  # woken + new install script (content rules block)
    assert by_pkg["@ctrl/tinycolor"] is Verdict.BLOCK  # provenance lost + new install script


def test_policy_level_shifts_the_raised_finding() -> None:
    es = load("event-stream-3.3.6")
    policy = Policy(levels={"new-dependency": Level.OFF, "publisher-change": Level.BLOCK})
    report, _ = run_engine(tree(for_facts(es)), {es.key: es}, ("publisher-change",), policy=policy)
    assert report.verdict is Verdict.BLOCK


# --- new-bin, too-new, new-package, unknowns ---------------------------------------------------


def _bin_facts(bins: dict[str, str], prev_bins: tuple[str, ...] | None) -> PackageFacts:
    return PackageFacts(
        name="tool",
        version="1.1.0",
        versions=(
            VersionInfo("1.0.0", published=at("2026-01-01T00:00:00"), bin_names=prev_bins),
            VersionInfo("1.1.0", published=at("2026-06-01T00:00:00")),
        ),
        manifest=ManifestFacts(bin=bins),
    )


def test_new_bin_shadowing_a_system_command_warns() -> None:
    plain = check(NewBin, _bin_facts({"tool": "cli.js", "tool-x": "x.js"}, ("tool",)))
    assert [(f.level, "tool-x" in f.message) for f in plain] == [(Level.INFO, True)]
    shadow = check(NewBin, _bin_facts({"tool": "cli.js", "git": "x.js"}, ("tool",)))
    assert shadow[0].level == Level.WARN and "shadowing git" in shadow[0].message
    assert check(NewBin, _bin_facts({"git": "x.js"}, None)) == []  # previous bins unknown


def test_too_new_respects_the_option_and_unknown_times() -> None:
    facts = PackageFacts(
        name="fresh",
        version="2.0.0",
        versions=(
            VersionInfo("1.0.0", published=NOW - timedelta(days=40)),
            VersionInfo("2.0.0", published=NOW - timedelta(hours=30)),
        ),
    )
    assert len(check(TooNew, facts)) == 1
    assert check(TooNew, facts, options={"too-new": {"days": 1}}) == []
    assert check(TooNew, facts, options={"too-new": {"days": 0}}) == []
    unknown = replace(facts, versions=(VersionInfo("2.0.0"),))
    assert check(TooNew, unknown) == []


def test_too_new_exclusions_skip_the_cool_down() -> None:
    facts = PackageFacts(
        name="@acme/ui",
        version="2.0.0",
        versions=(
            VersionInfo("1.0.0", published=NOW - timedelta(days=40)),
            VersionInfo("2.0.0", published=NOW - timedelta(hours=30)),
        ),
    )
    assert len(check(TooNew, facts, now=NOW)) == 1
    for exclude in (("@acme/*",), ("@acme/ui",), ("@acme/ui@2.0.0||2.0.1",), ("@acme/ui@^2",)):
        assert check(TooNew, facts, now=NOW, options={"too-new": {"exclude": exclude}}) == []
    for exclude in (("@other/*",), ("@acme/ui@1.0.0",)):
        assert len(check(TooNew, facts, now=NOW, options={"too-new": {"exclude": exclude}})) == 1


def test_new_package_uses_created() -> None:
    facts = PackageFacts(name="brand-new", version="1.0.0", created=NOW - timedelta(days=3))
    found = check(NewPackage, facts)
    assert len(found) == 1 and "3 days ago" in found[0].message
    assert 'rules = ["new-package"]' in found[0].hint
    assert check(NewPackage, replace(facts, created=NOW - timedelta(days=400))) == []
    assert check(NewPackage, replace(facts, created=None)) == []


def test_unknown_facts_never_produce_findings() -> None:
    bare = PackageFacts(name="x", version="1.0.0")
    rules = (
        DormantWake,
        NewInstallScript,
        NewBin,
        NewDependency,
        PublisherChange,
        ProvenanceLost,
        TooNew,
        NewPackage,
    )
    for rule in rules:
        assert check(rule, bare) == [], rule.id
    # facts missing altogether
    lockfile = tree(locked("y", "1.0.0"))
    for rule in rules:
        assert list(rule().check(context(lockfile, {}))) == [], rule.id


def test_move_to_trusted_publishing_is_not_a_change_of_hands() -> None:
    ms = load("ms-2.1.4")
    versions = tuple(
        replace(v, publisher="GitHub Actions") if v.version == "2.1.4" else v
        for v in ms.versions or ()
    )
    assert check(PublisherChange, replace(ms, versions=versions)) == []
    # the same account without the attestation is new to the package: information
    unattested = tuple(
        replace(v, has_provenance=False) if v.version == "2.1.4" else v for v in versions
    )
    (found,) = check(PublisherChange, replace(ms, versions=unattested))
    assert found.level == Level.INFO and "GitHub Actions" in found.message


def test_new_sibling_in_own_scope_is_not_brand_new() -> None:
    when = at("2026-11-20T00:00:00")
    main = PackageFacts(
        name="@acme/core",
        version="2.1.0",
        versions=(
            VersionInfo("2.0.0", published=when - timedelta(days=90), dependency_names=()),
            VersionInfo("2.1.0", published=when),
        ),
        manifest=ManifestFacts(dependencies={"@acme/helpers": "^1.0.0"}),
    )
    sibling = PackageFacts(name="@acme/helpers", version="1.0.0", created=when - timedelta(days=2))
    lockfile = tree(
        for_facts(main, requires=[sibling.key]), for_facts(sibling, dependents=[main.key])
    )
    (f,) = NewDependency().check(context(lockfile, {main.key: main, sibling.key: sibling}))
    assert f.level == Level.INFO and "brand-new" not in f.message
