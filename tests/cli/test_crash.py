"""A bug in npmguard: exit 4 and a crash log, never a traceback and never exit 1 — for the
CLI and the npm wrapper alike, through the one error -> exit mapping (errors.run_main)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.errors import ExitCode

CRASH = """
import sys
import npmguard.engine

def broken(self, *args, **kwargs):
    return 1 / 0  # a bug deep in the engine

npmguard.engine.Engine.run = broken
from npmguard.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _log_of(err: str) -> Path:
    assert "internal error (a bug in npmguard, not in your project); details in " in err
    return Path(err.rsplit("details in ", 1)[1].split()[0])


def test_a_crash_in_check_exits_4_with_a_log(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    lock.write_text('{"lockfileVersion": 3, "packages": {"": {"name": "app"}}}')
    done = subprocess.run(
        [sys.executable, "-c", CRASH, "check", str(lock), "--lockfile-only"],
        capture_output=True, text=True, env={"PATH": "", "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == ExitCode.INTERNAL == 4
    assert "Traceback" not in done.stderr
    log = _log_of(done.stderr)
    text = log.read_text()
    assert "ZeroDivisionError" in text and "Traceback" in text


def test_a_crash_in_the_wrapper_exits_4_with_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import npmguard.wrapper.routes as routes

    def broken(*args: object) -> int:
        raise KeyError("a bug in the wrapper")

    monkeypatch.setattr(routes, "_run", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["npm", "install", "left-pad"]) == 4
    err = capsys.readouterr().err
    assert "KeyError" in _log_of(err).read_text()


def test_no_npm_to_run_is_exit_127(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("NPMGUARD_NPM", raising=False)
    assert main(["npm", "--version"]) == ExitCode.NPM_NOT_FOUND == 127
    err = capsys.readouterr().err
    assert "npmguard: error: npm not found on PATH" in err
    assert "NPMGUARD_NPM" in err
