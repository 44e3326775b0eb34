"""Real pnpm and yarn lockfiles: the registry packages we read are the ones the tool itself lists.

The oracles (``tests/fixtures/lockfiles/oracles/``) are the package managers' own output for
each lockfile in the shared data, made by ``scripts/lockfile_oracles.py`` (see it for how
each tool is driven): ``pnpm ls --lockfile-only`` for 9.x files, pnpm 7/8's lockfile walker
(through ``pnpm audit``) for 5.x/6.x, ``yarn list`` for yarn classic, ``yarn info --all
--recursive`` for Yarn Berry. The tests here need neither node nor a package manager.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from npmguard.lockfile import parse_lockfile_text
from npmguard.model import Lockfile, SourceKind
from npmguard.urls import registry_tarball_name

SHARED_DATA = Path(
    os.environ.get(
        "NPMGUARD_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
ORACLES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles" / "oracles"
KINDS = ("pnpm-ls", "pnpm-audit-tree", "yarn-list", "yarn-info")


def _cases() -> list[tuple[str, str]]:
    manifest = SHARED_DATA / "lockfiles" / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    cases = []
    with manifest.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if not row["format"].startswith(("pnpm", "yarn")):
                continue
            base = Path(row["path"]).name.removesuffix(".gz")
            found = [
                f"{row['format']}/{base}.{kind}.json.gz"
                for kind in KINDS
                if (ORACLES / row["format"] / f"{base}.{kind}.json.gz").is_file()
            ]
            cases.append((row["path"], found[0] if found else ""))
    return cases


def _read(shared_data: Path, lockfile: str) -> Lockfile:
    raw = gzip.decompress((shared_data / "lockfiles" / lockfile).read_bytes())
    return parse_lockfile_text(raw, Path(Path(lockfile).name.removesuffix(".gz").split("__")[-1]))


def _registry(lockfile: Lockfile) -> set[str]:
    return {p.key for p in lockfile.packages if p.source is SourceKind.REGISTRY}


def _oracle(path: str) -> dict[str, Any]:
    with gzip.open(ORACLES / path) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


# -- what each tool's output says ---------------------------------------------------------------


def pnpm_ls_packages(oracle: dict[str, Any]) -> set[str]:
    """``pnpm ls --json``: every node whose ``resolved`` is a registry tarball (the real name is
    the one in the URL: aliases are keyed by alias)."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        for fld in ("dependencies", "devDependencies", "optionalDependencies"):
            for child in node.get(fld, {}).values():
                resolved = child.get("resolved") or ""
                name = registry_tarball_name(resolved) if resolved.startswith("http") else None
                if name:
                    found.add(f"{name}@{child['version']}")
                walk(child)

    for project in oracle["projects"]:
        walk(project)
    return found


