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


# `npm error code …` of a failure to reach or hear from a registry (npm-registry-fetch, Node)
_NETWORK_CODES = frozenset(
    b"""ECONNREFUSED ECONNRESET ENOTFOUND ETIMEDOUT EAI_AGAIN EAI_FAIL EHOSTUNREACH
    ENETUNREACH EPIPE ERR_SOCKET_TIMEOUT FETCH_ERROR""".split()
)


def resolve_tree(argv: Sequence[str], *, cwd: Path, what: str) -> int:
    """Run npm's resolver (``argv``, quiet); 0 when it wrote the tree, else the exit code to
    stop with, after npm's own message and one line of npmguard's: 3 (``UNREACHABLE``) when
    npm could not reach or hear from the registry, 130 when interrupted, 2 (``USAGE``) for the
    rest (no such package or version, a conflict npm refuses): never 1, which means blocked."""
    import re

    from npmguard.errors import ExitCode

    err: list[bytes] = []
    code = run_npm(argv, cwd=cwd, quiet=True, capture=err)
    if code == 0:
        return 0
    said = b"".join(err)
    os.write(2, said)
    found = re.search(rb"npm error code (\S+)", said)
    network = found is not None and (
        found.group(1) in _NETWORK_CODES or re.fullmatch(rb"E5\d\d", found.group(1)) is not None
    )
    if code == ExitCode.INTERRUPTED:
        exit_code = ExitCode.INTERRUPTED
    else:
        exit_code = ExitCode.UNREACHABLE if network else ExitCode.USAGE
    print(
        f"npmguard: npm could not resolve {what} (npm exit {code}); nothing was installed or run",
        file=sys.stderr,
        flush=True,
    )
    return int(exit_code)
