"""``npmguard shell-init SHELL``: the alias or function that routes npm and npx through npmguard."""

from __future__ import annotations

import argparse
import sys
from typing import Any

SNIPPETS = {
    "bash": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init bash)\n"
        'npm() { command npmguard npm "$@"; }\n'
        'npx() { command npmguard npx "$@"; }\n'
    ),
    "zsh": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init zsh)\n"
        'npm() { command npmguard npm "$@"; }\n'
        'npx() { command npmguard npx "$@"; }\n'
    ),
    "fish": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init fish)\n"
        "function npm --wraps npm; command npmguard npm $argv; end\n"
        "function npx --wraps npx; command npmguard npx $argv; end\n"
    ),
    "powershell": (
        "# npmguard: check what npm installs before it lands (npmguard shell-init powershell)\n"
        "function npm { npmguard npm @args }\n"
        "function npx { npmguard npx @args }\n"
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


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(SNIPPETS[args.shell])
    return 0
