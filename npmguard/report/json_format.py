"""The JSON report: a stable, versioned document for other tools (docs/json-report.md).

Bump ``SCHEMA_VERSION`` (minor for added fields, major for removed or changed ones) and
``npmguard/schemas/report.schema.json`` together with any change here.
"""

from __future__ import annotations

import json
from typing import Any

from npmguard.model import Report, Verdict
from npmguard.report.common import (
    Layout,
    layout,
    not_checked,
    scrub,
    utc_stamp,
    verdict_counts,
)
from npmguard.urls import redact

SCHEMA_VERSION = "1.3"  # 1.1: "coverage"; 1.2: "dev_optional"; 1.3: "as_of", "not_checked"
TOOL_NAME = "npmguard"


def render(report: Report, *, color: bool = False) -> str:
    """The report as indented JSON with a trailing newline. ``color`` is ignored."""
    del color
    return json.dumps(to_document(report), indent=2, ensure_ascii=True) + "\n"


def to_document(report: Report) -> dict[str, Any]:
    """The JSON document as Python values, keys in their documented order."""
    lay = layout(report)
    counts = verdict_counts(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "verdict": str(report.verdict),
        "as_of": None if report.as_of is None else utc_stamp(report.as_of),
        "lockfiles": [
            {
                "path": lay.lockfile_path(i),
                "format": lockfile.format,
                "lockfile_version": lockfile.lockfile_version,
                "packages": len(lockfile.packages),
            }
            for i, lockfile in enumerate(report.lockfiles)
        ],
        "summary": {
            "packages": len(report.packages),
            "block": counts[Verdict.BLOCK],
            "warn": counts[Verdict.WARN],
            "ok": counts[Verdict.OK],
            "not_checked": len(not_checked(report)),
            "findings": len(report.findings),
            "allowed": sum(1 for f in report.findings if f.allowed_by is not None),
        },
        "packages": _packages(lay),
        "findings": _findings(lay),
        "notes": [
            {"kind": n.kind, "message": scrub(n.message), "source": scrub(n.source)}
            for n in report.notes
        ],
        "coverage": [
            {
                "reason": scrub(g.reason),
                "rules": list(g.rules),
                "packages": g.packages,
                "examples": list(g.examples),
            }
            for g in report.coverage
        ],
    }


def _packages(lay: Layout) -> list[dict[str, Any]]:
    out = []
    for index, row in enumerate(lay.packages):
        pkg = row.verdict.package
        out.append(
            {
                "name": pkg.name,
                "version": pkg.version,
                "verdict": str(row.verdict.verdict),
                "source": str(pkg.source),
                "dev": pkg.dev,
                "optional": pkg.optional,
                "dev_optional": pkg.dev_optional,
                "peer": pkg.peer,
                "bundled": pkg.bundled,
                "has_install_script": pkg.has_install_script,
                "aliases": list(pkg.aliases),
                "resolved": redact(pkg.resolved) or None,
                "integrity": pkg.integrity,
                "lockfile": lay.lockfile_path(row.lockfile),
                "line": pkg.line,
                "paths": list(pkg.paths),
                "findings": list(lay.findings_of(index)),
            }
        )
    return out


def _findings(lay: Layout) -> list[dict[str, Any]]:
    out = []
    for row in lay.findings:
        f = row.finding
        out.append(
            {
                "rule": f.rule,
                "level": str(f.level),
                "package": f.package,
                "version": f.version,
                "message": scrub(f.message),
                "evidence": [
                    {"label": e.label, "value": scrub(e.value), "source": scrub(e.source)}
                    for e in f.evidence
                ],
                "hint": scrub(f.hint),
                "lockfile": lay.lockfile_path(row.lockfile),
                "line": f.line,
                "allowed": f.allowed_by is not None,
                "allowed_reason": f.allowed_by,
                "score": f.score,
            }
        )
    return out
