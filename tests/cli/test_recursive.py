"""``check --recursive``: every lockfile of a repository (any supported kind), .gitignore
respected, each checked with its own policy and .npmrc; one report, one exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from npmguard.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles"
LOCK = {
    "name": "app",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {"name": "app", "dependencies": {"left-pad": "1.3.0"}},
        "node_modules/left-pad": {
            "version": "1.3.0",
            "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "integrity": "sha512-" + "A" * 86 + "==",
        },
    },
}
DENY = '[[deny]]\npackage = "{name}"\nreason = "not in this app"\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for app in ("apps/web", "apps/api", "build/out"):
        (root / app).mkdir(parents=True)
        (root / app / "package-lock.json").write_text(json.dumps(LOCK, indent=2))
    (root / "apps/web/npmguard.toml").write_text(DENY.format(name="left-pad"))
    # a yarn project next to them, and a lockfile inside node_modules (never a project)
    shutil.copytree(FIXTURES / "sources" / "yarn-v1", root / "tools")
    (root / "tools/npmguard.toml").write_text(DENY.format(name="is-even"))
    (root / "apps/api/node_modules/x").mkdir(parents=True)
    (root / "apps/api/node_modules/x/package-lock.json").write_text(json.dumps(LOCK))
    (root / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def test_every_lockfile_with_its_own_policy(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    code = main(["check", "-r", "--lockfile-only", "--format", "json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert [lf["path"] for lf in report["lockfiles"]] == [
        "apps/api/package-lock.json",
        "apps/web/package-lock.json",
        "tools/yarn.lock",
    ]  # build/ is ignored by git; node_modules never counts
    denied = sorted(
        (f["lockfile"], f["package"]) for f in report["findings"] if f["rule"] == "policy-deny"
    )
    # web's policy denies left-pad, tools' denies is-even; api's policy is the default
    assert denied == [("apps/web/package-lock.json", "left-pad"), ("tools/yarn.lock", "is-even")]
    assert code == 1


def test_outside_git_every_folder_but_node_modules_counts(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(repo / ".git")
    assert (
        main(["check", "-r", str(repo / "apps"), "--lockfile-only", "--format", "json", "-q"]) == 1
    )
    paths = [lf["path"] for lf in json.loads(capsys.readouterr().out)["lockfiles"]]
    assert [Path(p).relative_to(repo).as_posix() for p in paths] == [
        "apps/api/package-lock.json",
        "apps/web/package-lock.json",
    ]


def test_a_folder_without_lockfiles_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "-r", str(tmp_path)]) == 2
    assert "no lockfile found in this folder or below it" in capsys.readouterr().err
