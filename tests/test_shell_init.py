"""`npmguard shell-init`: the printed function works in a real bash."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_function_routes_npm_through_npmguard() -> None:
    snippet = subprocess.run(
        [sys.executable, "-m", "npmguard", "shell-init", "bash"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out = subprocess.run(
        ["bash", "--norc", "-c", f"set -u\n{snippet}\ntype npm; type npx"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "npm is a function" in out
    assert "npx is a function" in out
    assert " npm " in out and "npmguard" in out


@pytest.mark.parametrize("shell", ["zsh", "fish", "powershell"])
def test_every_shell_gets_a_snippet_naming_npmguard(shell: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "npmguard", "shell-init", shell],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "npmguard" in out.splitlines()[1]
    assert "npx" in out
