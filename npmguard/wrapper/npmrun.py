"""Running the real npm: in place of this process (pass-through), or as a child whose exit
code passes through, with Ctrl-C going to npm.

Imported on the pass-through path: the child-process machinery is imported only when used.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def npm_executable(tool: str = "npm") -> str:
    """The real npm (or npx): ``NPMGUARD_NPM`` / ``NPMGUARD_NPX`` win, else the PATH."""
    override = os.environ.get(f"NPMGUARD_{tool.upper()}")
    if override:
        return override
    found = shutil.which(tool)
    if found is None:
        from npmguard.errors import NpmNotFoundError

        raise NpmNotFoundError(
            f"{tool} not found on PATH",
            hint=f"install Node.js and npm, or set NPMGUARD_{tool.upper()}",
        )
    return found


def pass_through(tool: str, argv: Sequence[str]) -> int:
    """Become npm: same arguments, terminal and exit code."""
    exe = npm_executable(tool)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(exe, [tool, *argv])
    import subprocess  # pragma: no cover - Windows has no exec that keeps the console

    return subprocess.call([exe, *argv])  # pragma: no cover


def run_npm(
    argv: Sequence[str],
    *,
    cwd: Path,
    quiet: bool = False,
    env: Mapping[str, str] | None = None,
    capture: list[bytes] | None = None,
) -> int:
    """Run npm and return its exit code (128 + signal number if a signal ended it).

    ``quiet`` hides npm's output unless it fails (then its stderr is shown); ``env`` adds
    variables; ``capture`` (with ``quiet``) receives npm's stderr instead of the terminal.
    While npm runs, npmguard ignores SIGINT: the terminal sends Ctrl-C to npm too, and npm
    decides how to stop; npmguard then reports npm's exit code.
    """
    import signal
    import subprocess

    full_env = dict(os.environ)
    full_env.setdefault("npm_config_update_notifier", "false")
    full_env.update(env or {})
    if quiet:
        full_env["npm_config_fund"] = "false"
        full_env["npm_config_audit"] = "false"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = subprocess.Popen(
            [npm_executable("npm"), *argv],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.PIPE if quiet else None,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        _, err = proc.communicate()
    finally:
        signal.signal(signal.SIGINT, previous)
    if capture is not None:
        capture.append(err or b"")
    elif quiet and proc.returncode != 0 and err:
        os.write(2, err)
    code = proc.returncode
    return 128 - code if code < 0 else code
