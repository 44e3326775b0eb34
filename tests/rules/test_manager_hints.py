"""Hints name the command of the package manager that wrote the lockfile (found in review: a
yarn project was told to run `npm install --package-lock-only` and to use npm's allowScripts).

Each lockfile is one the real tool wrote (tests/fixtures/lockfiles/sources/); the rules run on
it as read, with one entry's integrity taken away, so the lockfile kind reaches the rules the
way it does in a run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rule_facts import context

from npmguard.facts import ManifestFacts, PackageFacts
from npmguard.lockfile import load_lockfile
from npmguard.managers import MANAGERS, NPM, manager_for
from npmguard.model import Lockfile
from npmguard.rules.lockfile_integrity import NoIntegrity
from npmguard.rules.scripts import InstallScript

SOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles" / "sources"
# fixture folder -> (the lockfile format, the command that rewrites its lockfile)
WRITTEN_BY = {
    "pnpm-9.0": ("pnpm", "pnpm install --lockfile-only"),
    "yarn-v1": ("yarn 1", "yarn install"),
    "yarn-berry-10": ("yarn berry", "yarn install --mode=update-lockfile"),
    "bun": ("bun", "bun install --lockfile-only"),
}


def _stripped(lockfile: Lockfile, name: str) -> Lockfile:
    """``lockfile`` with the integrity (and Berry checksum) of ``name``'s entries removed."""
    packages = tuple(
        replace(
            p, occurrences=tuple(replace(o, integrity=None, checksum=None) for o in p.occurrences)
        )
        if p.name == name
        else p
        for p in lockfile.packages
    )
    return replace(lockfile, packages=packages)


@pytest.mark.parametrize("folder", sorted(WRITTEN_BY))
def test_no_integrity_hint_is_the_lockfiles_own_command(folder: str) -> None:
    manager, command = WRITTEN_BY[folder]
    lockfile = _stripped(load_lockfile(SOURCES / folder), "is-number")
    assert manager_for(lockfile.format).name == manager
    pkg = lockfile.by_key()["is-number@7.0.0"]
    [finding] = NoIntegrity().check_package(pkg, context(lockfile, {}))
    assert f"`{command}`" in finding.hint
    if manager != "npm":
        assert "`npm install" not in finding.hint


def test_npm_lockfile_keeps_npms_command() -> None:
    lockfile = _stripped(load_lockfile(SOURCES / "yarn-v1"), "is-number")
    as_npm = replace(lockfile, format="npm-v3")
    pkg = as_npm.by_key()["is-number@7.0.0"]
    [finding] = NoIntegrity().check_package(pkg, context(as_npm, {}))
    assert "`npm install --package-lock-only`" in finding.hint


@pytest.mark.parametrize("folder", ["npm", *sorted(WRITTEN_BY)])
def test_install_script_hint_is_the_managers_approval(folder: str) -> None:
    """npm: package.json allowScripts (which npmguard reads). Others: the policy, and what
    their own tool does with the script; never npm's allowScripts."""
    lockfile = load_lockfile(SOURCES / ("yarn-v1" if folder == "npm" else folder))
    if folder == "npm":
        lockfile = replace(lockfile, format="npm-v3")
    pkg = lockfile.by_key()["is-number@7.0.0"]
    facts = PackageFacts(
        name="is-number",
        version="7.0.0",
        manifest=ManifestFacts(scripts={"postinstall": "node setup.js"}),
    )
    [finding] = InstallScript().check_package(pkg, context(lockfile, {pkg.key: facts}))
    assert '[[allow]] package = "is-number"' in finding.hint
    manager = manager_for(lockfile.format)
    if manager is NPM:
        assert '"allowScripts"' in finding.hint
    else:
        assert "allowScripts" not in finding.hint
        expected = manager.script_approval.format(name="is-number", spec="is-number@7.0.0")
        assert finding.hint.endswith(expected)


def test_every_format_a_reader_writes_has_a_row() -> None:
    """One table: every kind of lockfile the readers name maps to its own manager."""
    kinds = {
        "npm-v3": "npm",
        "npm-shrinkwrap-v3": "npm",
        "npm-hidden-v3": "npm",
        "npm-v1": "npm",
        "pnpm-v9.0": "pnpm",
        "pnpm-v5.4": "pnpm",
        "yarn-v1": "yarn 1",
        "yarn-berry-v4": "yarn berry",
        "yarn-berry-v10": "yarn berry",
        "bun-v1": "bun",
    }
    assert {fmt: manager_for(fmt).name for fmt in kinds} == kinds
    assert {m.name for m in MANAGERS.values()} == set(kinds.values())
