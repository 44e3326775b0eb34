"""``npmguard rules``: every rule with id, default level and description."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from npmguard.rules.base import all_rules


def register(sub: Any) -> None:
    from npmguard.cli import add_common

    p = sub.add_parser(
        "rules",
        help="list every rule with its id, default level and description",
        description="List every rule npmguard knows, with its id, default level and description.",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="(default: text; markdown: docs/rules.md)",
    )
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.format == "json":
        data = [
            {
                "id": r.id,
                "level": str(r.level),
                "family": r.family,
                "description": r.description,
                "needs": sorted(str(n) for n in r.needs),
                "options": {
                    k: {"default": o.default, "description": o.description}
                    for k, o in r.options.items()
                },
            }
            for r in rules.values()
        ]
        json.dump(data, sys.stdout, indent=2)
        print()
    elif args.format == "markdown":
        from npmguard.report.rules_doc import rules_markdown

        sys.stdout.write(rules_markdown())
    else:
        width = max(len(r) for r in rules)
        for rid, r in rules.items():
            print(f"{rid:<{width}}  {r.level!s:<5}  {r.description}")
    return 0
