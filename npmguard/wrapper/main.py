"""``npmguard npm …`` and ``npmguard npx …``: guard what installs, pass the rest straight through.

The pass-through path imports only ``wrapper.args`` and replaces this process with npm, so
npm gets the same arguments, the same terminal and its own exit code, with no visible delay.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

from npmguard.wrapper.args import parse_npm_args

# npmguard's own wrapper flags; removed before npm sees the command line
OWN_FLAGS = {"--npmguard-yes": "yes", "--npmguard-dry-run": "dry-run"}


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


def main(tool: str, argv: Sequence[str]) -> int:
    from npmguard.errors import run_main

    return run_main(lambda: _main(tool, argv), interrupted="interrupted; nothing was installed")


def _main(tool: str, argv: Sequence[str]) -> int:
    own = {OWN_FLAGS[a] for a in argv if a in OWN_FLAGS}
    argv = [a for a in argv if a not in OWN_FLAGS]
    inv = parse_npm_args(["exec", *argv] if tool == "npx" else argv)
    if inv.guarded is None or inv.flag("usage") or (inv.flag("version") and inv.command is None):
        return pass_through(tool, argv)
    from npmguard.wrapper.guard import GuardOptions, run_guarded

    options = GuardOptions(
        tool=tool,
        argv=tuple(argv),
        yes="yes" in own or os.environ.get("NPMGUARD_YES") == "1" or _yes_flag(argv),
        dry_run="dry-run" in own,
    )
    return run_guarded(inv, options)


def _yes_flag(argv: Sequence[str]) -> bool:
    """``--yes`` / ``-y`` accepts warnings. For exec it is also npm's own flag; npm keeps it."""
    return any(a in ("--yes", "-y") for a in argv)
