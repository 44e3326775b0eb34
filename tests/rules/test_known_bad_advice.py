"""Advice on a package npm took down: "did you mean" the popular name, "do not add it" when
the command being checked adds it, and no other rule's allow snippet for it."""

from __future__ import annotations

from pathlib import Path

from providers import FakeFacts, ShippedNames

from npmguard.engine import Engine, enabled_rules
from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import LockedPackage, Lockfile, Occurrence, ProjectInfo, Report, SourceKind
from npmguard.policy.model import Policy

REG = "https://registry.npmjs.org/"
RULES = ("security-holder", "typosquat", "install-script", "lock-no-integrity")


def _crossenv() -> tuple[LockedPackage, PackageFacts]:
    pkg = LockedPackage(
        "crossenv",
        "0.0.1-security",
        SourceKind.REGISTRY,
        (Occurrence("node_modules/crossenv", "crossenv", f"{REG}crossenv/-/x.tgz", None, line=9),),
        has_install_script=True,
    )
    facts = PackageFacts(
        pkg.name,
        pkg.version,
        FactsStatus.KNOWN,
        registry=REG,
        versions=(VersionInfo("0.0.1-security"),),
        dist_tags={"latest": "0.0.1-security"},
        version_present=True,
        manifest=ManifestFacts(
            description="security holding package",
            repository="npm/security-holder",
            scripts={"postinstall": "node evil.js"},
        ),
    )
    return pkg, facts


def _run(adding: frozenset[str] = frozenset()) -> Report:
    pkg, facts = _crossenv()
    rules = [r for r in enabled_rules(Policy()) if r.id in RULES]
    engine = Engine(
        Policy(),
        rules=rules,
        providers=(FakeFacts({pkg.key: facts}), ShippedNames()),
        project=ProjectInfo(root=Path("/project"), adding=adding),
    )
    lock = Lockfile(Path("package-lock.json"), "npm-v3", 3, (pkg,))
    return engine.run([lock])


def test_the_wrapper_adding_it_gets_do_not_add_and_did_you_mean() -> None:
    report = _run(frozenset({"crossenv"}))
    by_rule = {f.rule: f for f in report.findings}
    assert set(by_rule) >= {"security-holder", "typosquat", "install-script"}
    hint = by_rule["security-holder"].hint
    assert (
        "do not add crossenv: npm replaced it after taking malware down; this command would "
        "add it (nothing was installed); did you mean cross-env"
    ) in hint
    assert "did you mean cross-env (`npm install cross-env`)?" in hint
    assert "package.json" not in hint


def test_no_allow_snippet_for_a_package_taken_down_as_malware() -> None:
    report = _run()
    others = [f for f in report.findings if f.rule != "security-holder"]
    assert {f.rule for f in others} >= {"typosquat", "install-script"}
    assert all(f.hint == "" for f in others)  # what they saw stays; their advice does not
    assert not any("[[allow]]" in f.hint for f in report.findings)
    assert any("'cross-env'" in f.message for f in others)  # the typosquat finding is kept


def test_a_lockfile_check_says_where_it_comes_from() -> None:
    hint = next(f.hint for f in _run().findings if f.rule == "security-holder")
    assert "it is a direct dependency: remove it from package.json" in hint
    assert "did you mean cross-env" in hint
