"""The guarded path: resolve in a copy, check, decide, then install exactly what was checked.

1. Resolve: npm's own resolver runs in a temporary copy of the project
   (``--package-lock-only --ignore-scripts``); ``npm ci`` and an in-sync ``npm install`` check
   the existing lockfile directly.
2. Check the resolved tree with the policy; new or changed packages are marked.
3. Decide: block (exit 1, nothing touched), warn (ask on a terminal, follow the policy off
   one), or allow.
4. Install: put the checked package.json files and lockfile in place and run npm with
   ``--ignore-scripts``, so npm installs that lockfile; then run install scripts only for
   packages approved by the policy or by ``allowScripts`` in package.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from npmguard.errors import ExitCode
from npmguard.fsutil import write_atomic
from npmguard.model import Lockfile, Report, Verdict
from npmguard.policy.model import Policy
from npmguard.wrapper.args import Guarded, NpmInvocation
from npmguard.wrapper.npmrun import run_npm
from npmguard.wrapper.project import (
    ProjectFiles,
    lockfile_in_sync,
    project_root,
)
from npmguard.wrapper.scripts import approved_scripts, run_approved_scripts


@dataclass(frozen=True)
class GuardOptions:
    tool: str  # "npm" or "npx"
    argv: tuple[str, ...]
    yes: bool = False  # accept warnings without asking
    dry_run: bool = False  # check only, never run npm's real command


def say(message: str) -> None:
    print(f"npmguard: {message}", file=sys.stderr, flush=True)


def run_guarded(inv: NpmInvocation, opts: GuardOptions) -> int:
    """Resolve, check, decide and install (errors are mapped to exits by the caller,
    :func:`npmguard.wrapper.main.main`, through :func:`npmguard.errors.run_main`)."""
    return _run(inv, opts)


def _run(inv: NpmInvocation, opts: GuardOptions) -> int:
    root = project_root(inv)
    before = ProjectFiles.read(root, extra_specs=_local_positionals(inv, root))
    direct = inv.guarded is Guarded.CLEAN_INSTALL or (
        inv.guarded is Guarded.INSTALL and not inv.positionals and lockfile_in_sync(root)
    )
    with tempfile.TemporaryDirectory(prefix="npmguard-resolve-") as tmp:
        if direct:
            if before.lockfile_name is None:
                return pass_to_npm_for_error(opts)
            lock_path = root / before.lockfile_name
            changed: dict[str, bytes] = {}
        else:
            copy = Path(tmp)
            before.write_to(copy)
            say(f"resolving `npm {' '.join(opts.argv)}` in a copy of the project")
            resolve_argv = _resolution_argv(inv)
            code = run_npm(resolve_argv, cwd=copy, quiet=True)
            if code != 0:
                say(f"npm could not resolve the tree (exit {code}); nothing was installed")
                return code
            changed = before.changed_in(copy)
            lock_name = next(
                (n for n in ("npm-shrinkwrap.json", "package-lock.json") if (copy / n).is_file()),
                None,
            )
            if lock_name is None:
                say("npm produced no lockfile; nothing to check")
                return int(ExitCode.USAGE)
            lock_path = copy / lock_name
        report, policy = _check(lock_path, root, before)
        decision = _decide(report, opts, policy)
        if decision != 0:
            return decision
        if opts.dry_run:
            say("dry run: the tree passed; not installing")
            return 0
        if inv.flag("dry-run"):
            # npm's own --dry-run: npm shows what it would do and writes nothing; so do we
            return run_npm(list(opts.argv), cwd=Path.cwd())
        return _install(inv, opts, root, before, changed, report)


def _local_positionals(inv: NpmInvocation, root: Path) -> tuple[str, ...]:
    """Package arguments that are local paths, made relative to the project root."""
    out = []
    for spec in inv.positionals:
        text = spec[5:] if spec.startswith("file:") else spec
        if text.startswith(("./", "../", "/")):
            path = (Path.cwd() / text).resolve()
            if path.is_relative_to(root.resolve()):
                out.append("./" + path.relative_to(root.resolve()).as_posix())
    return tuple(out)


def _resolution_argv(inv: NpmInvocation) -> list[str]:
    """The user's command for npm's resolver: no prefix (the copy is the project), no scripts,
    no ``--dry-run`` (the resolver must write the lockfile it resolved, in the copy)."""
    argv: list[str] = []
    skip_next = False
    for arg in inv.argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--prefix", "-C"):
            skip_next = True
            continue
        if arg.startswith("--prefix=") or (arg.startswith("-C") and len(arg) > 2):
            continue
        if arg == "--dry-run" or arg.startswith("--dry-run="):
            continue  # npm's --dry-run writes no lockfile: the copy must get one to check
        argv.append(arg)
    if inv.guarded is Guarded.CLEAN_INSTALL:
        argv = ["install" if a == inv.command else a for a in argv]
    return [
        *argv,
        "--package-lock-only",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]


def _check(lock_path: Path, root: Path, before: ProjectFiles) -> tuple[Report, Policy]:
    """Run the rules on the resolved lockfile; print the report and what is new to stderr."""
    from npmguard.app import Options, build
    from npmguard.lockfile import load_lockfile, parse_lockfile_text
    from npmguard.report import render

    display = root / lock_path.name
    lockfile = load_lockfile(lock_path, display_name=str(display))
    old: Lockfile | None = None
    if lock_path == root / str(before.lockfile_name):
        old = lockfile  # npm ci / an in-sync install: the project's own lockfile, as it is
    elif before.lockfile_name:
        old = parse_lockfile_text(before.files[before.lockfile_name], root / before.lockfile_name)
    with build(Options.from_environment(os.environ), root) as checker:
        report = checker.check([lockfile])
        policy = checker.policy
    new_keys = {p.key for p in lockfile.packages if p.on_registry} - (
        {p.key for p in old.packages} if old else set()
    )
    if new_keys:
        shown = sorted(new_keys)
        more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
        say(f"new or changed: {', '.join(shown[:20])}{more}")
    if report.verdict is not Verdict.OK or report.notes:
        sys.stderr.write(render(report, "text", color=sys.stderr.isatty()))
    else:
        count = len(report.packages)
        say(f"checked {count} package{'' if count == 1 else 's'}: ok")
    return report, policy


def _decide(report: Report, opts: GuardOptions, policy: Policy) -> int:
    """0 to go ahead; otherwise the exit code to stop with."""
    if report.verdict is Verdict.BLOCK:
        say("blocked: nothing was installed and no file was changed")
        return int(ExitCode.BLOCKED)
    if report.top_level >= policy.prompt_on:  # warnings, unless the policy raised prompt-on
        if opts.yes:
            say("warnings accepted (--yes)")
            return 0
        if sys.stdin.isatty() and sys.stderr.isatty():
            try:
                answer = input("npmguard: install anyway? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                say("not installed; no file was changed")
                return int(ExitCode.BLOCKED)
            return 0
        if policy.noninteractive_warn == "block":
            say('warnings block off a terminal (policy noninteractive-warn = "block")')
            return int(ExitCode.BLOCKED)
        say("proceeding despite warnings (not a terminal)")
    return 0


def _install(
    inv: NpmInvocation,
    opts: GuardOptions,
    root: Path,
    before: ProjectFiles,
    changed: dict[str, bytes],
    report: Report,
) -> int:
    """Put the checked files in place and let npm install them, scripts off."""
    for rel, data in changed.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    if inv.guarded is Guarded.CLEAN_INSTALL:
        argv = [*opts.argv, "--ignore-scripts"]
    else:
        argv = _install_argv(inv)
    scripts = approved_scripts(report, root)
    code = run_npm(argv, cwd=Path.cwd())
    if code != 0:
        _restore(root, before, changed)
        return code
    if scripts.skipped:
        say(
            "install scripts NOT run (approved by neither the policy nor allowScripts): "
            + ", ".join(scripts.skipped)
        )
    code = run_approved_scripts(scripts, root, inv)
    if code == 0 and inv.runs_tests:
        code = run_npm(["test"], cwd=root)
    return code


def _install_argv(inv: NpmInvocation) -> list[str]:
    """``npm install`` with the user's options but no package arguments: the lockfile in
    place already holds what they asked for, so npm installs exactly that tree."""
    drop = set(inv.positionals)
    argv = [a for a in inv.argv if a not in drop]
    if inv.command is not None:
        argv = ["install" if a == inv.command else a for a in argv]
    return [*argv, "--ignore-scripts"]


def _restore(root: Path, before: ProjectFiles, changed: dict[str, bytes]) -> None:
    for rel in changed:
        path = root / rel
        if rel in before.files:
            write_atomic(path, before.files[rel])
        else:
            path.unlink(missing_ok=True)


def pass_to_npm_for_error(opts: GuardOptions) -> int:
    """Nothing to check (e.g. ``npm ci`` without a lockfile): npm says what is wrong."""
    return run_npm(list(opts.argv), cwd=Path.cwd())
