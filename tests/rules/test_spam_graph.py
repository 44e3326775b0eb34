"""spam-ring, clone-cluster and spam-score on an IndonesianFoods-like chain in one tree."""

from __future__ import annotations

import json

from providers import FakeFacts, ShippedNames
from rule_facts import context, locked, run_engine, tarball, tree

from npmguard.engine import enabled_rules
from npmguard.facts import FactsStatus, ManifestFacts, Need, PackageFacts
from npmguard.model import Finding, Level, Verdict
from npmguard.policy.model import AllowEntry, PackageMatcher, Policy
from npmguard.rules.base import all_rules
from npmguard.rules.spam_graph import SIGNAL_WEIGHTS, CloneCluster, SpamRing, SpamScore

TEA = (
    "---\nversion: 1.0.0\ncodeOwners:\n  - '0x1234567890abcdef1234567890abcdef12345678'\n"
    "quorum: 1\n"
)
CHAIN = ["andi-rendang12-kyuki", "budi-sate34-kyuki", "siti-bakso56-kyuki", "dewi-gudeg78-kyuki"]
SPAM_RULES = (
    "tea-yaml",
    "no-code",
    "autopublish-script",
    "version-flood",
    "clone-cluster",
    "spam-ring",
    "spam-score",
)


def spam_facts(name: str, dep: str | None) -> PackageFacts:
    manifest: dict[str, object] = {"name": name, "version": "1.0.0", "license": "ISC"}
    if dep:
        manifest["dependencies"] = {dep: "^1.0.0"}
    texts = {
        "package.json": json.dumps(manifest),
        "README.md": f"# {name}\n\nA package by the kyuki team.\n",
        "tea.yaml": TEA,
    }
    return PackageFacts(
        name=name,
        version="1.0.0",
        status=FactsStatus.KNOWN,
        manifest=ManifestFacts(description="", dependencies={dep: "^1.0.0"} if dep else {}),
        tarball=tarball(texts, texts),
    )


def legit_facts(name: str, body: str) -> PackageFacts:
    texts = {
        "package.json": json.dumps({"name": name, "version": "1.0.0", "main": "index.js"}),
        "index.js": body,
        "README.md": f"# {name}\n",
        "LICENSE": "MIT License\n",
    }
    return PackageFacts(
        name=name,
        version="1.0.0",
        status=FactsStatus.KNOWN,
        manifest=ManifestFacts(main="index.js"),
        tarball=tarball(texts, texts),
    )


def chain_tree() -> tuple:  # type: ignore[type-arg]
    keys = [f"{n}@1.0.0" for n in CHAIN]
    packages = [
        locked(
            n,
            "1.0.0",
            requires=[keys[i + 1]] if i + 1 < len(keys) else [],
            dependents=[keys[i - 1]] if i else [],
            depth=1 if i == 0 else 2,
        )
        for i, n in enumerate(CHAIN)
    ]
    packages.append(locked("react", "19.0.0"))
    packages.append(locked("lodash", "4.17.21"))
    facts = {
        f"{n}@1.0.0": spam_facts(n, CHAIN[i + 1] if i + 1 < len(CHAIN) else None)
        for i, n in enumerate(CHAIN)
    }
    facts["react@19.0.0"] = legit_facts("react", "module.exports = require('./cjs/react.js');\n")
    lodash = legit_facts("lodash", "module.exports = require('./lodash');\n")
    lodash_texts = dict(lodash.tarball.texts) if lodash.tarball else {}
    lodash_texts["tea.yaml"] = TEA  # real maintainers claimed projects on tea.xyz too
    facts["lodash@4.17.21"] = PackageFacts(
        name="lodash",
        version="4.17.21",
        manifest=lodash.manifest,
        tarball=tarball(lodash_texts, lodash_texts),
    )
    return tree(*packages, root="my-app"), facts


