"""Every documented incident is blocked by the default policy, judged as the registry showed it
an hour after the malicious release (``--as-of``), through the real engine and every rule.

The fixtures (``tests/fixtures/rules/``) are shaped from public write-ups; each names its
sources. A benign look-alike of each shape stays below block.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from providers import FakeFacts, ShippedNames
from rule_facts import for_facts, load, tree

from npmguard.asof import facts_as_of
from npmguard.engine import Engine
from npmguard.facts import PackageFacts
from npmguard.model import Finding, Level, Lockfile, Verdict
from npmguard.policy.model import Policy


def judge(lockfile: Lockfile, facts: list[PackageFacts], when: datetime) -> dict[str, Verdict]:
    """Verdicts by package name, every rule at its default level, as of ``when``."""
    source = FakeFacts({f.key: facts_as_of(f, when) for f in facts})
    engine = Engine(
        Policy(),
        providers=(source, ShippedNames()),
        allowed_registries=("https://registry.npmjs.org/",),
        now=when,
    )
    report = engine.run([lockfile])
    judge.findings = list(report.findings)  # type: ignore[attr-defined]
    return {v.package.name: v.verdict for v in report.packages}


def blocking(name: str) -> dict[str, Finding]:
    found: list[Finding] = judge.findings  # type: ignore[attr-defined]
    return {f.rule: f for f in found if f.package == name and f.level is Level.BLOCK}


def an_hour_after(facts: PackageFacts) -> datetime:
    info = facts.version_info()
    assert info is not None and info.published is not None
    return info.published + timedelta(hours=1)


def test_event_stream_3_3_6_with_its_new_maintainers_brand_new_dependency() -> None:
    es = load("event-stream-3.3.6")
    flat = replace(load("flatmap-stream-0.1.1"), version="0.1.0")  # what 3.3.6 resolved then
    lockfile = tree(
        for_facts(es, requires=[flat.key]), for_facts(flat, dependents=[es.key], depth=2)
    )
    verdicts = judge(lockfile, [es, flat], an_hour_after(es))
    assert verdicts["event-stream"] is Verdict.BLOCK
    found = blocking("event-stream")
    assert list(found) == ["new-dependency"]
    evidence = {e.label: e.value for e in found["new-dependency"].evidence}
    assert evidence["new publisher"].startswith("right9ctrl")
    assert evidence["the publisher's first release in view"] == "flatmap-stream on 2018-09-05"
    assert "793 days" in evidence["after a quiet period"]


def test_ua_parser_js_0_7_29_blocked_by_what_its_preinstall_runs() -> None:
    ua = load("ua-parser-js-0.7.29")
    verdicts = judge(tree(for_facts(ua)), [ua], an_hour_after(ua))
    assert verdicts["ua-parser-js"] is Verdict.BLOCK
    assert "install-script-suspicious" in blocking("ua-parser-js")


@pytest.mark.parametrize("name", ["coa-2.0.3", "rc-1.2.9"])
def test_coa_and_rc_blocked_by_their_dropper(name: str) -> None:
    facts = load(name)
    verdicts = judge(tree(for_facts(facts)), [facts], an_hour_after(facts))
    assert verdicts[facts.name] is Verdict.BLOCK
    assert "install-script-suspicious" in blocking(facts.name)
    added = [f for f in judge.findings if f.rule == "new-install-script"]  # type: ignore[attr-defined]
    # the wake-up and the new install script together warn; the content blocks
    assert [f.level for f in added] == [Level.WARN]
    assert any(e.label == "after a quiet period" for e in added[0].evidence)


def test_tinycolor_4_1_1_install_script_without_provenance() -> None:
    tc = load("tinycolor-4.1.1")
    verdicts = judge(tree(for_facts(tc)), [tc], an_hour_after(tc))
    assert verdicts["@ctrl/tinycolor"] is Verdict.BLOCK
    found = blocking("@ctrl/tinycolor")
    assert {"new-install-script", "install-script-suspicious"} <= found.keys()
    labels = {e.label for e in found["new-install-script"].evidence}
    assert "provenance lost" in labels


def test_nx_20_9_0_changed_postinstall_without_provenance() -> None:
    nx = load("nx-20.9.0")
    verdicts = judge(tree(for_facts(nx)), [nx], an_hour_after(nx))
    assert verdicts["nx"] is Verdict.BLOCK
    found = blocking("nx")
    assert "install-script-suspicious" in found
    warned = {f.rule for f in judge.findings if f.level is Level.WARN}  # type: ignore[attr-defined]
    assert "provenance-lost" in warned


def test_axios_1_14_1_adds_a_day_old_dependency_that_runs_a_postinstall() -> None:
    axios, plain = load("axios-1.14.1"), load("plain-crypto-js-4.2.1")
    lockfile = tree(
        for_facts(axios, requires=[plain.key]),
        for_facts(plain, dependents=[axios.key], depth=2, has_install_script=True),
    )
    verdicts = judge(lockfile, [axios, plain], an_hour_after(axios))
    assert verdicts["axios"] is Verdict.BLOCK
    found = blocking("axios")
    assert list(found) == ["new-dependency"]
    f = found["new-dependency"]
    assert "plain-crypto-js" in f.message and "running an install script" in f.message
    labels = {e.label: e.value for e in f.evidence}
    assert labels["provenance lost"] == "1.14.0 had it"
    assert labels["plain-crypto-js install script"] == "postinstall"
    # the publisher published earlier versions: not a change of hands by name
    assert "new publisher" not in labels
    assert verdicts["plain-crypto-js"] in (Verdict.WARN, Verdict.BLOCK)


# --- benign look-alikes of the same shapes stay below block ------------------------------------


def test_same_shape_without_the_install_script_only_warns() -> None:
    """axios's shape, but the brand-new dependency runs nothing at install."""
    axios, plain = load("axios-1.14.1"), load("plain-crypto-js-4.2.1")
    plain = replace(
        plain,
        manifest=replace(plain.manifest, scripts={}) if plain.manifest else None,
        versions=tuple(replace(v, has_install_script=False) for v in plain.versions or ()),
        tarball=None,
    )
    lockfile = tree(
        for_facts(axios, requires=[plain.key]), for_facts(plain, dependents=[axios.key])
    )
    verdicts = judge(lockfile, [axios, plain], an_hour_after(axios))
    assert verdicts["axios"] is Verdict.WARN


def test_new_maintainer_adding_own_new_package_with_a_track_record_warns() -> None:
    """event-stream's shape, but the new publisher has published for years (find-cache-dir
    1.0.0 adding make-dir, 2017, in the real histories)."""
    es = load("event-stream-3.3.6")
    flat = replace(load("flatmap-stream-0.1.1"), version="0.1.0")
    older = PackageFacts(
        name="other-tool",
        version="2.0.0",
        status=flat.status,
        versions=tuple(
            replace(v, version=f"{i}.0.0", published=v.published - timedelta(days=900))
            for i, v in enumerate(flat.versions or (), 1)
            if v.published is not None
        ),
    )
    lockfile = tree(
        for_facts(es, requires=[flat.key, older.key]),
        for_facts(flat, dependents=[es.key]),
        for_facts(older, dependents=[es.key]),
    )
    verdicts = judge(lockfile, [es, flat, older], an_hour_after(es))
    assert verdicts["event-stream"] is Verdict.WARN
