"""The wrapper against the real npm registry (run with --network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wrapper_support import needs_npm

pytestmark = [needs_npm, pytest.mark.network, pytest.mark.npm]


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "package.json").write_text('{"name": "proj", "version": "1.0.0", "private": true}\n')
    env = dict(os.environ)
    env["npm_config_audit"] = "false"
    env["npm_config_fund"] = "false"
    return root, env


def _guard(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "npmguard", "npm", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_security_holder_is_blocked_and_nothing_changes(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    before = (root / "package.json").read_bytes()
    result = _guard(root, env, "install", "crossenv")
    assert result.returncode == 1, result.stderr
    assert "crossenv" in result.stderr
    assert (root / "package.json").read_bytes() == before
    assert sorted(p.name for p in root.iterdir()) == ["package.json"]


def test_left_pad_installs(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    result = _guard(root, env, "install", "left-pad@1.3.0")
    assert result.returncode == 0, result.stderr
    assert (root / "node_modules" / "left-pad" / "package.json").is_file()
    ci = _guard(root, env, "ci")
    assert ci.returncode == 0, ci.stderr
