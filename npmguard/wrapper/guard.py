"""Check and decide, for every guarded command (``wrapper.routes`` says which runs how).

``_check`` runs the rules on the tree npm resolved and prints the report; ``_decide`` turns
the verdict into go, refuse, or ask (a terminal) / follow the policy (no terminal).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from npmguard.errors import ExitCode
from npmguard.model import Lockfile, Report, Verdict
from npmguard.policy.model import Policy


@dataclass(frozen=True)
class GuardOptions:
    tool: str  # "npm" or "npx"
    argv: tuple[str, ...]
    yes: bool = False  # accept warnings without asking
    dry_run: bool = False  # check only, never run npm's real command


def say(message: str) -> None:
    print(f"npmguard: {message}", file=sys.stderr, flush=True)


def _check(
    lock_path: Path,
    project_dir: Path,
    old: Lockfile | None,
    display: Path | None = None,
    *,
    show_new: bool = True,
) -> tuple[Report, Policy]:
    """Run the rules on the lockfile npm resolved; print the report and what is new (against
    ``old``, the tree there before; nothing when ``show_new`` is off) to stderr.
    ``project_dir`` is where the policy and .npmrc are found; ``display`` names the lockfile
    in the report."""
    from npmguard.app import Options, build
    from npmguard.lockfile import load_lockfile
    from npmguard.report import render

    lockfile = load_lockfile(lock_path, display_name=str(display or lock_path))
    with build(Options.from_environment(os.environ), project_dir) as checker:
        report = checker.check([lockfile])
        policy = checker.policy
    new_keys = {p.key for p in lockfile.packages if p.on_registry} - (
        {p.key for p in old.packages} if old else set()
    )
    if new_keys and show_new:
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
