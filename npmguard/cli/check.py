"""``npmguard check``: run the rules on lockfiles, print the report, exit by verdict."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from npmguard.errors import ExitCode, UsageError
from npmguard.model import Level, Report, Verdict


def register(sub: Any) -> None:
    from npmguard.cli import add_common

    p = sub.add_parser(
        "check",
        help="check lockfiles against the rules and the policy",
        description=(
            "Check every package in one or more npm lockfiles against the rules and the "
            "policy, print the report, and exit by verdict (0 ok or warnings, 1 blocked)."
        ),
        epilog=(
            "examples:\n"
            "  npmguard check\n"
            "  npmguard check app/package-lock.json --format json -o report.json\n"
            "  npmguard check --offline            use only what is cached\n"
            "  npmguard check --changed-since origin/main --format sarif -o npmguard.sarif"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "lockfiles",
        nargs="*",
        type=Path,
        metavar="LOCKFILE",
        help=(
            "package-lock.json, npm-shrinkwrap.json or a folder (default: the current "
            "folder); - reads one lockfile from stdin (policy and .npmrc: the current folder)"
        ),
    )
    add_report_options(p)
    add_check_options(p)
    add_common(p)
    p.set_defaults(func=run)


def add_report_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("report")
    group.add_argument(
        "--format", choices=("text", "json", "sarif"), default="text", help="(default: text)"
    )
    group.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the report to this file (replaced atomically) instead of stdout (-)",
    )
    group.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour in the text report (default: auto, only on a terminal without NO_COLOR)",
    )


def add_check_options(p: argparse.ArgumentParser, *, tree: bool = True) -> None:
    """Flags shared by every command that checks a tree (check, explain, the wrapper);
    ``tree=False`` leaves out the ones that choose entries of a whole lockfile."""
    group = p.add_argument_group("facts and policy")
    group.add_argument(
        "--policy",
        metavar="FILE|URL",
        help=(
            "the policy: a file, npmguard:PRESET or an https URL "
            "(default: npmguard.toml found next to the lockfile or above it)"
        ),
    )
    group.add_argument("--offline", action="store_true", help="no network: use only the cache")
    group.add_argument(
        "--refresh",
        action="store_true",
        help="refresh package documents even if the cache is fresh",
    )
    group.add_argument(
        "--cache-dir",
        type=Path,
        default=os.environ.get("NPMGUARD_CACHE_DIR") or None,
        help="where the HTTP cache and facts live (env NPMGUARD_CACHE_DIR)",
    )
    group.add_argument(
        "--all-tarballs",
        action="store_true",
        help=(
            "read every package's tarball (default: only packages with install scripts "
            "or fewer than 100k downloads a month, whose content can change a verdict)"
        ),
    )
    if not tree:
        return
    group.add_argument(
        "--changed-since",
        metavar="REV",
        help=(
            "check only the entries added or changed since git revision REV "
            "(pre-commit: HEAD; CI: origin/main)"
        ),
    )
    group.add_argument(
        "--all",
        action="store_true",
        help="check every entry (the default; overrides --changed-since)",
    )
    group.add_argument(
        "--lockfile-only",
        action="store_true",
        help="run only the rules that need the lockfile alone (no registry)",
    )


def run(args: argparse.Namespace) -> int:
    from npmguard.lockfile import find_lockfile, is_stdin, load_lockfile

    paths = list(args.lockfiles) or [find_lockfile(Path.cwd())]
    if any(is_stdin(p) for p in paths) and (len(paths) > 1 or args.changed_since):
        raise UsageError(
            "-: a lockfile on stdin is checked alone and without --changed-since",
            hint="name the lockfile files instead",
        )
    lockfiles = []
    for path in paths:
        if not is_stdin(path) and not path.exists():
            raise UsageError(f"{path}: no such file", hint="name a package-lock.json or its folder")
        lockfiles.append(load_lockfile(find_lockfile(path) if path.is_dir() else path))
    only = (
        changed_entries(lockfiles, args.changed_since)
        if args.changed_since and not args.all
        else None
    )
    report, policy = check_lockfiles(lockfiles, args, only=only)
    emit(report, args)
    return int(exit_code(report, policy.fail_on))


def changed_entries(lockfiles: list[Any], rev: str) -> set[str]:
    """name@version keys added or changed (resolved or integrity) since git revision ``rev``."""
    from npmguard.gitutil import file_at_revision
    from npmguard.lockfile import parse_lockfile_text

    def sources(packages: Any) -> set[tuple[str, str | None, str | None]]:
        # every occurrence counts: a tampered nested copy of a known name@version is a change,
        # a copy that only moved folder (hoisting) is not
        return {(p.key, o.resolved, o.integrity) for p in packages for o in p.occurrences}

    keys: set[str] = set()
    for lockfile in lockfiles:
        old_bytes = file_at_revision(lockfile.path, rev)
        old = (
            set()
            if old_bytes is None
            else sources(parse_lockfile_text(old_bytes, lockfile.path).packages)
        )
        keys |= {key for key, *_ in sources(lockfile.packages) - old}
    return keys


def check_lockfiles(
    lockfiles: list[Any], args: argparse.Namespace, only: set[str] | None = None
) -> tuple[Report, Any]:
    """Build the engine for these lockfiles from the flags and run it."""
    from npmguard.engine import Engine
    from npmguard.facts import Need
    from npmguard.policy.load import load_policy
    from npmguard.registry.npmrc import load_npm_config

    if getattr(args, "cache_dir", None):
        # every cache (facts, names index, fetched policies) follows --cache-dir
        os.environ["NPMGUARD_CACHE_DIR"] = str(args.cache_dir)
    project_dir = getattr(args, "project_dir", None) or lockfiles[0].path.resolve().parent
    if project_dir.name == "node_modules":  # the hidden lockfile
        project_dir = project_dir.parent
    policy = load_policy(args.policy, project_dir)
    config = load_npm_config(project_dir)
    engine = Engine(
        policy,
        project=read_project(project_dir),
        allowed_registries=config.registry_urls(),
        progress=_progress(args),
        only=only,
    )
    if getattr(args, "lockfile_only", False):
        engine.rules = [r for r in engine.rules if r.needs <= {Need.LOCKFILE}]
    if Need.FEED in engine.needs:
        from npmguard.feeds.store import open_feed_store

        feed = open_feed_store()  # None when no feed was imported: known-malicious stays quiet
        if feed is not None:
            engine.extra["feed"] = feed
    if engine.needs - {Need.LOCKFILE}:
        from npmguard.paths import writable_cache_dir
        from npmguard.reputation.source import open_facts_source

        writable_cache_dir(getattr(args, "cache_dir", None))  # a clear error, not a traceback
        engine.facts_source = open_facts_source(args, config, policy, engine.progress)
    return engine.run(lockfiles), policy


def read_project(project_dir: Path) -> Any:
    """The parts of the project's package.json rules care about (npm's ``allowScripts``)."""
    from npmguard.rules.base import ProjectInfo

    manifest = project_dir / "package.json"
    allow: dict[str, bool] = {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ProjectInfo(root=project_dir)
    raw = data.get("allowScripts") if isinstance(data, dict) else None
    if isinstance(raw, dict):
        allow = {str(k): bool(v) for k, v in raw.items()}
    return ProjectInfo(root=project_dir, allow_scripts=allow)


def exit_code(report: Report, fail_on: Level) -> ExitCode:
    """1 when a finding (not allowed) reaches the policy's ``fail_on`` level (block by default)."""
    return ExitCode.BLOCKED if report.top_level >= fail_on else ExitCode.OK


def emit(report: Report, args: argparse.Namespace) -> None:
    """Write the report to --output (atomically) or stdout; the summary goes to stderr."""
    from npmguard.report import render

    color = args.color == "always" or (
        args.color == "auto"
        and args.output is None
        and sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
    )
    text = render(report, args.format, color=color)
    if args.output is None or str(args.output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(args.output, text)
    if not getattr(args, "quiet", False) and (args.output is not None or args.format != "text"):
        counts = {v: sum(1 for p in report.packages if p.verdict is v) for v in Verdict}
        print(
            f"npmguard: {len(report.packages)} packages: {counts[Verdict.BLOCK]} blocked, "
            f"{counts[Verdict.WARN]} warned; verdict {report.verdict}",
            file=sys.stderr,
        )


def write_atomic(path: Path, text: str) -> None:
    """Write the report through a temporary file, so Ctrl-C never leaves half of it."""
    from npmguard.fsutil import write_atomic as write

    try:
        write(path, text)
    except OSError as e:
        raise UsageError(f"{path}: cannot write the report: {e.strerror}") from e


def _progress(args: argparse.Namespace) -> Any:
    from npmguard.progress import make_progress

    return make_progress(enabled=not getattr(args, "quiet", False))
