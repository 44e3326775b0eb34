"""What every output format shares: a deterministic order, lockfile lookup, safe strings.

Formatters never sort or look things up on their own, so text, JSON and SARIF list the same
findings in the same order and agree on which lockfile each one belongs to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from npmguard.model import Finding, Lockfile, PackageVerdict, Report, SourceKind, Verdict
from npmguard.urls import redact


@dataclass(frozen=True, slots=True)
class PackageRow:
    """One package verdict with the index of the lockfile it was read from."""

    verdict: PackageVerdict
    lockfile: int | None  # index into ``Report.lockfiles``


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding with the index of its lockfile and of the package row it belongs to."""

    finding: Finding
    lockfile: int | None
    package: int | None  # index into ``Layout.packages``


@dataclass(frozen=True, slots=True)
class Layout:
    """The report in the order every format prints it."""

    report: Report
    packages: tuple[PackageRow, ...]
    findings: tuple[FindingRow, ...]
    by_package: Mapping[int, tuple[int, ...]]  # package row -> its finding rows

    def findings_of(self, package_index: int) -> tuple[int, ...]:
        return self.by_package.get(package_index, ())

    def lockfile_path(self, index: int | None) -> str | None:
        if index is None:
            return None
        return display_path(self.report.lockfiles[index].path)


# what a terminal acts on instead of showing: C0 and C1 controls (ESC starts a colour or a
# cursor move, a newline starts a forged line), and Unicode's bidi and line separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\u202e``): untrusted
    strings (package names from a lockfile, scripts and metadata from the registry) can then
    neither colour, erase nor forge lines of a report or a CI log."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: ascii(m.group(0))[1:-1], text)


def scrub(text: str) -> str:
    """``text`` with every URL in it redacted (credentials and query values not known to be
    harmless; a URL is ``scheme://`` and what follows up to a space or quote), and made
    :func:`printable`.

    Linear in ``len(text)``: every ``://`` is found with ``str.find`` and its scheme read
    backwards, never further than the end of the URL before it (a regex that looks for the
    scheme first backtracks over a 40,000-letter package name for seconds).
    """
    out: list[str] = []
    done = 0  # text[:done] is in ``out`` already
    at = text.find("://")
    while at >= 0:
        start = at
        while start > done and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        while start < at and text[start] not in _LETTERS:
            start += 1  # a scheme starts with a letter
        if start == at:  # no scheme before this "://"
            at = text.find("://", at + 3)
            continue
        tail = _URL_TAIL.match(text, at + 3)
        end = tail.end() if tail is not None else at + 3
        out.append(text[done:start])
        out.append(redact(text[start:end]))
        done = end
        at = text.find("://", end)
    out.append(text[done:])
    return printable("".join(out))


_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SCHEME_CHARS = _LETTERS | frozenset("0123456789+.-")
_URL_TAIL = re.compile(r"[^\s\"'<>]*")  # one character class: no backtracking


def display_path(path: Path) -> str:
    """A lockfile path as shown in reports: relative to the working directory when inside it."""
    cwd = os.getcwd()
    key = (str(path), cwd)
    if key not in _DISPLAY:
        _DISPLAY[key] = _display_path(path)
    return _DISPLAY[key]


# reports ask for the same few lockfile paths once per package: resolve each only once
_DISPLAY: dict[tuple[str, str], str] = {}


def _display_path(path: Path) -> str:
    try:
        resolved = path.resolve()
        cwd = Path.cwd().resolve()
    except OSError:  # pragma: no cover - a vanished working directory
        return path.as_posix()
    if resolved == cwd or cwd in resolved.parents:
        return resolved.relative_to(cwd).as_posix()
    return path.as_posix() if not path.is_absolute() else resolved.as_posix()


def short_tree_path(path: str) -> str:
    """``node_modules/a/node_modules/@s/b`` -> ``a > @s/b``: a package's place in the tree."""
    parts = [p for p in path.split("node_modules/") if p]
    return printable(" > ".join(p.rstrip("/") for p in parts) or path)


