"""``npmguard npm …`` and ``npmguard npx …``: guard what installs, pass the rest straight through.

The pass-through path imports only ``wrapper.args`` and ``wrapper.npmrun`` and replaces this
process with npm, so npm gets the same arguments, the same terminal and its own exit code,
with no visible delay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from npmguard.wrapper.args import may_be_guarded
from npmguard.wrapper.npmrun import pass_through

# npmguard's own wrapper flags; removed before npm sees the command line
OWN_FLAGS = {"--npmguard-yes": "yes", "--npmguard-dry-run": "dry-run"}


def main(tool: str, argv: Sequence[str]) -> int:
    from npmguard.errors import run_main

    return run_main(lambda: _main(tool, argv), interrupted="interrupted; nothing was installed")


def _main(tool: str, argv: Sequence[str]) -> int:
    before_dashes = argv[: argv.index("--")] if "--" in argv else argv
    unknown = [a for a in before_dashes if a.startswith("--npmguard-") and a not in OWN_FLAGS]
    if unknown:  # a mistyped flag of ours must not reach npm and let the command run
        import difflib

        from npmguard.errors import UsageError

        ours = {flag.removeprefix("--npmguard-"): flag for flag in OWN_FLAGS}
        typed = unknown[0].split("=", 1)[0].removeprefix("--npmguard-")
        close = difflib.get_close_matches(typed, list(ours), n=1)
        raise UsageError(
            f"unknown npmguard flag {unknown[0]}"
            + (f" (did you mean {ours[close[0]]}?)" if close else ""),
            hint=f"npmguard's own flags in `npmguard {tool} …`: {', '.join(OWN_FLAGS)}",
        )
    own = {OWN_FLAGS[a] for a in argv if a in OWN_FLAGS}
    argv = [a for a in argv if a not in OWN_FLAGS]
    if not may_be_guarded(tool, argv):
        return pass_through(tool, argv)
    from npmguard.wrapper.guard import GuardOptions
    from npmguard.wrapper.routes import run_guarded

    options = GuardOptions(
        tool=tool,
        argv=tuple(argv),
        yes="yes" in own or os.environ.get("NPMGUARD_YES") == "1",
        dry_run="dry-run" in own,
    )
    return run_guarded(options)
