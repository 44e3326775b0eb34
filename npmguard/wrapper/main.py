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