def _lockfile_indexes(report: Report) -> list[int | None]:
    """For each package verdict, the lockfile it was read from (same object, else equal)."""
    by_id: dict[int, int] = {}
    for i, lockfile in enumerate(report.lockfiles):
        for p in lockfile.packages:
            by_id.setdefault(id(p), i)
    out: list[int | None] = []
    for pv in report.packages:
        index = by_id.get(id(pv.package))
        if index is None:
            index = next(
                (i for i, lf in enumerate(report.lockfiles) if pv.package in lf.packages), None
            )
        out.append(index)
    return out


def _lockfile_for_key(lockfiles: tuple[Lockfile, ...], key: str) -> int | None:
    for i, lockfile in enumerate(lockfiles):
        if any(p.key == key for p in lockfile.packages):
            return i
    return 0 if len(lockfiles) == 1 else None


def _finding_order(row: FindingRow) -> tuple[int, int, str, str, int, str, int, str]:
    f = row.finding
    return (
        -1 if row.lockfile is None else row.lockfile,
        -1 if row.package is None else row.package,
        f.package,
        f.version,
        -int(f.level),
        f.rule,
        f.line or 0,
        f.message,
    )


def layout(report: Report) -> Layout:
    """Order the report: packages by lockfile, name, version; findings follow their package."""
    rows = [
        PackageRow(pv, index)
        for pv, index in zip(report.packages, _lockfile_indexes(report), strict=True)
    ]
    rows.sort(
        key=lambda r: (
            -1 if r.lockfile is None else r.lockfile,
            r.verdict.package.name,
            r.verdict.package.version,
            str(r.verdict.package.source),
            r.verdict.package.paths,
        )
    )
    owner: dict[int, int] = {}
    for index, row in enumerate(rows):
        for f in row.verdict.findings:
            owner.setdefault(id(f), index)
    findings: list[FindingRow] = []
    for f in report.findings:
        pkg_index = owner.get(id(f))
        if pkg_index is None:
            for index, row in enumerate(rows):
                if row.verdict.package.key == f.key and f in row.verdict.findings:
                    pkg_index = index
                    break
        lockfile = (
            rows[pkg_index].lockfile
            if pkg_index is not None
            else _lockfile_for_key(report.lockfiles, f.key)
        )
        findings.append(FindingRow(f, lockfile, pkg_index))
    findings.sort(key=_finding_order)
    by_package: dict[int, list[int]] = {}
    for index, frow in enumerate(findings):
        if frow.package is not None:
            by_package.setdefault(frow.package, []).append(index)
    return Layout(
        report, tuple(rows), tuple(findings), {k: tuple(v) for k, v in by_package.items()}
    )


def verdict_counts(report: Report) -> dict[Verdict, int]:
    return {v: sum(1 for p in report.packages if p.verdict is v) for v in Verdict}


def utc_stamp(when: datetime) -> str:
    """``when`` as RFC 3339 UTC to the second (``2021-11-04T23:59:59Z``)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_checked(report: Report) -> frozenset[str]:
    """The packages (name@version) with an ``ok`` verdict that the registry rules could not
    judge at all: no registry facts (offline with nothing cached, a registry error). Their
    "ok" means only that the rules needing nothing from the registry found nothing."""
    from npmguard.coverage import NO_FACTS
    from npmguard.facts import FactsStatus

    if not any(g.reason.startswith(NO_FACTS) for g in report.coverage):
        return frozenset()  # no registry rule ran (--lockfile-only), or every package had facts
    out = set()
    for pv in report.packages:
        pkg = pv.package
        if pv.verdict is not Verdict.OK or not pkg.on_registry or pkg.source is SourceKind.LINK:
            continue
        facts = report.facts.get(pkg.key)
        if facts is None or facts.status is FactsStatus.UNKNOWN:
            out.add(pkg.key)
    return frozenset(out)


def sentence(text: str) -> str:
    """``text`` ending with a full stop (SARIF asks messages to end with one)."""
    text = text.strip()
    if not text:
        return text
    return text if text[-1] in ".!?" else text + "."
