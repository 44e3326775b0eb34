"""What the npm wrapper shows before it acts: what this command adds or changes, in full; the
rest of the tree in one line; what could not be checked; the policy's notes.

The full report of a large tree is mostly about packages the user did not just ask for (info
notes on what was installed long ago); at the prompt it hides the one warning that matters.
So the packages this command adds or changes are shown with every finding, packages already
in the tree only when they warn or block (they decide the outcome too), and the rest is
counted in one line, with the command that lists them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

from npmguard.model import Level, Lockfile, Report, Verdict

MAX_LISTED = 8


@dataclass(frozen=True, slots=True)
class Changes:
    """How the checked tree differs from the tree before the command.

    ``added``: name@version keys of names the tree did not have; ``changed``: (old key, new
    key) for names it had at another version; ``removed``: keys of names it no longer has;
    ``direct``: the names among ``added`` that are direct dependencies (what the command
    asked for, as opposed to what they pulled in).
    """

    added: tuple[str, ...]
    changed: tuple[tuple[str, str], ...]
    removed: tuple[str, ...]
    direct: frozenset[str]

    @property
    def new_keys(self) -> frozenset[str]:
        """The keys of packages that were not in the tree before, at that version."""
        return frozenset(self.added) | {new for _, new in self.changed}

    def describe(self) -> str:
        parts = []
        if self.added:  # what the command asked for first, then what it pulled in
            asked = sorted(self.added, key=lambda key: _key_name(key) not in self.direct)
            parts.append(f"adds {_listing(asked)}")
        if self.changed:
            pairs = [f"{old} -> {new.rsplit('@', 1)[1]}" for old, new in self.changed]
            parts.append(f"changes {_listing(pairs)}")
        if self.removed:
            parts.append(f"removes {_listing(self.removed)}")
        return "this command " + ("; ".join(parts) if parts else "changes no package")


def _listing(items: Iterable[str]) -> str:
    from npmguard.report.common import printable

    shown = [printable(item) for item in items]
    more = f" and {len(shown) - MAX_LISTED} more" if len(shown) > MAX_LISTED else ""
    return ", ".join(shown[:MAX_LISTED]) + more


def _key_name(key: str) -> str:
    return key.rsplit("@", 1)[0] if key.rfind("@") > 0 else key


def changes_between(new: Lockfile, old: Lockfile | None) -> Changes:
    """What ``new`` adds, changes and removes compared with ``old`` (None: an empty tree).
    Packages from outside a registry (links, folders, git) count like the others."""
    before = {p.key for p in old.packages} if old is not None else set()
    after = {p.key for p in new.packages}
    old_names: dict[str, list[str]] = {}
    for key in sorted(before):
        old_names.setdefault(_key_name(key), []).append(key)
    new_names = {_key_name(k) for k in after}
    added: list[str] = []
    changed: list[tuple[str, str]] = []
    for key in sorted(after - before):
        previous = [k for k in old_names.get(_key_name(key), []) if k not in after]
        if previous:
            changed.append((previous[0], key))
        elif _key_name(key) not in old_names:
            added.append(key)
    removed = [k for k in sorted(before - after) if _key_name(k) not in new_names]
    by_key = {p.key: p for p in new.packages}
    direct = frozenset(_key_name(k) for k in added if not by_key[k].dependents)
    return Changes(tuple(added), tuple(changed), tuple(removed), direct)


def show(report: Report, changes: Changes | None, *, color: bool) -> None:
    """Print, on stderr, what the wrapper's user needs to decide (see the module docstring)."""
    from npmguard.report.common import scrub
    from npmguard.report.text_format import heading, render_packages

    if changes is not None:
        _say(changes.describe())
    new = changes.new_keys if changes is not None else frozenset()
    counted = {pv.package.key for pv in report.packages if pv.verdict is not Verdict.OK}
    shown = new | counted
    detail = render_packages(report, shown, color=color)
    if detail:
        sys.stderr.write(heading(report, color=color) + "\n" + detail + "\n")
    rest = [pv for pv in report.packages if not detail or pv.package.key not in shown]
    if rest:
        noted = sum(1 for pv in rest if pv.findings)
        many = _count(len(rest), "package")
        what = f"the other {many} of the tree" if detail else f"checked {many}"
        notes = f" ({noted} with notes: `npmguard check` lists them)" if noted else ""
        _say(f"{what}: ok{notes}")
    for gap in report.coverage:
        reason = scrub(gap.reason)
        _say(
            f"not checked for {_count(gap.packages, 'package')}: {reason} ({', '.join(gap.rules)})"
        )
    for note in report.notes:
        _say(f"{note.kind}: {scrub(note.message)}")


def counted_findings(report: Report, level: Level) -> dict[str, list[str]]:
    """name@version -> the rules whose findings on it reach ``level`` (allowed ones never)."""
    out: dict[str, list[str]] = {}
    for pv in report.packages:
        rules = sorted({f.rule for f in pv.findings if f.effective_level >= level})
        if rules:
            out[pv.package.key] = rules
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _say(message: str) -> None:
    print(f"npmguard: {message}", file=sys.stderr, flush=True)
