"""spam-cluster (the tree-level view of a flood), spam-score's chain raise and the young-package
signal, on hand-built trees with publishers and publish times (and without them)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from providers import shipped_names
from rule_facts import NOW, context, locked, run_engine, tarball, tree

from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import Finding, Level, Verdict
from npmguard.rules.spam_cluster import SpamCluster, naming_keys

SPAM = (
    "spam-name", "tea-yaml", "no-code", "autopublish-script", "version-flood", "clone-cluster",
    "spam-cluster", "spam-ring", "new-package", "spam-score",
)  # fmt: skip
# made-up names in the campaign's shapes (first name + food + digits + one suffix per account)
FLOOD = ["sari-kupat12-lomba", "andi-rendang34-lomba", "tuvasi-ga3mobu-kelo"]
BURST = NOW - timedelta(hours=5)


def facts(
    name: str,
    *,
    publisher: str | None = "floodbot",
    published: datetime | None = BURST,
    created: datetime | None = None,
    body: str | None = None,
    history: int = 0,
    tea: bool = False,
) -> PackageFacts:
    """One package's facts; ``body`` varies the code so packages do not share a template."""
    texts = {
        "package.json": json.dumps({"name": name, "version": "1.0.0", "main": "index.js"}),
        "index.js": body if body is not None else f"module.exports = {len(name)};\n",
    }
    if tea:
        texts["tea.yaml"] = "---\nversion: 1.0.0\ncodeOwners:\n  - '0x" + "ab" * 20 + "'\n"
    versions = [
        VersionInfo(f"0.{i}.0", published - timedelta(days=60 * (history - i)), publisher)
        for i in range(history)
        if published is not None
    ]
    versions.append(VersionInfo("1.0.0", published, publisher))
    return PackageFacts(
        name=name,
        version="1.0.0",
        status=FactsStatus.KNOWN,
        versions=tuple(versions),
        created=created,
        manifest=ManifestFacts(main="index.js", publisher=publisher),
        tarball=tarball(texts, texts),
    )


def named(*names: str) -> dict[str, tuple[Finding, ...]]:
    return {
        "spam-name": tuple(Finding("spam-name", n, "1.0.0", "campaign-shaped name") for n in names)
    }


def run_cluster(all_facts: list[PackageFacts], flagged: list[str], **kw: object) -> list[Finding]:
    lockfile = tree(*(locked(f.name, f.version) for f in all_facts))
    ctx = context(lockfile, {f.key: f for f in all_facts}, earlier=named(*flagged), **kw)  # type: ignore[arg-type]
    return list(SpamCluster().check(ctx))


def test_one_publisher_and_a_burst_make_a_group_and_pull_in_a_name_that_passed() -> None:
    members = [
        facts(n, published=BURST + timedelta(seconds=7 * i), body=f"x{i}")
        for i, n in enumerate([*FLOOD, "kelo-util"])
    ]
    members.append(facts("left-pad", publisher="someone", published=NOW - timedelta(days=900)))
    found = {f.package: f for f in run_cluster(members, FLOOD)}
    assert set(found) == {*FLOOD, "kelo-util"}  # left-pad shares nothing with them
    labels = {e.label: e.value for e in found[FLOOD[0]].evidence}
    assert labels["one publisher"].startswith("floodbot (4 of 4)")
    assert "4 published within 21 s" in labels["publish burst"]
    assert labels["campaign-shaped names"] == "3 of 4 (spam-name)"
    assert "publisher" not in labels  # known, so nothing is said to be unknown
    plain = {e.label for e in found["kelo-util"].evidence}
    assert "this name" in plain  # says it is in the group by its links, not by its name
    assert all(f.level is Level.WARN for f in found.values())


def test_a_stripped_mirror_degrades_to_unknown_not_to_clean_or_bad() -> None:
    # no publishers, no times: only the shared template links the packages
    members = [facts(n, publisher=None, published=None, body="same();\n") for n in FLOOD]
    found = run_cluster(members, FLOOD)
    assert len(found) == 3
    labels = {e.label: e.value for e in found[0].evidence}
    assert labels["one template"] == "3 of 3 share files"
    assert labels["publisher"].startswith("unknown")
    assert labels["publish times"].startswith("unknown")
    # and with nothing shared but unknowns, there is no group at all
    apart = [facts(n, publisher=None, published=None, body=f"x{i}") for i, n in enumerate(FLOOD)]
    assert run_cluster(apart, FLOOD) == []


def test_controls_are_left_alone() -> None:
    # a monorepo release: one publisher, one burst, one template, but ordinary names
    mono = [facts(f"@acme/{n}", body="same();\n") for n in ("button", "dialog", "theme")]
    assert run_cluster(mono, []) == []
    # generated-looking names in one scope: one owner's namespace, not reported
    scoped = [facts(f"@kelana7/{n}", body="same();\n") for n in ("vobatusa", "kimora", "telasi")]
    assert run_cluster(scoped, [f.name for f in scoped]) == []
    # a family whose names happen to look generated but with months of releases
    old = [facts(n, body="same();\n", history=6) for n in FLOOD]
    assert run_cluster(old, FLOOD) == []
    # one campaign-shaped name among a publisher's ordinary packages: not half the group
    mixed = [facts(n, body="same();\n") for n in ("sari-kupat12-lomba", "aa-lib", "bb-lib")]
    assert run_cluster(mixed, ["sari-kupat12-lomba"]) == []


