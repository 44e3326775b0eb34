"""The text report for people: blocked packages first, then warnings, then a count of the rest.

Each finding says what rule saw what (evidence) and what to do. Colour (ANSI) only when asked;
the caller decides (a terminal, no ``NO_COLOR``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timezone

from npmguard.model import Level, Report, SourceKind, Verdict
from npmguard.report.common import (
    Layout,
    PackageRow,
    display_path,
    layout,
    not_checked,
    printable,
    scrub,
    short_tree_path,
    verdict_counts,
)

MAX_PATHS = 2

_STYLES = {
    "block": "1;31",
    "warn": "1;33",
    "info": "36",
    "off": "2",
    "ok": "32",
    "rule": "1",
    "dim": "2",
    "head": "1",
}
_MARKS = {Level.BLOCK: "x", Level.WARN: "!", Level.INFO: "i", Level.OFF: "-"}

Paint = Callable[[str, str], str]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _plain(text: str, style: str) -> str:
    return text


def _ansi(text: str, style: str) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if text else text


def render(report: Report, *, color: bool = False) -> str:
    """The report as lines of text, ending with a one-line summary and a newline."""
    paint: Paint = _ansi if color else _plain
    lay = layout(report)
    out: list[str] = [_heading(report, paint)]
    out += _sections(lay, None, paint)
    noted = [
        i
        for i, r in enumerate(lay.packages)
        if r.verdict.verdict is Verdict.OK and lay.findings_of(i)
    ]
    counts = verdict_counts(report)
    unchecked = len(not_checked(report))
    out.append("")
    ok_line = f"ok: {_count(counts[Verdict.OK] - unchecked, 'package')}"
    ok_line += f" ({len(noted)} with notes above)" if noted else " with nothing to report"
    if unchecked:
        ok_line += f"; {unchecked} not checked (no registry facts: see NOT CHECKED)"
    out.append(paint(ok_line, "ok"))
    out += _coverage_lines(report, paint)
    if report.notes:
        out.append("")
        out.append(paint("POLICY NOTES", "head"))
        for note in report.notes:
            where = f" [{scrub(note.source)}]" if note.source else ""
            out.append(f"  {note.kind}: {scrub(note.message)}{paint(where, 'dim')}")
    out.append("")
    out.append(_summary(report, paint))
    return "\n".join(out) + "\n"


def heading(report: Report, *, color: bool = False) -> str:
    """The report's first line: the tool and the lockfiles read."""
    return _heading(report, _ansi if color else _plain)


def render_packages(report: Report, keys: Collection[str] | None, *, color: bool = False) -> str:
    """The BLOCKED, WARNINGS and OK WITH NOTES sections as :func:`render` prints them, for the
    packages (name@version) ``keys`` names only (all when None); "" when none of them has a
    finding. The npm wrapper shows what a command adds this way."""
    paint: Paint = _ansi if color else _plain
    lines = _sections(layout(report), keys, paint)
    return "\n".join(lines) + "\n" if lines else ""


def _sections(lay: Layout, keys: Collection[str] | None, paint: Paint) -> list[str]:
    def wanted(row: PackageRow) -> bool:
        return keys is None or row.verdict.package.key in keys

    out: list[str] = []
    groups = (
        (Verdict.BLOCK, "BLOCKED", "block"),
        (Verdict.WARN, "WARNINGS", "warn"),
    )
    for verdict, title, style in groups:
        rows = [i for i, r in enumerate(lay.packages) if r.verdict.verdict is verdict and wanted(r)]
        if rows:
            out.append("")
            out.append(paint(f"{title} ({len(rows)})", style))
            out += _package_block(lay, rows, paint)
    noted = [
        i
        for i, r in enumerate(lay.packages)
        if r.verdict.verdict is Verdict.OK and lay.findings_of(i) and wanted(r)
    ]
    if noted:
        out.append("")
        out.append(paint(f"OK WITH NOTES ({len(noted)})", "info"))
        out += _package_block(lay, noted, paint)
    loose = [
        i
        for i, row in enumerate(lay.findings)
        if row.package is None and (keys is None or row.finding.key in keys)
    ]
    if loose:
        out.append("")
        out.append(paint(f"OTHER FINDINGS ({len(loose)})", "head"))
        for index in loose:
            out += _finding_lines(lay, index, paint, indent="  ")
    return out


