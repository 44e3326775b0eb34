"""Install scripts under the wrapper: only scripts approved by the policy or by npm's own
``allowScripts`` ever run, whatever the npm version.

npm installs with ``--ignore-scripts``; afterwards ``npm rebuild <approved…>`` runs the
approved packages' install scripts, and the project's own lifecycle scripts run as npm
would have run them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from npmguard.model import Report
from npmguard.wrapper.args import NpmInvocation
from npmguard.wrapper.npmrun import run_npm

ROOT_LIFECYCLE = (
    "preinstall",
    "install",
    "postinstall",
    "prepublish",
    "preprepare",
    "prepare",
    "postprepare",
)


@dataclass(frozen=True)
class ScriptPlan:
    approved: tuple[str, ...]  # name@version, and why
    approved_names: tuple[str, ...]
    skipped: tuple[str, ...]


def approved_scripts(report: Report, root: Path) -> ScriptPlan:
    """Which packages with install scripts may run them.

    Approved: an ``allowScripts`` entry in package.json says true for it, or the policy allows
    the ``install-script`` finding for it. A package whose ``install-script`` finding stands
    (or which has an install script and no approval) is skipped.
    """
    from npmguard.allow_scripts import approval_for

    approved: list[str] = []
    names: list[str] = []
    skipped: list[str] = []
    allowed_by_policy = {
        f.key for f in report.findings if f.rule == "install-script" and f.allowed_by is not None
    }
    allow_scripts = _allow_scripts(root)
    for verdict in report.packages:
        pkg = verdict.package
        if not pkg.has_install_script:
            continue
        why = approval_for(pkg.name, pkg.version, allow_scripts)
        if why is None and pkg.key in allowed_by_policy:
            why = "policy allow entry"
        if why:
            approved.append(f"{pkg.key} ({why})")
            names.append(pkg.name)
        else:
            skipped.append(pkg.key)
    return ScriptPlan(tuple(approved), tuple(dict.fromkeys(names)), tuple(skipped))


def _allow_scripts(root: Path) -> dict[str, bool]:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    raw = data.get("allowScripts") if isinstance(data, dict) else None
    return {str(k): bool(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def run_approved_scripts(plan: ScriptPlan, root: Path, inv: NpmInvocation) -> int:
    if plan.approved:
        print(
            "npmguard: running install scripts of: " + ", ".join(plan.approved),
            file=sys.stderr,
            flush=True,
        )
        code = run_npm(["rebuild", *plan.approved_names], cwd=root)
        if code != 0:
            return code
    try:
        manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
    if not isinstance(scripts, dict) or inv.flag("ignore-scripts"):
        return 0
    for name in ROOT_LIFECYCLE:
        if name in scripts:
            code = run_npm(["run-script", name], cwd=root)
            if code != 0:
                return code
    return 0
