"""``npmguard npm install --dry-run``: npm's own dry run. npmguard still resolves and checks
the tree (its resolver must not get --dry-run, or there is no lockfile to check), then lets
npm show what it would do; no file of the project changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from wrapper_support import MARKER_SCRIPT, Project, make_project, needs_npm

from npmguard.wrapper.installs import _resolution_argv
from npmguard.wrapper.npmcli import NpmCommand, NpmInstall

pytestmark = [needs_npm, pytest.mark.npm]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    reg = FakeRegistry(max_age=0)
    reg.add_version("left-pad", "1.3.0", files={"index.js": "module.exports = (s) => s;\n"})
    reg.add_version(
        "evil-pkg",
        "0.0.1-security",
        description="security holding package",
        manifest={"repository": {"type": "git", "url": "npm/security-holder"}},
        scripts={"postinstall": MARKER_SCRIPT},
    )
    reg.start()
    try:
        yield make_project(tmp_path, reg.url)
    finally:
        reg.stop()


def test_resolver_never_gets_dry_run(tmp_path: Path) -> None:
    for flag in ("--dry-run", "--dry-run=true"):
        cmd = NpmCommand.parse(NpmInstall.find(), "npm", ("install", flag, "left-pad"), tmp_path)
        assert cmd.flag("dry-run")
        argv = _resolution_argv(cmd, {}, tmp_path)
        assert not any(a.startswith("--dry-run") for a in argv)
        assert "--package-lock-only" in argv and "left-pad" in argv


def test_dry_run_is_checked_and_writes_nothing(project: Project) -> None:
    before = project.snapshot()
    result = project.guard("install", "--dry-run", "left-pad")
    assert result.returncode == 0, result.stderr
    assert "no lockfile" not in result.stderr
    assert "left-pad@1.3.0" in result.stderr  # checked: reported as new
    assert "left-pad" in result.stdout  # npm's own dry-run output
    assert project.snapshot() == before
    assert not (project.root / "node_modules").exists()


def test_dry_run_of_a_bad_package_is_blocked(project: Project) -> None:
    before = project.snapshot()
    result = project.guard("install", "evil-pkg", "--dry-run")
    assert result.returncode == 1, result.stderr
    assert "security-holder" in result.stderr
    assert project.snapshot() == before
    assert project.markers() == []
