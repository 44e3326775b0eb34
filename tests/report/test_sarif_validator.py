"""SARIF output checked by Microsoft's own validator (`sarif-multitool validate`).

The validator is an npm package installed into `.tools/` (git-ignored) by
`scripts/install-test-tools.sh`. Without it these tests FAIL, saying how to install it,
unless NPMGUARD_SKIP_SARIF_VALIDATOR=1.

The validator exits 0 even when it finds errors, so the tests read its output log (SARIF
itself) and assert on the results' levels. Its rule SARIF2006 fetches every URI in the log
over HTTP; the config in tests/fixtures/report/ turns it off, so no network is touched.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from report_samples import build_report, ok_report, sample_report

from npmguard.report import render

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / ".tools" / "node_modules" / ".bin" / "sarif-multitool"
CONFIG = ROOT / "tests" / "fixtures" / "report" / "sarif-validator.xml"
INSTALL = (
    "bash scripts/install-test-tools.sh  (or: npm install --no-save --no-audit --no-fund "
    "--prefix .tools @microsoft/sarif-multitool)"
)
SKIP_ENV = "NPMGUARD_SKIP_SARIF_VALIDATOR"

Problem = tuple[str, str, str]  # (rule id, level, message)
Validate = Callable[[Path], list[Problem]]


def require_validator(path: Path) -> Path:
    """``path`` if the validator is installed there; else fail (or skip when told to)."""
    if path.is_file() and os.access(path, os.X_OK):
        return path
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"SARIF validator not installed and {SKIP_ENV}=1")
    pytest.fail(
        f"Microsoft's SARIF validator is not installed at {path}. Install it with: {INSTALL} "
        f"(or set {SKIP_ENV}=1 to skip these tests)",
        pytrace=False,
    )


def _message(result: dict[str, Any]) -> str:
    message = result.get("message", {})
    return str(message.get("text") or message.get("arguments") or message)


@pytest.fixture(scope="module")
def validate(tmp_path_factory: pytest.TempPathFactory) -> Validate:
    tool = require_validator(VALIDATOR)
    out_dir = tmp_path_factory.mktemp("sarif-validation")

    def run(sarif: Path) -> list[Problem]:
        log = out_dir / f"{sarif.stem}.validation.sarif"
        # the npm shim runs the native tool through a shell: keep arguments free of spaces
        cmd = [
            str(tool),
            "validate",
            str(sarif),
            "-c",
            str(CONFIG),
            "-o",
            str(log),
            "--log",
            "ForceOverwrite",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
        assert proc.returncode == 0, (
            f"validator crashed ({proc.returncode}): {proc.stdout}{proc.stderr}"
        )
        assert log.is_file(), f"validator wrote no log: {proc.stdout}{proc.stderr}"
        data = json.loads(log.read_text(encoding="utf-8-sig"))
        run_ = data["runs"][0]
        for invocation in run_.get("invocations", []):
            assert invocation.get("executionSuccessful") is True, invocation
        return [
            (r.get("ruleId", "?"), r.get("level", "warning"), _message(r))
            for r in run_.get("results", [])
            if r.get("level", "warning") in ("error", "warning")
        ]

    return run


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "make",
    [sample_report, ok_report, lambda: build_report([])],
    ids=["sample", "all-ok", "empty"],
)
def test_our_sarif_passes(
    make: Any, validate: Validate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sarif = _write(tmp_path, "npmguard.sarif", render(make(), "sarif"))
    assert validate(sarif) == []


def test_validator_catches_a_broken_log(
    validate: Validate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof the test above can fail: break our own output and expect the validator to object."""
    monkeypatch.chdir(tmp_path)
    log = json.loads(render(sample_report(), "sarif"))
    del log["runs"][0]["tool"]["driver"]["name"]
    log["runs"][0]["results"][0]["level"] = "fatal"
    sarif = _write(tmp_path, "broken.sarif", json.dumps(log))
    problems = validate(sarif)
    rules = {rule for rule, level, _ in problems if level == "error"}
    assert {"JSON1002", "JSON1019"} <= rules, problems


def test_missing_validator_fails_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SKIP_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"install-test-tools\.sh"):
        require_validator(tmp_path / "nothing-here")
    monkeypatch.setenv(SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception):
        require_validator(tmp_path / "nothing-here")
