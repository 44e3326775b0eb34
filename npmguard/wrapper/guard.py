"""Check and decide, for every guarded command (``wrapper.routes`` says which runs how).

``_check`` runs the rules on the tree npm resolved and shows what the command adds or
changes (``wrapper.present``); ``_decide`` turns the verdict into go, refuse, or ask (a
terminal: yes once, allow and record in the policy, or no) / follow the policy (no terminal).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from npmguard.errors import ExitCode, PolicyError
from npmguard.model import Lockfile, Report, Verdict
from npmguard.policy.model import Policy
from npmguard.wrapper.present import Changes, changes_between, counted_findings, show


@dataclass(frozen=True)
class GuardOptions:
    tool: str  # "npm" or "npx"
    argv: tuple[str, ...]
    yes: bool = False  # accept warnings without asking (--npmguard-yes, NPMGUARD_YES=1)
    dry_run: bool = False  # check only, never run npm's real command


@dataclass(frozen=True)
class Checked:
    """A checked tree: the report, the policy it was judged with, the project it is for, and
    what the command changes in it (None: nothing to compare with, as for ``npm ci``)."""

    report: Report
    policy: Policy
    project_dir: Path
    changes: Changes | None


@dataclass(frozen=True)
class Decision:
    """0 to go ahead, else the exit code to stop with; ``report`` with any findings the user
    allowed at the prompt marked allowed (approved install scripts then run)."""

    code: int
    report: Report


def say(message: str) -> None:
    print(f"npmguard: {message}", file=sys.stderr, flush=True)


def _color() -> bool:
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def _check(
    lock_path: Path,
    project_dir: Path,
    old: Lockfile | None,
    display: Path | None = None,
    *,
    show_new: bool = True,
) -> Checked:
    """Run the rules on the lockfile npm resolved and show the result on stderr: what is new
    against ``old`` (the tree there before; nothing is compared when ``show_new`` is off) in
    full, the rest in one line. ``project_dir`` is where the policy and .npmrc are found;
    ``display`` is the project's lockfile, named in the report instead of the temporary
    copy npm resolved in."""
    from npmguard.app import Options, build
    from npmguard.lockfile import load_lockfile

    lockfile = load_lockfile(lock_path, display_name=str(display or lock_path))
    if display is not None:
        lockfile = replace(lockfile, path=display)
    changes = changes_between(lockfile, old) if show_new else None
    options = Options.from_environment(os.environ)
    if changes is not None:
        options = replace(options, adding=changes.direct)
    with build(options, project_dir) as checker:
        report = checker.check([lockfile])
        policy = checker.policy
    show(report, changes, color=_color())
    return Checked(report, policy, project_dir, changes)


def gate(checked: Checked, opts: GuardOptions, doing: str) -> Report | int:
    """The report to go ahead with, or the exit code to stop with now: the decision's (block,
    or no at the prompt), or 0 under ``--npmguard-dry-run`` after saying the tree passed and
    npm is not ``doing`` ("installing", "running npm")."""
    decision = _decide(checked, opts)
    if decision.code != 0:
        return decision.code
    if opts.dry_run:
        say(f"dry run: the tree passed; not {doing}")
        return int(ExitCode.OK)
    return decision.report


def _decide(checked: Checked, opts: GuardOptions) -> Decision:
    """Block, go ahead, or ask (see the module docstring)."""
    report, policy = checked.report, checked.policy
    if report.verdict is Verdict.BLOCK:
        say("blocked: nothing was installed and no file was changed")
        return Decision(int(ExitCode.BLOCKED), report)
    if report.top_level < policy.prompt_on:
        return Decision(0, report)
    if opts.yes:
        say("warnings accepted (--npmguard-yes)")
        return Decision(0, report)
    if sys.stdin.isatty() and sys.stderr.isatty():
        return _ask(checked)
    if policy.noninteractive_warn == "block":
        say(
            'warnings block off a terminal (policy noninteractive-warn = "block"): nothing was '
            "installed and no file was changed; to go ahead, accept them with --npmguard-yes "
            "(or NPMGUARD_YES=1), or record an [[allow]] entry in npmguard.toml"
        )
        return Decision(int(ExitCode.BLOCKED), report)
    say("proceeding despite warnings (not a terminal)")
    return Decision(0, report)


def _ask(checked: Checked) -> Decision:
    """yes once / allow and record / no, one keystroke."""
    from npmguard.policy.edit import ALLOW_DAYS, allow_target
    from npmguard.rules.advice import known_bad
    from npmguard.wrapper.prompt import ask_key

    report = checked.report
    warned = counted_findings(report, checked.policy.prompt_on)
    named = [f"{key} ({', '.join(rules)})" for key, rules in warned.items()]
    shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
    shown = shown or "the warnings above"
    target = allow_target(os.environ.get("NPMGUARD_POLICY") or None, checked.project_dir)
    recordable = target is not None and bool(warned) and not known_bad(report.findings)
    where = _shown_path(target) if target is not None else ""
    options = "[y] yes, once"
    if recordable:
        options += f"  [a] allow and record in {where} ({ALLOW_DAYS} days)"
    answer = ask_key(
        f"npmguard: go ahead with {shown}? {options}  [N] no: ",
        "yna" if recordable else "yn",
        "n",
    )
    if answer == "y":
        return Decision(0, report)
    if answer == "a" and target is not None:
        return _record(checked, warned, target)
    say("not installed; no file was changed")
    return Decision(int(ExitCode.BLOCKED), report)


def _record(checked: Checked, warned: dict[str, list[str]], target: Path) -> Decision:
    """Ask why, write the ``[[allow]]`` entries, and go ahead with them allowed."""
    from npmguard.policy.edit import ALLOW_DAYS, NewAllow, add_allows
    from npmguard.wrapper.prompt import ask_line

    report = checked.report
    reason = ask_line("npmguard: reason, for whoever reviews the policy (empty cancels): ")
    if not reason:
        say("no reason given: not recorded, not installed; no file was changed")
        return Decision(int(ExitCode.BLOCKED), report)
    expires = date.today() + timedelta(days=ALLOW_DAYS)
    entries = [
        NewAllow(key.rsplit("@", 1)[0], key.rsplit("@", 1)[1], tuple(rules), reason, expires)
        for key, rules in warned.items()
    ]
    try:
        add_allows(target, entries, note=f"recorded at the npm prompt on {date.today()}")
    except PolicyError as err:
        say(f"not recorded: {err}")
        say("not installed; no file was changed")
        return Decision(int(ExitCode.BLOCKED), report)
    say(
        f"recorded in {_shown_path(target)} (until {expires}): "
        + ", ".join(f"{key} ({', '.join(rules)})" for key, rules in warned.items())
    )
    allowed = tuple(
        replace(f, allowed_by=reason) if f.rule in warned.get(f.key, ()) else f
        for f in report.findings
    )
    return Decision(0, replace(report, findings=allowed))


def _shown_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel
