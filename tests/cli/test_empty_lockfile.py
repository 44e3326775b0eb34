"""A lockfile that locks nothing while package.json declares dependencies: npm ci refuses
it ("not in sync"), so ``npmguard check`` refuses it too instead of a clean verdict on
nothing. Differential: the real npm against a loopback registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from npmoracle import NPM, npm, npm_env

from npmguard.cli import main

MANIFEST = {
    "name": "x",
    "version": "1.0.0",
    "dependencies": {"express": "^4", "lodash": "^4"},
    "devDependencies": {"react": "^18"},
}
EMPTY = ['{"name": "x"}', '{"lockfileVersion": 3}', '{"lockfileVersion": 3, "packages": {}}']


@pytest.mark.skipif(NPM is None, reason="the real npm CLI is not on PATH")
@pytest.mark.parametrize("lock", EMPTY)
def test_npm_ci_and_check_both_refuse_a_lockfile_that_locks_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lock: str,
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(MANIFEST))
    (project / "package-lock.json").write_text(lock)
    registry = FakeRegistry()
    for name, version in (("express", "4.0.0"), ("lodash", "4.0.0"), ("react", "18.0.0")):
        registry.add_version(name, version)
    with registry.serve() as url:
        done = npm(project, npm_env(tmp_path, f"registry={url}"), "ci", "--ignore-scripts")
    assert done.returncode != 0 and "in sync" in done.stderr
    assert not (project / "node_modules").exists()
    monkeypatch.chdir(project)
    assert main(["check", "--lockfile-only"]) == 2
    err = capsys.readouterr().err
    assert "package-lock.json: locks no packages, but package.json declares 3 dependencies" in err
    assert "express, lodash, react" in err and "npm install --package-lock-only" in err


def test_a_lockfile_without_packages_is_fine_when_package_json_declares_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "package.json").write_text('{"name": "x", "version": "1.0.0"}')
    (tmp_path / "package-lock.json").write_text('{"name": "x", "lockfileVersion": 3}')
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--lockfile-only", "-q"]) == 0
