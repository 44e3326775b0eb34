"""Install scripts under the wrapper: only scripts approved by the policy or by npm's own
``allowScripts`` ever run, whatever the npm version.

npm installs with ``--ignore-scripts``; afterwards ``npm rebuild <approved…>`` runs the
approved packages' install scripts, and the project's own lifecycle scripts run as npm
would have run them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from npmguard.model import Report
from npmguard.wrapper.args import NpmInvocation
from npmguard.wrapper.npmrun import run_npm
from npmguard.wrapper.project import read_json

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
    approved_specs: tuple[str, ...]  # name@version, for `npm rebuild`
    skipped: tuple[str, ...]


def approved_scripts(report: Report, root: Path) -> ScriptPlan:
    """Which packages with install scripts may run them.

    Approved: an ``allowScripts`` entry in package.json says true for it, or the policy allows
    the ``install-script`` finding for it. A package whose ``install-script`` finding stands
    (or which has an install script and no approval) is skipped.
    """
    from npmguard.allow_scripts import script_approval
    from npmguard.project import read_project

    approved: list[str] = []
    specs: list[str] = []
    skipped: list[str] = []
    allowed_by_policy = {
        f.key for f in report.findings if f.rule == "install-script" and f.allowed_by is not None
    }
    allow_scripts = read_project(root).allow_scripts
    for verdict in report.packages:
        pkg = verdict.package
        if not pkg.has_install_script:
            continue
        if script_approval(pkg.name, pkg.version, allow_scripts):
            why: str | None = "allowScripts in package.json"
        elif pkg.key in allowed_by_policy:
            why = "policy allow entry"
        else:
            why = None
        if why:
            approved.append(f"{pkg.key} ({why})")
            specs.append(pkg.key)  # name@version: other versions of the name stay unapproved
        else:
            skipped.append(pkg.key)
    return ScriptPlan(tuple(approved), tuple(dict.fromkeys(specs)), tuple(skipped))


def run_approved_scripts(plan: ScriptPlan, root: Path, inv: NpmInvocation) -> int:
    if plan.approved:
        print(
            "npmguard: running install scripts of: " + ", ".join(plan.approved),
            file=sys.stderr,
            flush=True,
        )
        code = run_npm(["rebuild", *plan.approved_specs], cwd=root)
        if code != 0:
            return code
    scripts = read_json(root / "package.json").get("scripts")
    if not isinstance(scripts, dict) or inv.flag("ignore-scripts"):
        return 0
    for name in ROOT_LIFECYCLE:
        if name in scripts:
            code = run_npm(["run-script", name], cwd=root)
            if code != 0:
                return code
    return 0
