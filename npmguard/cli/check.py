"""``npmguard check``: run the rules on lockfiles, print the report, exit by verdict."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npmguard.errors import ExitCode, UsageError
from npmguard.model import Level, Lockfile, Report, Verdict

if TYPE_CHECKING:
    from datetime import datetime

    from npmguard.app import Options
    from npmguard.gitutil import FileAtRevision


def register(sub: Any) -> None:
    from npmguard.cli import add_common

    p = sub.add_parser(
        "check",
        help="check lockfiles against the rules and the policy",
        description=(
            "Check every package in one or more lockfiles (npm, pnpm, yarn, bun) against the "
            "rules and the policy, print the report, and exit by verdict (0 ok or warnings, "
            "1 blocked)."
        ),
        epilog=(
            "examples:\n"
            "  npmguard check\n"
            "  npmguard check app/package-lock.json --format json -o report.json\n"
            "  npmguard check web/pnpm-lock.yaml api/yarn.lock   several kinds in one run\n"
            "  npmguard check --offline            use only what is cached\n"
            "  npmguard check --as-of 2021-11-04   judge as on that day (an audit, a replay)\n"
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
            "package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock, bun.lock or a "
            "folder (default: the current folder); - reads one lockfile from stdin (policy and "
            ".npmrc: the current folder)"
        ),
    )
    add_report_options(p)
    add_check_options(p)
    add_common(p)
    p.set_defaults(func=run)


def add_report_options(p: argparse.ArgumentParser) -> None:
    from npmguard.report import FORMATS

    group = p.add_argument_group("report")
    group.add_argument("--format", choices=FORMATS, default="text", help="(default: text)")
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
        help=(
            "fetch package documents and policies named by URL again, even if the cached "
            "copies are fresh"
        ),
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
    group.add_argument(
        "--as-of",
        metavar="DATE",
        type=_as_of,
        help=(
            "judge as on that date: versions published later are invisible and the rules' "
            "clock is that date (YYYY-MM-DD = the end of that day, UTC; or an ISO 8601 time)"
        ),
    )
    if not tree:
        return
    group.add_argument(
        "--changed-since",
        metavar="REV",
        type=_revision,
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
        "-r",
        "--recursive",
        action="store_true",
        help=(
            "check every lockfile in the given folders and below (default: the current "
            "folder), skipping what .gitignore excludes; each with its own policy and .npmrc"
        ),
    )
    group.add_argument(
        "--lockfile-only",
        action="store_true",
        help="run only the rules that need the lockfile alone (no registry)",
    )


def options_from_args(args: argparse.Namespace) -> Options:
    """The :class:`~npmguard.app.Options` the flags of ``check``/``explain`` ask for."""
    from npmguard.app import Options

    cache_dir = getattr(args, "cache_dir", None)
    return Options(
        policy=args.policy,
        offline=bool(args.offline),
        refresh=bool(args.refresh),
        cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
        all_tarballs=bool(args.all_tarballs),
        lockfile_only=bool(getattr(args, "lockfile_only", False)),
        progress=not getattr(args, "quiet", False),
        as_of=getattr(args, "as_of", None),
        cache_url=os.environ.get("NPMGUARD_CACHE_URL", "").strip() or None,
    )


def _revision(text: str) -> str:
    """A git revision for ``--changed-since``; one that git would read as an option is refused
    (it reaches ``git show`` as an argument)."""
    if not text or text.startswith("-"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a git revision")
    return text


def _as_of(text: str) -> datetime:
    from npmguard.asof import parse_as_of

    try:
        return parse_as_of(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    from npmguard.app import build
    from npmguard.engine import combine
    from npmguard.lockfile import find_lockfile, is_stdin, load_lockfile, with_lines
    from npmguard.project import refuse_empty_lockfile

    paths = list(args.lockfiles) or [Path.cwd() if args.recursive else _here()]
    if args.recursive:
        paths = _discover(paths)
    if any(is_stdin(p) for p in paths) and (len(paths) > 1 or args.changed_since):
        raise UsageError(
            "-: a lockfile on stdin is checked alone and without --changed-since",
            hint="name the lockfile files instead",
        )
    files = []
    for path in paths:
        if not is_stdin(path) and not path.exists():
            raise UsageError(f"{path}: no such file", hint="name a lockfile or its folder")
        files.append(find_lockfile(path) if path.is_dir() else path)
    with contextlib.ExitStack() as stack:
        committed = None
        if args.changed_since and not args.all:
            # git shows each committed lockfile while the working copies load (another core)
            from npmguard.gitutil import FileAtRevision

            committed = [
                stack.enter_context(FileAtRevision(f, args.changed_since, start=i < 4))
                for i, f in enumerate(files)  # a few at once: a monorepo may name hundreds
            ]
        lockfiles = []
        for file in files:  # with --changed-since, only the changed entries' lines are found
            lockfiles.append(load_lockfile(file, lines_later=committed is not None))
            refuse_empty_lockfile(lockfiles[-1])
        only = None if committed is None else changed_entries(lockfiles, committed)
    if only is not None:
        lockfiles = [with_lines(lockfile, only) for lockfile in lockfiles]
    # each project is checked with its own policy and .npmrc (a monorepo of separate apps)
    projects: dict[Path, list[Lockfile]] = {}
    for lockfile in lockfiles:
        projects.setdefault(project_dir(lockfile), []).append(lockfile)
    options = options_from_args(args)
    reports: list[Report] = []
    code = ExitCode.OK
    checker_fail_on: list[Level] = []
    for folder, members in projects.items():
        with build(options, folder) as checker:
            report = checker.check(members, only=only)
        reports.append(report)
        checker_fail_on.append(checker.policy.fail_on)
        code = max(code, exit_code(report, checker.policy.fail_on))
    combined = combine(reports)
    emit(combined, args)
    if code is ExitCode.BLOCKED and combined.verdict is not Verdict.BLOCK:
        import logging

        logging.getLogger(__name__).warning(
            'exit 1: verdict %s, and the policy\'s fail-on = "%s" fails the run at that level',
            combined.verdict,
            min(checker_fail_on),
        )
    return int(code)


def _here() -> Path:
    """The lockfile of the current folder; with none, a monorepo root's lockfiles below it
    are named in the hint (``-r`` checks them all)."""
    from npmguard.lockfile import discover_lockfiles, find_lockfile

    try:
        return find_lockfile(Path.cwd())
    except UsageError as e:
        below = discover_lockfiles(Path.cwd())
        if not below:
            raise
        shown = ", ".join(str(p.relative_to(Path.cwd())) for p in below[:3])
        more = f" and {len(below) - 3} more" if len(below) > 3 else ""
        raise UsageError(
            str(e),
            hint=f"lockfiles lie below this folder ({shown}{more}): check them all with "
            "`npmguard check -r`, or name one",
        ) from e


def _discover(paths: Sequence[Path]) -> list[Path]:
    """``--recursive``: every lockfile under the given folders (files are kept as named)."""
    from npmguard.lockfile import discover_lockfiles

    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = discover_lockfiles(path)
            if not found:
                raise UsageError(
                    f"{path}: no lockfile found in this folder or below it",
                    hint="name the lockfiles, or run from the repository root",
                )
            out += found
        else:
            out.append(path)
    return out


def project_dir(lockfile: Lockfile) -> Path:
    """The project a lockfile belongs to: its folder (for the hidden lockfile, the folder
    that holds ``node_modules``; for stdin, the current folder)."""
    from npmguard.lockfile import is_stdin

    if is_stdin(lockfile.path):
        return Path.cwd().resolve()
    folder = lockfile.path.resolve().parent
    return folder.parent if folder.name == "node_modules" else folder


def changed_entries(
    lockfiles: Sequence[Lockfile], committed: str | Sequence[FileAtRevision]
) -> set[str]:
    """name@version keys added or changed since a git revision: ``committed`` names it, or
    shows each lockfile at it (git asked already); the old file is read by the reader its name
    picks (any format). What counts as a change: :mod:`npmguard.lockfile.changes` (not the
    folder an entry sits in, nor its line). A committed copy that cannot be read counts as no
    copy (every entry is checked, with a warning): a damaged lockfile once committed must not
    block the commit that repairs it."""
    from npmguard.gitutil import FileAtRevision

    if not isinstance(committed, str):
        return _changed(lockfiles, committed)
    with contextlib.ExitStack() as stack:  # git asked one file at a time, stopped on errors
        asked = [
            stack.enter_context(FileAtRevision(lockfile.path, committed, start=False))
            for lockfile in lockfiles
        ]
        return _changed(lockfiles, asked)


def _changed(lockfiles: Sequence[Lockfile], committed: Sequence[FileAtRevision]) -> set[str]:
    import logging

    from npmguard.errors import LockfileError
    from npmguard.lockfile.changes import changed_keys, said

    keys: set[str] = set()
    for lockfile, shown in zip(lockfiles, committed, strict=True):
        old_bytes = shown.result()
        if old_bytes is not None:
            try:
                keys |= changed_keys(lockfile, old_bytes, shown=f"{lockfile.path} at {shown.rev}")
                continue
            except LockfileError as e:
                logging.getLogger(__name__).warning(
                    "%s; checking every entry of %s, as for a new file", e, lockfile.path
                )
        keys |= {str(changed[0]) for changed in said(lockfile.packages)}  # all new
    return keys


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
