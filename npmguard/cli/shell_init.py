"""``npmguard shell-init SHELL``: the functions that route npm and npx through npmguard, and
(``--uninstall``) the code that removes them again.

The snippet also exports ``NPMGUARD_SHELL_INIT`` (the shell's name): a program started from
the shell cannot see its functions, so ``npmguard doctor`` reads that variable instead.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

SNIPPETS = {
    "bash": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init bash)\n"
        'npm() {{ command {exe} npm "$@"; }}\n'
        'npx() {{ command {exe} npx "$@"; }}\n'
        "export NPMGUARD_SHELL_INIT=bash\n"
    ),
    "zsh": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init zsh)\n"
        'npm() {{ command {exe} npm "$@"; }}\n'
        'npx() {{ command {exe} npx "$@"; }}\n'
        "export NPMGUARD_SHELL_INIT=zsh\n"
    ),
    "fish": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init fish)\n"
        "function npm --wraps npm; command {exe} npm $argv; end\n"
        "function npx --wraps npx; command {exe} npx $argv; end\n"
        "set -gx NPMGUARD_SHELL_INIT fish\n"
    ),
    "powershell": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init powershell)\n"
        "function npm {{ & {exe} npm @args }}\n"
        "function npx {{ & {exe} npx @args }}\n"
        '$env:NPMGUARD_SHELL_INIT = "powershell"\n'
    ),
}

# what switches it off again in the running shell (new shells: remove the startup line)
UNINSTALL = {
    "bash": "unset -f npm npx 2>/dev/null; unset NPMGUARD_SHELL_INIT\n",
    "zsh": "unfunction npm npx 2>/dev/null; unset NPMGUARD_SHELL_INIT\n",
    "fish": "functions -e npm npx; set -e NPMGUARD_SHELL_INIT\n",
    "powershell": (
        "Remove-Item Function:npm, Function:npx -ErrorAction SilentlyContinue; "
        "Remove-Item Env:NPMGUARD_SHELL_INIT -ErrorAction SilentlyContinue\n"
    ),
}

WHERE = {
    "bash": "echo 'eval \"$(npmguard shell-init bash)\"' >> ~/.bashrc",
    "zsh": "echo 'eval \"$(npmguard shell-init zsh)\"' >> ~/.zshrc",
    "fish": "echo 'npmguard shell-init fish | source' >> ~/.config/fish/config.fish",
    "powershell": (
        "Add-Content $PROFILE 'Invoke-Expression (npmguard shell-init powershell | Out-String)'"
    ),
}


def register(sub: Any) -> None:
    from npmguard.cli import add_common

    p = sub.add_parser(
        "shell-init",
        help="print the shell function that routes npm and npx through npmguard",
        description="Print the function that makes `npm` and `npx` go through npmguard.",
        epilog=(
            "to load it in every new shell:\n"
            + "\n".join(f"  {shell}: {cmd}" for shell, cmd in WHERE.items())
            + "\n\nto switch it off again: "
            + 'eval "$(npmguard shell-init bash --uninstall)" (this shell), and remove that '
            "line from the startup file (new shells; the command names the line)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=sorted(SNIPPETS))
    p.add_argument(
        "--uninstall",
        action="store_true",
        help="print the code that removes the functions again (and name the startup-file "
        "line that loads them, on stderr)",
    )
    add_common(p)
    p.set_defaults(func=run)


def npmguard_command() -> str:
    """How the shell should call npmguard: by name when the PATH finds this same install,
    else by the full path of this install's script (a virtual environment not on the PATH)."""
    import os
    import shutil
    from pathlib import Path

    here = Path(sys.executable).parent / ("npmguard.exe" if os.name == "nt" else "npmguard")
    found = shutil.which("npmguard")
    if not here.is_file() or (found and Path(found).resolve() == here.resolve()):
        return "npmguard"
    return str(here)


def run(args: argparse.Namespace) -> int:
    import shlex

    if args.uninstall:
        return _uninstall(args.shell)
    exe = npmguard_command()
    quoted = f"'{exe}'" if args.shell == "powershell" and exe != "npmguard" else shlex.quote(exe)
    sys.stdout.write(SNIPPETS[args.shell].format(exe=quoted))
    return 0


def _uninstall(shell: str) -> int:
    """The code that removes the functions from the running shell (stdout, for ``eval``), and
    on stderr the startup-file lines that would load them again in new shells."""
    from pathlib import Path

    from npmguard.doctor import startup_lines

    sys.stdout.write(UNINSTALL[shell])
    lines = startup_lines(Path.home(), shell)
    for where, number in lines:
        print(
            f"npmguard: {where}:{number} loads npmguard in new {shell} shells: remove that line",
            file=sys.stderr,
        )
    return 0
