"""``npmguard shell-init SHELL``: the alias or function that routes npm and npx through npmguard."""

from __future__ import annotations

import argparse
import sys
from typing import Any

SNIPPETS = {
    "bash": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init bash)\n"
        'npm() {{ command {exe} npm "$@"; }}\n'
        'npx() {{ command {exe} npx "$@"; }}\n'
    ),
    "zsh": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init zsh)\n"
        'npm() {{ command {exe} npm "$@"; }}\n'
        'npx() {{ command {exe} npx "$@"; }}\n'
    ),
    "fish": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init fish)\n"
        "function npm --wraps npm; command {exe} npm $argv; end\n"
        "function npx --wraps npx; command {exe} npx $argv; end\n"
    ),
    "powershell": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init powershell)\n"
        "function npm {{ & {exe} npm @args }}\n"
        "function npx {{ & {exe} npx @args }}\n"
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
    p = sub.add_parser(
        "shell-init",
        help="print the shell function that routes npm and npx through npmguard",
        description="Print the function that makes `npm` and `npx` go through npmguard.",
        epilog="\n".join(f"  {shell}: {cmd}" for shell, cmd in WHERE.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=sorted(SNIPPETS))
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

    exe = npmguard_command()
    quoted = f"'{exe}'" if args.shell == "powershell" and exe != "npmguard" else shlex.quote(exe)
    sys.stdout.write(SNIPPETS[args.shell].format(exe=quoted))
    return 0
