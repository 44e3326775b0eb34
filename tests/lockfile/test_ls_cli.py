"""``npmguard ls``: the packages as read, text and JSON, credentials redacted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from npmguard.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lockfiles"
ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "s3cr3t-t0ken"


def run_ls(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert main(["ls", *args]) == 0
    out, err = capsys.readouterr()
    return out, err


def test_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    out, err = run_ls(capsys, str(FIXTURES / "sources-v3.json"), "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 14
    assert [(r["name"], r["version"], r["path"]) for r in rows] == sorted(
        (r["name"], r["version"], r["path"]) for r in rows
    )
    alias = next(r for r in rows if r["path"] == "node_modules/string-width-cjs")
    assert alias == {
        "name": "string-width",
        "version": "4.2.3",
        "source": "registry",
        "path": "node_modules/string-width-cjs",
        "installed_as": "string-width-cjs",
        "flags": [],
        "has_install_script": False,
        "resolved": "https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz",
        "integrity": alias["integrity"],
        "checksum": None,
        "line": 97,
    }
    fsevents = next(r for r in rows if r["name"] == "fsevents")
    assert fsevents["flags"] == ["dev", "optional"]
    assert {r["source"] for r in rows} == {"registry", "git", "tarball", "file", "link"}
    assert "14 installed packages (12 distinct name@version), npm-v3" in err


def test_credentials_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    lockfile = str(FIXTURES / "sources-v3.json")
    assert SECRET in (FIXTURES / "sources-v3.json").read_text()
    for fmt in ("json", "text"):
        out, err = run_ls(capsys, lockfile, "--format", fmt)
        assert SECRET not in out and SECRET not in err
        assert "deploy" not in out
    out, _ = run_ls(capsys, lockfile, "--format", "json")
    private = next(r for r in json.loads(out) if r["name"] == "private-pkg")
    assert private["resolved"] == "https://***@npm.corp.example/private-pkg/-/private-pkg-2.0.0.tgz"


def test_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run_ls(capsys, str(FIXTURES / "sources-v3.json"))
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "SOURCE", "FLAGS", "PATH"]
    assert len(lines) == 15
    alias = next(line for line in lines if "string-width-cjs" in line)
    assert alias.split() == [
        "string-width",
        "(as",
        "string-width-cjs)",
        "4.2.3",
        "registry",
        "-",
        "node_modules/string-width-cjs",
    ]
    a = next(line for line in lines if line.startswith("a "))
    assert "install-script" in a


def test_default_is_the_lockfile_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(FIXTURES / "v1-aliases.json", tmp_path / "package-lock.json")
    monkeypatch.chdir(tmp_path)
    out, _ = run_ls(capsys, "--format", "json")
    assert {r["name"] for r in json.loads(out)} >= {"@types/node", "string-width", "ms"}


def test_quiet_keeps_stderr_empty(capsys: pytest.CaptureFixture[str]) -> None:
    _, err = run_ls(capsys, str(FIXTURES / "v1-aliases.json"), "-q")
    assert err == ""


def test_no_lockfile_here_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ls"]) == 2
    assert "no lockfile found" in capsys.readouterr().err


def test_console_script_runs_on_the_example() -> None:
    exe = ROOT / ".venv" / "bin" / "npmguard"
    if not exe.exists():
        pytest.skip("no .venv/bin/npmguard")
    proc = subprocess.run(
        [str(exe), "ls", "examples/package-lock.json", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 12