def test_chain_blocks_through_the_engine() -> None:
    lockfile, facts = chain_tree()
    report, source = run_engine(lockfile, facts, SPAM_RULES)
    assert Need.TARBALL in source.asked[0]
    verdicts = {v.package.name: v.verdict for v in report.packages}
    for name in CHAIN:
        assert verdicts[name] is Verdict.BLOCK, name
    assert verdicts["react"] is Verdict.OK
    assert verdicts["lodash"] is Verdict.WARN  # tea.yaml alone only warns
    scores = {f.package: f for f in report.findings if f.rule == "spam-score"}
    assert set(scores) == set(CHAIN)
    top = scores[CHAIN[0]]
    # tea 2 + no-code 2 + clone 2 + ring 2, + 1: it requires a blocked link of the chain
    assert top.score == 9.0
    labels = {e.label for e in top.evidence}
    assert labels == {"tea-yaml", "no-code", "clone-cluster", "spam-ring", "chain"}
    # each deciding signal says what it saw, not only its weight
    tea = next(e.value for e in top.evidence if e.label == "tea-yaml")
    assert tea.startswith("+2: ") and "tea.xyz" in tea
    chain = next(e.value for e in top.evidence if e.label == "chain")
    assert chain == f"+1: linked to blocked spam {CHAIN[1]}"


def test_ring_evidence_says_the_path_from_the_project() -> None:
    lockfile, facts = chain_tree()
    report, _ = run_engine(lockfile, facts, SPAM_RULES)
    ring = {f.package: f for f in report.findings if f.rule == "spam-ring"}
    path = next(e.value for e in ring[CHAIN[1]].evidence if e.label == "path")
    assert path == " -> ".join(["my-app", *CHAIN])


def test_clean_package_pulling_spam_in_and_packages_only_spam_needs() -> None:
    spam = [f"{n}@1.0.0" for n in CHAIN[:2]]
    lockfile = tree(
        locked("nice-lib", "2.0.0", requires=[spam[0]]),
        locked(
            CHAIN[0],
            "1.0.0",
            requires=[spam[1], "react@19.0.0"],
            dependents=["nice-lib@2.0.0"],
            depth=2,
        ),
        locked(CHAIN[1], "1.0.0", dependents=[spam[0]], depth=2),
        locked("react", "19.0.0", dependents=[spam[0]], depth=2),
    )
    earlier = {
        "spam-name": tuple(
            Finding("spam-name", k.rsplit("@", 1)[0], "1.0.0", "campaign name") for k in spam
        )
    }
    found = {f.package: f for f in SpamRing().check(context(lockfile, {}, earlier=earlier))}
    assert "pulls spam packages into the tree" in found["nice-lib"].message
    assert found["nice-lib"].level == Level.WARN
    assert found["react"].level == Level.INFO
    assert "only because spam packages need it" in found["react"].message
    assert found[CHAIN[1]].level == Level.WARN


def test_allowed_findings_do_not_make_a_ring() -> None:
    lockfile = tree(
        locked("a", "1.0.0", requires=["b@1.0.0"]),
        locked("b", "1.0.0", dependents=["a@1.0.0"], depth=2),
    )
    earlier = {
        "tea-yaml": (
            Finding("tea-yaml", "a", "1.0.0", "tea", allowed_by="ours"),
            Finding("tea-yaml", "b", "1.0.0", "tea", allowed_by="ours"),
        )
    }
    assert list(SpamRing().check(context(lockfile, {}, earlier=earlier))) == []
    assert list(SpamScore().check(context(lockfile, {}, earlier=earlier))) == []


def test_score_needs_several_signals() -> None:
    lockfile = tree(locked("x", "1.0.0"))

    def score(*rules: str) -> list[Finding]:
        earlier = {r: (Finding(r, "x", "1.0.0", r, level=Level.WARN),) for r in rules}
        return list(SpamScore().check(context(lockfile, {}, earlier=earlier)))

    assert score("spam-name", "tea-yaml") == []  # 4
    assert score("tea-yaml", "version-flood") == []  # 3
    assert len(score("spam-name", "tea-yaml", "spam-ring")) == 1  # 6
    assert len(score("autopublish-script", "spam-name")) == 1  # 5
    found = score("spam-name", "tea-yaml", "no-code")
    assert found[0].level == Level.BLOCK and found[0].score == 6.0
    opts = {"spam-score": {"threshold": 7}}
    earlier = {r: (Finding(r, "x", "1.0.0", r),) for r in ("spam-name", "tea-yaml", "no-code")}
    assert list(SpamScore().check(context(lockfile, {}, earlier=earlier, options=opts))) == []


def test_weights_are_documented_in_the_help() -> None:
    for rule, weight in SIGNAL_WEIGHTS.items():
        assert f"`{rule}` {weight}" in SpamScore.help


