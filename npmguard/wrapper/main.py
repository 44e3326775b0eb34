"""``npmguard npm …`` and ``npmguard npx …``: guard what installs, pass the rest straight through.

The pass-through path imports only ``wrapper.args`` and replaces this process with npm, so
npm gets the same arguments, the same terminal and its own exit code, with no visible delay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from npmguard.wrapper.args import parse_npm_args
from npmguard.wrapper.npmrun import pass_through

# npmguard's own wrapper flags; removed before npm sees the command line
OWN_FLAGS = {"--npmguard-yes": "yes", "--npmguard-dry-run": "dry-run"}


def main(tool: str, argv: Sequence[str]) -> int:
    from npmguard.errors import run_main

    return run_main(lambda: _main(tool, argv), interrupted="interrupted; nothing was installed")


def _main(tool: str, argv: Sequence[str]) -> int:
    own = {OWN_FLAGS[a] for a in argv if a in OWN_FLAGS}
    argv = [a for a in argv if a not in OWN_FLAGS]
    inv = parse_npm_args(["exec", *argv] if tool == "npx" else argv)
    if inv.guarded is None or inv.flag("usage") or (inv.flag("version") and inv.command is None):
        return pass_through(tool, argv)
    from npmguard.wrapper.args import Guarded
    from npmguard.wrapper.guard import GuardOptions, run_guarded

    options = GuardOptions(
        tool=tool,
        argv=tuple(argv),
        yes="yes" in own or os.environ.get("NPMGUARD_YES") == "1" or _yes_flag(argv),
        dry_run="dry-run" in own,
    )
    if inv.guarded is Guarded.EXEC or inv.is_global:
        # npx / npm exec and npm install -g: no project lockfile; the named packages are
        # resolved in an empty project and checked there
        from npmguard.wrapper.standalone import run_standalone

        return run_standalone(inv, options)
    return run_guarded(inv, options)


def _yes_flag(argv: Sequence[str]) -> bool:
    """``--yes`` / ``-y`` accepts warnings. For exec it is also npm's own flag; npm keeps it."""
    return any(a in ("--yes", "-y") for a in argv)
