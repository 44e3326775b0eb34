"""`--changed-since` finds exactly what a full check finds on the changed entries.

The reference lockfiles are committed, then edited several ways at once (a version moved, an
integrity swapped, a registry host changed, a tampered nested copy, new entries); the report
of ``check --changed-since HEAD`` must equal the full check's report restricted to the entries
that changed: same findings (every field), same packages with the same verdicts. Package rules
look at the changed entries only (``CheckContext.focus``); the rules whose findings others read
still see the whole tree.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hook_repo import commit_all, fake_integrity, init_repo

from npmguard.cli import main
from npmguard.cli.check import changed_entries
from npmguard.gitutil import file_at_revision
from npmguard.lockfile import load_lockfile
from npmguard.lockfile.changes import _npm_quick, changed_keys


def _references(shared: Path) -> list[Path]:
    found = sorted((shared / "bench").glob("*.package-lock.json.gz"))
    found += sorted((shared / "lockfiles" / "npm-v3").glob("*__package-lock.json.gz"))
    return found


def _edit(doc: dict[str, Any]) -> set[str]:
    """Edit the lockfile's ``packages`` in place; the name@version keys that must count as
    changed."""
    packages: dict[str, dict[str, Any]] = doc["packages"]
    registry = [
        (path, e)
        for path, e in packages.items()
        if path.startswith("node_modules/")
        and "node_modules/" not in path[len("node_modules/") :]
        and str(e.get("resolved", "")).startswith("https://")
        and not e.get("link")
    ]
    assert len(registry) >= 6
    name_of = {path: path.removeprefix("node_modules/") for path, _ in registry}
    expected: set[str] = set()

    path, entry = registry[0]  # a version moved (resolved and integrity with it)
    old = entry["version"]
    entry["version"] = "99.0.0"
    entry["resolved"] = entry["resolved"].replace(f"-{old}.tgz", "-99.0.0.tgz")
    entry["integrity"] = fake_integrity(f"{path}@99.0.0")
    expected.add(f"{name_of[path]}@99.0.0")

    path, entry = registry[1]  # the same version, another integrity
    entry["integrity"] = fake_integrity("swapped")
    expected.add(f"{name_of[path]}@{entry['version']}")

    path, entry = registry[2]  # the same version from another registry host
    entry["resolved"] = entry["resolved"].replace("https://", "https://evil.example/", 1)
    expected.add(f"{name_of[path]}@{entry['version']}")

    path, entry = registry[3]  # a nested copy of a known version, tampered
    nested = f"{registry[4][0]}/node_modules/{name_of[path]}"
    packages[nested] = dict(entry, integrity=fake_integrity("nested"))
    expected.add(f"{name_of[path]}@{entry['version']}")

    for name in ("brand-new-dep", "loadsh"):  # new entries (one a typo of a popular name)
        packages[f"node_modules/{name}"] = {
            "version": "1.0.0",
            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",
            "integrity": fake_integrity(name),
        }
        expected.add(f"{name}@1.0.0")
    return expected


def _report(lock: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    args = ["check", str(lock), "--lockfile-only", "--format", "json", "--policy"]
    code = main([*args, "npmguard:strict", *extra])
    assert code in (0, 1)
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def _resolved(package: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """A package of a JSON report with its findings themselves in place of their positions
    in that report's findings (which differ between two reports)."""
    return dict(package, findings=[report["findings"][i] for i in package["findings"]])


def _key(item: dict[str, Any]) -> str:
    return f"{item.get('package', item.get('name'))}@{item['version']}"


@pytest.mark.parametrize("index", range(4))
def test_changed_since_equals_the_full_check_on_the_changed_entries(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], index: int
) -> None:
    references = _references(shared_data)
    if index >= len(references):
        pytest.skip("fewer reference lockfiles")
    repo = init_repo(tmp_path / "repo")
    lock = repo / "package-lock.json"
    lock.write_bytes(gzip.decompress(references[index].read_bytes()))
    commit_all(repo)
    doc = json.loads(lock.read_text(encoding="utf-8"))
    expected = _edit(doc)
    lock.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    changed = changed_entries([load_lockfile(lock)], "HEAD")
    assert changed == expected
    # the hook's quick comparison answered, as the full read of the old file does
    old = file_at_revision(lock, "HEAD")
    assert old is not None
    assert _npm_quick(load_lockfile(lock), old) == changed_keys(
        load_lockfile(lock), old, quick=False
    )

    full = _report(lock, capsys)
    partial = _report(lock, capsys, "--changed-since", "HEAD")
    wanted = [f for f in full["findings"] if _key(f) in changed]
    assert wanted  # the edits are seen: at least one changed entry has a finding
    assert partial["findings"] == wanted
    full_packages = [_resolved(p, full) for p in full["packages"] if _key(p) in changed]
    assert [_resolved(p, partial) for p in partial["packages"]] == full_packages
    assert {_key(p) for p in partial["packages"]} == changed
