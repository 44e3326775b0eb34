"""Running the real npm as a child: its exit code passes through, Ctrl-C goes to npm."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from npmguard.wrapper.main import npm_executable


def run_npm(argv: Sequence[str], *, cwd: Path, quiet: bool = False, tool: str = "npm") -> int:
    """Run npm and return its exit code (128 + signal number if a signal ended it).

    While npm runs, npmguard ignores SIGINT: the terminal sends Ctrl-C to npm too, and npm
    decides how to stop; npmguard then reports npm's exit code and writes nothing further.
    """
    env = dict(os.environ)
    env.setdefault("npm_config_update_notifier", "false")
    if quiet:
        env["npm_config_fund"] = "false"
        env["npm_config_audit"] = "false"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = subprocess.Popen(
            [npm_executable(tool), *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.PIPE if quiet else None,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        _, err = proc.communicate()
    finally:
        signal.signal(signal.SIGINT, previous)
    if quiet and proc.returncode != 0 and err:
        os.write(2, err)
    code = proc.returncode
    return 128 - code if code < 0 else code
