"""SARIF 2.1.0 for code-scanning UIs: rule metadata from the rule registry, results located
at the package's entry in the lockfile. Checked in tests with Microsoft's SARIF validator.

Locations are relative to the repository's root (``uriBaseId`` ``%SRCROOT%``, defined in
``originalUriBaseIds``), whatever folder npmguard ran in, so code scanning attaches a finding
to ``apps/web/package-lock.json`` even when the check ran in ``apps/web``. Outside any git
work tree they are relative to the working folder (no ``originalUriBaseIds``: the consumer
decides), and a lockfile outside both is an absolute ``file:`` URI. npmguard has no public
home yet, so the log names none: no ``informationUri`` and no ``helpUri``; each rule's full
help travels in ``help``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from npmguard.model import Finding, Gap, Level, PolicyNote, Report
from npmguard.policy.model import DENY_RULE
from npmguard.report.common import (
    FindingRow,
    Layout,
    display_path,
    layout,
    printable,
    scrub,
    sentence,
    utc_stamp,
)
from npmguard.rules.base import Rule, all_rules

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "npmguard"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "npmguardFinding/v1"

_LEVELS = {Level.BLOCK: "error", Level.WARN: "warning", Level.INFO: "note", Level.OFF: "none"}

# Findings the policy itself makes, not a registered rule: described where they are defined,
# so SARIF viewers show something better than the id.
_POLICY_FINDINGS = {DENY_RULE.id: DENY_RULE}


def render(report: Report, *, color: bool = False) -> str:
    """The report as a SARIF 2.1.0 log (indented JSON, trailing newline)."""
    del color
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=True) + "\n"


def to_sarif(report: Report) -> dict[str, Any]:
    lay = layout(report)
    rules, index = _rules(lay)
    root = _source_root(report)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": report.tool_version or "0",
                "rules": rules,
            }
        },
    }
    if report.as_of is not None:  # --as-of: the moment judged, RFC 3339 UTC
        run["properties"] = {"asOf": utc_stamp(report.as_of)}
    if root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}}
    run["columnKind"] = "unicodeCodePoints"
    run["results"] = [_result(row, lay, index, root) for row in lay.findings]
    notifications = [_gap_notification(g) for g in report.coverage]
    notifications += [_note_notification(n) for n in report.notes]
    if notifications:
        # what could not be judged, and what the policy wants said: the run's notifications
        run["invocations"] = [
            {"executionSuccessful": True, "toolExecutionNotifications": notifications}
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _gap_notification(g: Gap) -> dict[str, Any]:
    examples = f"; e.g. {printable(', '.join(g.examples))}" if g.examples else ""
    return {
        "level": "warning",
        "message": {
            "text": f"Not checked for {g.packages} package(s): {scrub(g.reason)} "
            f"(rules: {', '.join(g.rules)}{examples})."
        },
        "descriptor": {"id": "coverage"},
    }


# policy notes that mean the run is not what the policy says it should be; the rest inform
_WARNING_NOTES = frozenset({"stale-policy", "expired-allow"})


def _note_notification(note: PolicyNote) -> dict[str, Any]:
    where = f" [{scrub(note.source)}]" if note.source else ""
    return {
        "level": "warning" if note.kind in _WARNING_NOTES else "note",
        "message": {"text": sentence(f"{scrub(note.message)}{where}")},
        "descriptor": {"id": note.kind},
    }


def sarif_level(level: Level) -> str:
    return _LEVELS[level]


def rule_name(rule_id: str) -> str:
    """``lock-insecure-url`` -> ``LockInsecureUrl``: SARIF wants a Pascal-case friendly name.

    SARIF1001 requires ``name`` to differ from ``id`` (case-insensitively), so a one-word id
    such as ``deprecated`` becomes ``DeprecatedRule``.
    """
    name = "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-"))
    return f"{name}Rule" if name.lower() == rule_id.lower() else name


def _rule_descriptor(cls: type[Rule]) -> dict[str, Any]:
    help_text = cls.help or cls.description
    markdown = f"**{cls.description}**\n\n{help_text}" if cls.help else cls.description
    return {
        "id": cls.id,
        "name": rule_name(cls.id),
        "shortDescription": {"text": sentence(cls.description)},
        "fullDescription": {"text": sentence(help_text)},
        "help": {"text": sentence(help_text), "markdown": markdown},
        "defaultConfiguration": {"level": sarif_level(cls.level)},
        "properties": {
            "family": cls.family,
            "tags": ["security", "supply-chain", _tag(cls.family)],
            "needs": sorted(str(n) for n in cls.needs),
        },
    }


def _synthesized_descriptor(rule_id: str, level: Level) -> dict[str, Any]:
    known = _POLICY_FINDINGS.get(rule_id)
    if known is not None:
        family, short, full = known.family, known.description, known.help
    else:
        family, short, full = "other", f"Findings of {rule_id}.", f"Findings reported as {rule_id}."
    return {
        "id": rule_id,
        "name": rule_name(rule_id),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": full, "markdown": full},
        "defaultConfiguration": {"level": sarif_level(level)},
        "properties": {"family": family, "tags": ["security", "supply-chain", _tag(family)]},
    }


def _tag(family: str) -> str:
    return family.strip().lower().replace(" ", "-")


def _rules(lay: Layout) -> tuple[list[dict[str, Any]], dict[str, int]]:
    registry = all_rules()
    rules = [_rule_descriptor(cls) for cls in registry.values()]
    extra: dict[str, Level] = {}
    for row in lay.findings:
        rid = row.finding.rule
        if rid not in registry:
            extra[rid] = max(extra.get(rid, Level.OFF), row.finding.level)
    rules += [_synthesized_descriptor(rid, extra[rid]) for rid in sorted(extra)]
    return rules, {r["id"]: i for i, r in enumerate(rules)}


def fingerprint(finding: Finding) -> str:
    """Stable across runs and line moves: the rule, the package and its version."""
    text = "\0".join((finding.rule, finding.package, finding.version))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _message(f: Finding) -> str:
    text = sentence(f"{f.key}: {scrub(f.message)}")
    if f.hint:
        text += " What to do: " + sentence(scrub(f.hint))
    return text


def _source_root(report: Report) -> Path | None:
    """The git work tree of the first lockfile read from a file (what ``%SRCROOT%`` means)."""
    from npmguard.gitutil import repository_root

    for lockfile in report.lockfiles:
        if lockfile.path.is_absolute() or lockfile.path.parent.exists():
            found = repository_root(lockfile.path.parent)
            if found is not None:
                return found
    return None


def _artifact(path: Path, root: Path | None) -> dict[str, Any]:
    """Where a lockfile is: relative to the repository root, else to the working folder,
    else an absolute file URI."""
    if root is not None and str(path) != "-":  # a lockfile read from stdin has no place
        full = Path(os.path.abspath(path))
        with_links = full.resolve() if full.exists() else full
        for candidate in (with_links, full):
            if candidate.is_relative_to(root):
                return {"uri": candidate.relative_to(root).as_posix(), "uriBaseId": SRCROOT}
    shown = display_path(path)
    if Path(shown).is_absolute():
        return {"uri": Path(shown).as_uri()}
    return {"uri": shown, "uriBaseId": SRCROOT}


def _location(row: FindingRow, lay: Layout, root: Path | None) -> dict[str, Any] | None:
    if row.lockfile is None:
        return None
    artifact = _artifact(lay.report.lockfiles[row.lockfile].path, root)
    physical: dict[str, Any] = {
        "artifactLocation": artifact,
        "region": {"startLine": _line(row, lay)},
    }
    return {
        "physicalLocation": physical,
        "logicalLocations": [{"name": row.finding.package, "fullyQualifiedName": row.finding.key}],
    }


def _line(row: FindingRow, lay: Layout) -> int:
    """The finding's line, else its package's entry, else line 1: the lockfile as a whole.

    SARIF allows a location without a region, but the validator warns (SARIF2017) and
    code-scanning UIs cannot show it, so an unknown line points at the top of the file.
    """
    candidates = [row.finding.line]
    if row.package is not None:
        candidates.append(lay.packages[row.package].verdict.package.line)
    return next((n for n in candidates if n is not None and n >= 1), 1)


def _result(
    row: FindingRow, lay: Layout, index: dict[str, int], root: Path | None
) -> dict[str, Any]:
    f = row.finding
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": sarif_level(f.level),
        "message": {"text": _message(f)},
    }
    location = _location(row, lay, root)
    if location is not None:
        result["locations"] = [location]
    result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint(f)}
    if f.allowed_by is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": scrub(f.allowed_by)}
        ]
    properties: dict[str, Any] = {
        "package": f.package,
        "version": f.version,
        "evidence": [
            {"label": e.label, "value": scrub(e.value), "source": scrub(e.source)}
            for e in f.evidence
        ],
    }
    if f.hint:
        properties["hint"] = scrub(f.hint)
    if f.score is not None:
        properties["score"] = f.score
    result["properties"] = properties
    return result