def _audit_nodes(oracle: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    def walk(node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for dep_path, child in node.get("dependencies", {}).items():
            yield dep_path, child
            yield from walk(child)

    for importer in oracle["importers"].values():
        yield from walk(importer)


def pnpm_audit_packages(oracle: dict[str, Any]) -> set[str]:
    """pnpm's walker: registry packages are the dependency paths pnpm calls absolute
    (``/name/1.0.0``, ``/name@1.0.0``); ``file:``, git and tarball paths are not."""
    return {
        f"{node['name']}@{node['version']}"
        for dep_path, node in _audit_nodes(oracle)
        if dep_path.startswith("/")
    }


def yarn_list_packages(oracle: dict[str, Any]) -> set[str]:
    """``yarn list``: nodes that are not "shadow" references nor the stand-in workspaces; the
    registry ones by the ``resolved`` yarn's parser gives (aliases are listed by alias)."""
    found: set[str] = set()

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if not node.get("shadow") and not node["name"].startswith("stub-"):
                resolved = oracle["resolved"].get(node["name"]) or ""
                name = registry_tarball_name(resolved) if resolved.startswith("http") else None
                if name:
                    found.add(f"{name}@{node['name'].rsplit('@', 1)[1]}")
            walk(node.get("children", []))

    walk(oracle["trees"])
    return found


def yarn_info_packages(oracle: dict[str, Any]) -> set[str]:
    """``yarn info -AR``: ``npm:`` locators, and ``patch:`` locators of ``npm:`` ones (a patched
    package is the registry package it patches)."""
    found: set[str] = set()
    for item in oracle["packages"]:
        locator = item["value"]
        at = locator.index("@", 1)
        name, reference = locator[:at], locator[at + 1 :]
        if reference.startswith("patch:"):
            inner = unquote(reference[len("patch:") :].split("#", 1)[0])
            reference = inner[inner.index("@", 1) + 1 :]
        if reference.startswith("npm:"):
            found.add(f"{name}@{reference[len('npm:') :].split('::', 1)[0]}")
    return found


# -- the tests ----------------------------------------------------------------------------------


def test_every_pnpm_and_yarn_lockfile_has_an_oracle() -> None:
    cases = _cases()
    if not cases:
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    assert len(cases) >= 15
    assert [lockfile for lockfile, oracle in cases if not oracle] == []


@pytest.mark.parametrize(("lockfile", "oracle"), _cases())
def test_registry_packages_match_the_package_manager(
    shared_data: Path, lockfile: str, oracle: str
) -> None:
    data = _oracle(oracle)
    ours = _registry(_read(shared_data, lockfile))
    kind = oracle.split(".")[-3]
    if kind == "pnpm-ls":
        theirs = pnpm_ls_packages(data)
    elif kind == "pnpm-audit-tree":
        theirs = pnpm_audit_packages(data)
    elif kind == "yarn-list":
        theirs = yarn_list_packages(data)
    else:
        theirs = yarn_info_packages(data)
    assert len(theirs) > 400, "the oracle should list the packages"
    extra = ours - theirs
    if kind == "yarn-info" and extra:
        # entries yarn lists nowhere because no dependency reaches them: yarn itself removes
        # them the next time it writes the lockfile. We read every entry, these included.
        parsed = _read(shared_data, lockfile)
        stale = set(data["stale"]["keys"])
        extra = {
            p.key
            for p in parsed.packages
            if p.key in extra and not all(o.path in stale for o in p.occurrences)
        }
    assert sorted(theirs - ours) == [] and sorted(extra) == []


@pytest.mark.parametrize(
    ("lockfile", "oracle"), [c for c in _cases() if ".pnpm-audit-tree." in c[1]]
)
def test_dev_flags_match_pnpm(shared_data: Path, lockfile: str, oracle: str) -> None:
    """pnpm 5.x/6.x files say ``dev: true`` for dev-only packages; we compute the flags from
    the importers (as 9.x files need), and must agree with what pnpm's walker reports."""
    dev_only: dict[str, set[bool]] = {}
    for dep_path, node in _audit_nodes(_oracle(oracle)):
        if dep_path.startswith("/"):
            dev_only.setdefault(f"{node['name']}@{node['version']}", set()).add(node["dev"])
    parsed = _read(shared_data, lockfile)
    ours = {
        p.key: all(o.dev for o in p.occurrences)
        for p in parsed.packages
        if p.source is SourceKind.REGISTRY
    }
    differ = [k for k, seen in dev_only.items() if len(seen) == 1 and ours[k] != seen.pop()]
    assert sum(1 for v in ours.values() if v) > 100
    assert differ == []


@pytest.mark.parametrize(("lockfile", "oracle"), [c for c in _cases() if ".yarn-list." in c[1]])
def test_yarn_classic_syntax_is_read_as_yarn_parses_it(
    shared_data: Path, lockfile: str, oracle: str
) -> None:
    """Every key and field our yarn v1 parser reads equals what yarn's own parser
    (``@yarnpkg/lockfile``) reads: the oracle keeps a digest of yarn's parse."""
    import hashlib

    from npmguard.lockfile.yarn_classic import parse_syntax

    text = gzip.decompress((shared_data / "lockfiles" / lockfile).read_bytes()).decode()
    parsed = {key: entry.fields for entry in parse_syntax(text, lockfile) for key in entry.keys}
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    assert digest == _oracle(oracle)["parse_sha256"]