def _coverage_lines(report: Report, paint: Paint) -> list[str]:
    """What could not be checked: "ok" must never hide "could not tell"."""
    if not report.coverage:
        return [paint("coverage: every enabled rule could judge every package", "dim")]
    out = ["", paint(f"NOT CHECKED ({len(report.coverage)})", "head")]
    for gap in report.coverage:
        rules = ", ".join(gap.rules)
        out.append(f"  {_count(gap.packages, 'package')}: {scrub(gap.reason)}")
        examples = f"; e.g. {printable(', '.join(gap.examples))}" if gap.examples else ""
        out.append(paint(f"    rules: {rules}{examples}", "dim"))
    return out


def _heading(report: Report, paint: Paint) -> str:
    tool = f"npmguard {report.tool_version}".strip()
    files = ", ".join(
        f"{_lockfile_label(report, i)} ({lf.format}, {_count(len(lf.packages), 'package')})"
        for i, lf in enumerate(report.lockfiles)
    )
    line = paint(f"{tool}: {files or 'no lockfile'}", "head")
    if report.as_of is not None:
        line += "\n" + paint(
            f"as of {_moment(report.as_of)} (--as-of): judged on what the registry showed then",
            "dim",
        )
    return line


def _moment(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _lockfile_label(report: Report, index: int) -> str:
    return display_path(report.lockfiles[index].path)


def _flags(row: PackageRow) -> str:
    pkg = row.verdict.package
    flags: list[str] = []
    if pkg.source is not SourceKind.REGISTRY:
        flags.append(str(pkg.source))
    flags.append("dev" if pkg.dev else "dev-optional" if pkg.dev_optional else "prod")
    if pkg.optional:
        flags.append("optional")
    if pkg.peer:
        flags.append("peer")
    if pkg.bundled:
        flags.append("bundled")
    if pkg.has_install_script:
        flags.append("install-script")
    flags += [f"as {alias}" for alias in pkg.aliases]
    return ", ".join(flags)


def _where(row: PackageRow, lay: Layout) -> str:
    paths = [short_tree_path(p) for p in row.verdict.package.paths]
    shown = "; ".join(paths[:MAX_PATHS])
    if len(paths) > MAX_PATHS:
        shown += f" (+{len(paths) - MAX_PATHS} more)"
    if len(lay.report.lockfiles) > 1 and row.lockfile is not None:
        shown = f"{lay.lockfile_path(row.lockfile)}: {shown}"
    return shown


def _package_block(lay: Layout, indexes: Sequence[int], paint: Paint) -> list[str]:
    rows = [lay.packages[i] for i in indexes]
    keys = [printable(r.verdict.package.key) for r in rows]
    flags = [_flags(r) for r in rows]
    key_width = max(len(k) for k in keys)
    flag_width = max(len(f) for f in flags)
    out: list[str] = []
    for index, row, key, flag in zip(indexes, rows, keys, flags, strict=True):
        style = str(row.verdict.verdict)
        line = f"  {paint(key.ljust(key_width), style)}  {flag.ljust(flag_width)}  "
        out.append((line + paint(_where(row, lay), "dim")).rstrip())
        for finding_index in lay.findings_of(index):
            out += _finding_lines(lay, finding_index, paint, indent="    ")
    return out


def _finding_lines(lay: Layout, index: int, paint: Paint, *, indent: str) -> list[str]:
    f = lay.findings[index].finding
    level = str(f.level)
    mark = "~" if f.allowed_by is not None else _MARKS[f.level]
    head = f"{indent}{mark} {paint(f.rule, 'rule')} [{paint(level, level)}]"
    if f.line is not None:
        head += paint(f" line {f.line}", "dim")
    lines = [head, f"{indent}    {scrub(f.message)}"]
    if f.allowed_by is not None:
        lines.append(f"{indent}    {paint('allowed: ' + scrub(f.allowed_by), 'ok')}")
    for e in f.evidence:
        source = paint(f" [{scrub(e.source)}]", "dim") if e.source else ""
        lines.append(f"{indent}    {printable(e.label)}: {scrub(e.value)}{source}")
    if f.hint:
        lines.append(f"{indent}    what to do: {scrub(f.hint)}")
    return lines


def _summary(report: Report, paint: Paint) -> str:
    counts = verdict_counts(report)
    unchecked = len(not_checked(report))
    allowed = sum(1 for f in report.findings if f.allowed_by is not None)
    findings = _count(len(report.findings), "finding") + (
        f" ({allowed} allowed)" if allowed else ""
    )
    verdict = str(report.verdict)
    return (
        f"verdict: {paint(verdict.upper(), verdict)}: {_count(len(report.packages), 'package')}, "
        f"{counts[Verdict.BLOCK]} blocked, {counts[Verdict.WARN]} warned, "
        f"{counts[Verdict.OK] - unchecked} ok"
        + (f", {unchecked} not checked" if unchecked else "")
        + f"; {findings}"
    )