def test_names_that_only_depend_on_each_other_are_spam_rings_case() -> None:
    keys = [f"{n}@1.0.0" for n in FLOOD]
    lockfile = tree(
        locked(FLOOD[0], "1.0.0", requires=keys[1:2]),
        locked(FLOOD[1], "1.0.0", requires=keys[2:], dependents=keys[:1]),
        locked(FLOOD[2], "1.0.0", dependents=keys[1:2]),
    )
    apart = {
        k: facts(n, publisher=None, published=None, body=f"x{i}")
        for i, (k, n) in enumerate(zip(keys, FLOOD, strict=True))
    }
    assert list(SpamCluster().check(context(lockfile, apart, earlier=named(*FLOOD)))) == []


def test_naming_keys_are_rare_words_and_scopes() -> None:
    names = shipped_names()
    assert naming_keys("sari-kupat12-lomba", names) >= {"word:lomba"}
    assert naming_keys("kelo-util", names) & naming_keys("tuvasi-ga3mobu-kelo", names) == {
        "word:kelo"
    }
    assert naming_keys("@kelana7/vobatusa", names) == {"scope:kelana7"}
    assert naming_keys("eslint-plugin-react", names) == frozenset()  # words npm people use
    assert naming_keys("sari-kupat12-lomba", None) == frozenset()  # no name data: no words


def test_through_the_engine_each_member_is_blocked_with_what_decided_it() -> None:
    members = [
        facts(n, published=BURST + timedelta(seconds=9 * i), body=f"x{i}")
        for i, n in enumerate(FLOOD)
    ]
    lockfile = tree(*(locked(f.name, f.version) for f in members))
    report, _ = run_engine(lockfile, {f.key: f for f in members}, SPAM)
    verdicts = {v.package.name: v.verdict for v in report.packages}
    assert verdicts == {n: Verdict.BLOCK for n in FLOOD}
    score = next(f for f in report.findings if f.rule == "spam-score")
    assert score.score == 5.0  # spam-name 2 + spam-cluster 3
    evidence = {e.label: e.value for e in score.evidence}
    assert evidence["spam-cluster"].startswith("+3: one of 3 packages")
    assert (
        "one publisher" in evidence["spam-cluster"] or "publish burst" in evidence["spam-cluster"]
    )
    assert evidence["spam-name"].startswith("+2: name looks generated (")


def test_a_chain_into_blocked_spam_raises_each_link() -> None:
    # a -> b -> c: only c carries content signals; a and b have campaign names alone
    keys = [f"{n}@1.0.0" for n in FLOOD]
    lockfile = tree(
        locked("my-lib", "1.0.0", requires=keys[:1]),
        locked(FLOOD[0], "1.0.0", requires=keys[1:2], dependents=["my-lib@1.0.0"], depth=2),
        locked(FLOOD[1], "1.0.0", requires=keys[2:], dependents=keys[:1], depth=2),
        locked(FLOOD[2], "1.0.0", dependents=keys[1:2], depth=2),
    )
    apart = {
        k: facts(n, publisher=None, published=None, body=f"x{i}", tea=i == 2)
        for i, (k, n) in enumerate(zip(keys, FLOOD, strict=True))
    }
    apart["my-lib@1.0.0"] = facts("my-lib", publisher=None, published=None, tea=True)
    report, _ = run_engine(lockfile, apart, SPAM)
    verdicts = {v.package.name: v.verdict for v in report.packages}
    assert [verdicts[n] for n in FLOOD] == [Verdict.BLOCK] * 3
    # the clean package that pulls the chain in is told about it, not blocked: it is not
    # spam itself, so the chain does not raise it (tea.yaml 2 + ring 2)
    assert verdicts["my-lib"] is Verdict.WARN
    first = next(f for f in report.findings if f.rule == "spam-score" and f.package == FLOOD[0])
    chain = next(e.value for e in first.evidence if e.label == "chain")
    assert chain == f"+1: linked to blocked spam {FLOOD[1]}"
    assert first.score == 5.0  # spam-name 2 + spam-ring 2 + chain 1


def test_a_young_package_adds_one_and_unknown_age_adds_nothing() -> None:
    young = facts(FLOOD[0], created=NOW - timedelta(hours=3), tea=True, published=None)
    unknown = facts(FLOOD[1], created=None, tea=True, published=None)
    lockfile = tree(locked(young.name, "1.0.0"), locked(unknown.name, "1.0.0"))
    report, _ = run_engine(lockfile, {young.key: young, unknown.key: unknown}, SPAM)
    verdicts = {v.package.name: v.verdict for v in report.packages}
    assert verdicts == {FLOOD[0]: Verdict.BLOCK, FLOOD[1]: Verdict.WARN}


def test_an_account_suffix_agrees_a_project_prefix_does_not() -> None:
    # no publishers, no times, different files: only the names speak
    lomba = ["sari-kupat12-lomba", "andi-rendang34-lomba", "dewi-bakso56-lomba"]
    members = [facts(n, publisher=None, published=None, body=f"x{i}") for i, n in enumerate(lomba)]
    found = run_cluster(members, lomba)
    assert len(found) == 3
    labels = {e.label: e.value for e in found[0].evidence}
    assert labels["one naming scheme"] == "3 names end in 'lomba'"
    # a project's own family shares its first word and depends on itself: spam-ring's case
    family = ["zorbix-html-loader", "zorbix-loader-merge", "zorbix-html-template"]
    keys = [f"{n}@1.0.0" for n in family]
    lockfile = tree(
        locked(family[0], "1.0.0", requires=keys[1:]),
        locked(family[1], "1.0.0", dependents=keys[:1]),
        locked(family[2], "1.0.0", dependents=keys[:1]),
    )
    apart = {
        k: facts(n, publisher=None, published=None, body=f"x{i}")
        for i, (k, n) in enumerate(zip(keys, family, strict=True))
    }
    assert list(SpamCluster().check(context(lockfile, apart, earlier=named(*family)))) == []