def test_clone_cluster_needs_same_content_not_just_same_layout() -> None:
    names = ["is-alpha", "is-beta", "is-gamma"]
    kinds = dict(zip(names, ["string", "number", "boolean"], strict=True))
    lockfile = tree(*(locked(n, "1.0.0") for n in names))
    facts = {
        f"{n}@1.0.0": legit_facts(n, f"module.exports = (x) => typeof x === '{kinds[n]}';\n")
        for n in names
    }
    assert list(CloneCluster().check(context(lockfile, facts))) == []
    same = {f"{n}@1.0.0": legit_facts(n, "module.exports = 42;\n") for n in names}
    found = list(CloneCluster().check(context(lockfile, same)))
    assert {f.package for f in found} == set(names)
    assert "is-beta" in found[0].message or "is-beta" in found[0].evidence[0].value
    opts = {"clone-cluster": {"min_size": 4}}
    assert list(CloneCluster().check(context(lockfile, same, options=opts))) == []


def test_clone_cluster_by_description() -> None:
    names = ["tea-a", "tea-b", "tea-c"]
    lockfile = tree(*(locked(n, "1.0.0") for n in names))
    facts = {}
    for n in names:
        texts = {
            "package.json": json.dumps({"name": n, "description": "Hello world package for tea"})
        }
        facts[f"{n}@1.0.0"] = PackageFacts(
            name=n, version="1.0.0", tarball=tarball(["index.js"], texts)
        )
    found = list(CloneCluster().check(context(lockfile, facts)))
    assert len(found) == 3
    assert any("description" in e.value for e in found[0].evidence)


def test_spam_rules_run_after_the_signals_they_read() -> None:
    order = [r.id for r in enabled_rules(Policy(), all_rules())]
    for before in ("tea-yaml", "no-code", "clone-cluster", "version-flood"):
        assert order.index(before) < order.index("spam-ring") < order.index("spam-score")


def test_allow_entry_for_spam_score() -> None:
    lockfile, facts = chain_tree()
    policy = Policy(
        allow=(AllowEntry(PackageMatcher(CHAIN[0]), "we vendor it", rules=("spam-score",)),)
    )
    report, _ = run_engine(lockfile, facts, SPAM_RULES, policy=policy)
    verdicts = {v.package.name: v.verdict for v in report.packages}
    assert verdicts[CHAIN[0]] is Verdict.WARN  # other spam findings still warn


def test_clone_cluster_splits_by_size_and_one_scope_is_info() -> None:
    def pkg_facts(name: str, size: int) -> PackageFacts:
        texts = {"package.json": json.dumps({"name": name}), "index.js": "export * from './lib';"}
        tb = tarball(["lib/index.js", "readme.md"], texts, unpacked_size=size)
        return PackageFacts(name=name, version="1.0.0", tarball=tb)

    sizes = {"remark-a": 4_000, "rehype-b": 9_000, "rehype-c": 30_000}
    lockfile = tree(*(locked(n, "1.0.0") for n in sizes))
    facts = {f"{n}@1.0.0": pkg_facts(n, s) for n, s in sizes.items()}
    assert list(CloneCluster().check(context(lockfile, facts))) == []  # same shape, other code

    scoped = ["@aria/focus", "@aria/ssr", "@aria/utils"]
    lockfile = tree(*(locked(n, "1.0.0") for n in scoped))
    facts = {f"{n}@1.0.0": pkg_facts(n, 5_000 + i * 10) for i, n in enumerate(scoped)}
    found = list(CloneCluster().check(context(lockfile, facts)))
    assert len(found) == 3 and {f.level for f in found} == {Level.INFO}
    assert any(e.label == "one scope" for e in found[0].evidence)


def test_changed_entries_still_see_the_whole_tree() -> None:
    """--changed-since: only the new package is judged, and only its facts are gathered, but
    its ring into existing spam packages (which are not re-checked) is still found."""
    from npmguard.engine import Engine

    lockfile, facts = chain_tree()
    first = f"{CHAIN[0]}@1.0.0"
    recording = FakeFacts(facts)

    registry = all_rules()
    engine = Engine(
        Policy(),
        rules=[registry[r]() for r in ("spam-name", *SPAM_RULES)],
        providers=(recording, ShippedNames()),
        allowed_registries=("https://registry.npmjs.org/",),
    )
    report = engine.run([lockfile], only={first})
    assert {p.package.key for p in report.packages} == {first}
    assert {f.key for f in report.findings} == {first}
    assert "spam-ring" in {f.rule for f in report.findings}
    assert recording.keys == [first]
