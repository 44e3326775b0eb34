"""Test support for the content, takeover and script rules: PackageFacts from fixture files,
hand-built trees, and a run through the real engine with a fake facts source.

A fixture (``tests/fixtures/rules/<name>.json``) is a compact package document::

    {"name": ..., "version": <the locked version>, "created": ISO time,
     "versions": [{"version", "published", "publisher", "has_install_script",
                   "has_provenance", "deprecated", "bins", "deps", "maintainers"}, ...],
     "manifest": {"scripts", "bin", "dependencies", "description", "deprecated", ...},
     "tarball": {"files": [...], "texts": {path: text}}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from providers import FakeFacts, ShippedNames, shipped_names

from npmguard.engine import Engine
from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, TarballFacts, VersionInfo
from npmguard.model import Finding, LockedPackage, Lockfile, Occurrence, Report, SourceKind
from npmguard.policy.model import Policy
from npmguard.rules.base import CheckContext, ProjectInfo, Rule, all_rules

# Load the registry in RULE_MODULES order before a test imports a rule module directly:
# registration order is the order docs and SARIF list rules in.
all_rules()

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def when(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def version_info(doc: Mapping[str, Any]) -> VersionInfo:
    return VersionInfo(
        version=doc["version"],
        published=when(doc.get("published")),
        publisher=doc.get("publisher"),
        has_install_script=doc.get("has_install_script"),
        has_provenance=doc.get("has_provenance"),
        deprecated=doc.get("deprecated"),
        bin_names=tuple(doc["bins"]) if "bins" in doc else None,
        dependency_names=tuple(doc["deps"]) if "deps" in doc else None,
        maintainers=tuple(doc["maintainers"]) if "maintainers" in doc else None,
    )


def tarball(
    files: Iterable[str], texts: Mapping[str, str] | None = None, **kw: Any
) -> TarballFacts:
    texts = dict(texts or {})
    manifest: dict[str, Any] = {}
    if "package.json" in texts:
        manifest = json.loads(texts["package.json"])
    listed = tuple(sorted(set(files) | set(texts)))
    return TarballFacts(
        files=listed,
        unpacked_size=kw.pop("unpacked_size", sum(len(t) for t in texts.values()) or 100),
        has_tea_yaml=any(f.lower() in ("tea.yaml", "tea.yml") for f in listed),
        has_code=kw.pop("has_code", True),
        manifest_scripts=manifest.get("scripts", {}),
        manifest_dependencies=manifest.get("dependencies", {}),
        texts=texts,
        **kw,
    )


def facts_from(doc: Mapping[str, Any]) -> PackageFacts:
    man = doc.get("manifest")
    manifest = None
    if man is not None:
        manifest = ManifestFacts(
            description=man.get("description"),
            scripts=man.get("scripts", {}),
            bin=man.get("bin", {}),
            dependencies=man.get("dependencies", {}),
            main=man.get("main"),
            repository=man.get("repository"),
            publisher=man.get("publisher"),
            deprecated=man.get("deprecated"),
            gyp_file=man.get("gypfile"),
            tea_protocol=man.get("tea_protocol", False),
            has_attestations=man.get("has_attestations"),
        )
    tb = doc.get("tarball")
    return PackageFacts(
        name=doc["name"],
        version=doc["version"],
        status=FactsStatus.KNOWN,
        versions=tuple(version_info(v) for v in doc["versions"]) if "versions" in doc else None,
        created=when(doc.get("created")),
        version_present=True,
        manifest=manifest,
        tarball=tarball(tb["files"], tb.get("texts")) if tb is not None else None,
    )


def load(name: str) -> PackageFacts:
    return facts_from(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))


def locked(
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    dependents: Sequence[str] = (),
    has_install_script: bool = False,
    depth: int = 1,
    bundled: bool = False,
) -> LockedPackage:
    path = "/".join(["node_modules/x"] * (depth - 1) + [f"node_modules/{name}"])
    return LockedPackage(
        name=name,
        version=version,
        source=SourceKind.REGISTRY,
        occurrences=(
            Occurrence(
                path,
                name,
                f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz",
                "sha512-" + "A" * 86 + "==",
                bundled=bundled,
            ),
        ),
        has_install_script=has_install_script,
        requires=tuple(requires),
        dependents=tuple(dependents),
    )


def tree(*packages: LockedPackage, root: str = "app") -> Lockfile:
    return Lockfile(Path("package-lock.json"), "npm-v3", 3, tuple(packages), root_name=root)


def for_facts(facts: PackageFacts, **kw: Any) -> LockedPackage:
    return locked(facts.name, facts.version, **kw)


def context(
    lockfile: Lockfile,
    facts: Mapping[str, PackageFacts],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    earlier: Mapping[str, tuple[Finding, ...]] | None = None,
    allow_scripts: Mapping[str, bool] | None = None,
    now: datetime = NOW,
) -> CheckContext:
    return CheckContext(
        lockfile=lockfile,
        facts=facts,
        options=options or {},
        allowed_registries=("https://registry.npmjs.org/",),
        project=ProjectInfo(allow_scripts=allow_scripts or {}),
        now=now,
        earlier=earlier or {},
        names=shipped_names(),
    )


def check(
    rule: type[Rule], facts: PackageFacts | Sequence[PackageFacts], **kw: Any
) -> list[Finding]:
    """Run one rule on a flat tree of the given facts."""
    many = [facts] if isinstance(facts, PackageFacts) else list(facts)
    lockfile = tree(*(for_facts(f) for f in many))
    return list(rule().check(context(lockfile, {f.key: f for f in many}, **kw)))


def run_engine(
    lockfile: Lockfile,
    facts: Mapping[str, PackageFacts],
    rule_ids: Sequence[str],
    *,
    policy: Policy | None = None,
    project: ProjectInfo | None = None,
) -> tuple[Report, FakeFacts]:
    registry = all_rules()
    source = FakeFacts(facts)
    engine = Engine(
        policy or Policy(),
        rules=[registry[r]() for r in rule_ids],
        providers=(source, ShippedNames()),
        project=project,
        allowed_registries=("https://registry.npmjs.org/",),
        now=NOW,
    )
    return engine.run([lockfile]), source
