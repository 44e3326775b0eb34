"""``npmguard policy show|validate|init``: look at, check and start policy files."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from npmguard.errors import UsageError


def register(sub: Any) -> None:
    from npmguard.cli import add_common, print_usage

    p = sub.add_parser(
        "policy",
        help="show the effective policy, validate a policy file, or start one",
        description="Show the effective policy, validate a policy file, or write a new one.",
        epilog=(
            "examples:\n"
            "  npmguard policy show                  the policy and where each value is from\n"
            "  npmguard policy validate npmguard.toml\n"
            "  npmguard policy init --preset strict  write ./npmguard.toml (extends strict)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="policy_command", metavar="ACTION")
    p.set_defaults(func=lambda args: print_usage(p))

    show = actions.add_parser(
        "show",
        help="the effective merged policy, each value with the file it came from",
        description=(
            "Print the effective policy for a project: every setting and rule, each with the "
            "file and line it came from (or 'default')."
        ),
    )
    show.add_argument(
        "--lockfile",
        type=Path,
        help="the lockfile (or its folder) the policy is for (default: the current folder)",
    )
    show.add_argument(
        "--policy",
        metavar="FILE|URL",
        help="this policy (a file, npmguard:PRESET or an https URL) instead of the one found",
    )
    show.add_argument(
        "--format",
        choices=("text", "toml", "json"),
        default="text",
        help="text: TOML annotated with sources (the default); toml: plain TOML; json",
    )
    show.add_argument(
        "--refresh",
        action="store_true",
        help="fetch policies named by URL again, even if the cached copies are fresh",
    )
    add_common(show)
    show.set_defaults(func=run_show)

    validate = actions.add_parser(
        "validate",
        help="check a policy file (and what it extends) without running anything",
        description=(
            "Check a policy file and everything it extends. Exit 0 when it is valid, 2 with "
            "the file, line and key when it is not."
        ),
    )
    validate.add_argument(
        "file",
        nargs="?",
        metavar="FILE|URL",
        help="the policy file, npmguard:PRESET or https URL (default: the one found from here)",
    )
    validate.add_argument(
        "--refresh",
        action="store_true",
        help="fetch policies named by URL again, even if the cached copies are fresh",
    )
    add_common(validate)
    validate.set_defaults(func=run_validate)

    init = actions.add_parser(
        "init",
        help="write a commented starting policy that extends a preset",
        description="Write a commented npmguard.toml that extends one of the built-in presets.",
    )
    init.add_argument(
        "--preset",
        choices=("default", "strict", "ci"),
        default="default",
        help="the preset it extends (default: default)",
    )
    init.add_argument(
        "-o",
        "--output",
        default="npmguard.toml",
        help="where to write it, or - for stdout (default: ./npmguard.toml)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_common(init)
    init.set_defaults(func=run_init)


def run_show(args: argparse.Namespace) -> int:
    from npmguard.policy.load import load_policy
    from npmguard.policy.show import render_json, render_toml

    start = Path.cwd()
    if args.lockfile is not None:
        if not args.lockfile.exists():
            raise UsageError(f"{args.lockfile}: no such file")
        start = args.lockfile if args.lockfile.is_dir() else args.lockfile.resolve().parent
    policy = load_policy(args.policy, start, refresh=args.refresh)
    if args.format == "json":
        sys.stdout.write(render_json(policy))
    else:
        sys.stdout.write(render_toml(policy, with_sources=args.format == "text"))
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from npmguard.policy.load import find_policy, load_source

    source = find_policy(args.file, Path.cwd())
    policy = load_source(source, refresh=args.refresh)
    extra = f" (with {', '.join(policy.files[1:])})" if len(policy.files) > 1 else ""
    print(f"{source.display}: ok{extra}")
    for copy in policy.copies:
        print(f"  {copy.describe()}")
    today = date.today()
    for entry in policy.allow:  # valid, but no longer allowing anything: say so now
        if entry.expired(today):
            print(
                f"npmguard: warning: {entry.source or source.display}: the allow entry for "
                f"{entry.matcher.package} expired on {entry.expires}; it no longer allows",
                file=sys.stderr,
            )
    return 0


def run_init(args: argparse.Namespace) -> int:
    from npmguard.policy.template import starter_policy

    text = starter_policy(args.preset)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output)
    if path.exists() and not args.force:
        raise UsageError(f"{path}: already exists", hint="use --force to overwrite it")
    from npmguard.fsutil import write_atomic

    try:
        write_atomic(path, text)
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror}") from e
    if not getattr(args, "quiet", False):
        print(f"npmguard: wrote {path} (extends npmguard:{args.preset})", file=sys.stderr)
    return 0
