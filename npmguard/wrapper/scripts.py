"""Install scripts under the wrapper: npm runs them when it would, the gate lets through only
the approved ones.

A dependency's install scripts are approved when npm's own ``allowScripts`` allows that exact
package (npm's matching, by the locked ``resolved`` source: see ``wrapper.npmcli``), or when
the policy allows its ``install-script`` finding and ``allowScripts`` does not deny it. npm
runs every script through ``--script-shell``, which names the gate (``script_gate.py``); the
wrapper says afterwards what ran and what did not, from the gate's log, never beforehand.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from npmguard.model import Report
from npmguard.wrapper.npmcli import NpmCommand, ScriptVerdicts, TreeNode
from npmguard.wrapper.npmrun import run_npm

GATE = Path(__file__).with_name("script_gate.py")


@dataclass(frozen=True)
class Approval:
    node: TreeNode
    why: str  # "allowScripts (package.json)" or "policy allow entry"


@dataclass(frozen=True)
class ScriptPlan:
    """Which dependencies of the tree about to be installed may run install scripts."""

    approved: tuple[Approval, ...]
    own_dirs: tuple[Path, ...]  # the project's own folders: root, workspaces, linked folders
    nodes: tuple[TreeNode, ...]  # every package of the tree, to name what the gate saw
    project: Path | None = None  # the project the tree is installed in (None: npx, -g)

    def describe(self, record: GateRecord) -> tuple[str, str]:
        """name@version of the package a script belonged to, and why it was approved."""
        for approval in self.approved:
            if _same(approval.node, record):
                return approval.node.key, approval.why
        for node in self.nodes:
            if _same(node, record):
                return node.key, ""
        return (f"{record.name}@{record.version}" if record.name else record.where), ""


def _same(node: TreeNode, record: GateRecord) -> bool:
    if record.resolved and node.resolved:
        return record.resolved == node.resolved
    return os.path.realpath(node.path) == record.where


def plan_scripts(report: Report | None, verdicts: ScriptVerdicts, root: Path | None) -> ScriptPlan:
    """Approvals for the tree ``verdicts`` describes (``report``: its check, whose policy may
    allow install scripts); ``root`` is the project's folder (None for trees outside any
    project: npx's cache, a global install)."""
    findings = report.findings if report else ()
    by_policy = {f.key for f in findings if f.rule == "install-script" and f.allowed_by is not None}
    approved: list[Approval] = []
    own: list[Path] = [root] if root else []
    for node in verdicts.nodes:
        if node.is_workspace or (node.is_link and "node_modules" not in node.realpath.parts):
            own.append(node.realpath)  # the project's own code: npm runs it as for the root
            continue
        if node.in_bundle:  # npm runs it whatever allowScripts says: the parent's policy decides
            parent = _bundler(node, verdicts.nodes)
            if parent is not None and parent.key in by_policy:
                approved.append(Approval(node, f"policy allow entry (bundled in {parent.key})"))
            continue
        if node.is_link or node.npm_verdict is False:
            continue  # a link's scripts run in its target; denied ones never run
        if node.npm_verdict is True:
            approved.append(Approval(node, f"allowScripts ({verdicts.policy_source})"))
        elif node.key in by_policy:
            approved.append(Approval(node, "policy allow entry"))
    return ScriptPlan(tuple(approved), tuple(own), verdicts.nodes, root)


def _bundler(node: TreeNode, nodes: Iterable[TreeNode]) -> TreeNode | None:
    """The package whose tarball carries the bundled ``node``: the nearest enclosing folder
    that is not itself in a bundle."""
    enclosing = [n for n in nodes if not n.in_bundle and node.location.startswith(n.location + "/")]
    return max(enclosing, key=lambda n: len(n.location), default=None)


@dataclass(frozen=True)
class GateRecord:
    """One script npm was about to run, and what the gate did with it."""

    decision: str  # run, approved, root-off, skipped, refused
    event: str
    where: str  # the package folder (real path)
    resolved: str | None
    name: str | None  # as the package's own package.json says (for display only)
    version: str | None


def with_options(argv: Sequence[str], *options: str) -> list[str]:
    """``argv`` with ``options`` as its last options: before ``--`` (npm reads nothing after
    it), after every option of the user's (the last value wins)."""
    args = list(argv)
    at = args.index("--") if "--" in args else len(args)
    return [*args[:at], *options, *args[at:]]


def _env_value(value: object) -> str | None:
    """A config value as npm exports it to scripts (@npmcli/config set-envs)."""
    if isinstance(value, list):
        return "\n\n".join(str(_env_value(v) or "") for v in value)
    if value is None or value is False:
        return ""
    return "true" if value is True else str(value)


def _restore_env(cmd: NpmCommand, keys: Iterable[str]) -> dict[str, str | None]:
    """What scripts would see for ``keys`` without npmguard's added options: npm exports its
    command-line options to scripts as ``npm_config_*`` variables."""
    out: dict[str, str | None] = {}
    for key in keys:
        name = "npm_config_" + key.replace("-", "_")
        out[name] = _env_value(cmd.cli[key]) if key in cmd.cli else os.environ.get(name)
    return out


def run_gated(
    argv: Sequence[str],
    *,
    cwd: Path,
    cmd: NpmCommand,
    plan: ScriptPlan,
    root: Path | None,
    root_scripts: bool,
    verify: Mapping[str, object] | None = None,
    extra: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> int:
    """Run npm with every script going through the gate; then say what it let through.

    ``extra`` adds options (name -> value) after the user's; scripts the gate lets through
    see the environment npm would give them without those and without the gate.
    """
    added = {"script-shell": "", **(extra or {})}
    with tempfile.TemporaryDirectory(prefix="npmguard-gate-") as tmp:
        work = Path(tmp)
        log = work / "scripts.log"
        config = {
            "shell": cmd.values.get("script-shell") or "/bin/sh",
            "log": str(log),
            "own": sorted({os.path.realpath(p) for p in plan.own_dirs}),
            "root": os.path.realpath(root) if root else None,
            "root_scripts": root_scripts,
            "approved": [
                {
                    "resolved": a.node.resolved,
                    "integrity": a.node.integrity,
                    "path": os.path.realpath(a.node.path),
                }
                for a in plan.approved
            ],
            "verify": dict(verify) if verify else None,
            "restore_env": _restore_env(cmd, added),
        }
        (work / "gate.json").write_text(json.dumps(config), encoding="utf-8")
        shim = work / "script-shell"
        shim.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S {shlex.quote(str(GATE))} "$@"\n',
            encoding="utf-8",
        )
        shim.chmod(0o700)
        options = [f"--{k}={v}" for k, v in (extra or {}).items()]
        code = run_npm(
            with_options(argv, *options, f"--script-shell={shim}"),
            cwd=cwd,
            env={**(env or {}), "NPMGUARD_GATE": str(work / "gate.json")},
            quiet=quiet,
        )
        records = _read_log(log)
    _summarise(records, plan)
    return code


def _read_log(log: Path) -> list[GateRecord]:
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        data = json.loads(line)
        out.append(
            GateRecord(
                data["decision"],
                data["event"],
                data["where"],
                data["resolved"],
                data["name"],
                data["version"],
            )
        )
    return out


def _summarise(records: Iterable[GateRecord], plan: ScriptPlan) -> None:
    ran: dict[tuple[str, str], list[str]] = {}
    skipped: dict[tuple[str, str], list[str]] = {}
    for r in records:
        if r.decision in ("approved", "skipped"):
            into = ran if r.decision == "approved" else skipped
            into.setdefault(plan.describe(r), []).append(r.event)
    if ran:
        _say("ran approved install scripts: " + _listing(ran))
    if skipped:
        _say(
            "install scripts NOT run (approved by neither npm's allowScripts nor the policy): "
            + _listing(skipped)
        )
        bundled = {plan.describe(r)[0] for r in records if _in_bundle(r, plan)}
        keys = sorted({key for key, _ in skipped} - bundled)
        if keys:
            _say(how_to_approve(keys, plan.project))
        if bundled:
            _say(
                f"{', '.join(sorted(bundled))}: bundled in another package, so npm cannot "
                "approve their scripts (allowScripts ignores bundled packages); once you have "
                "reviewed them, allow the package that bundles them in npmguard.toml "
                '(rules = ["install-script"]), or set rebuild-bundle=false so npm never '
                "runs bundled scripts"
            )


def _in_bundle(record: GateRecord, plan: ScriptPlan) -> bool:
    return record.decision == "skipped" and any(
        n.in_bundle and _same(n, record) for n in plan.nodes
    )


def how_to_approve(keys: Sequence[str], project: Path | None) -> str:
    """The next step for install scripts that did not run: in a project, npm's own approval
    (``npm approve-scripts`` writes package.json ``allowScripts``), then ``npm rebuild``,
    which runs them (through the gate); outside one (npx, global installs), the policy."""
    if project is not None:
        names = sorted({key.rsplit("@", 1)[0] if key.rfind("@") > 0 else key for key in keys})
        entries = ", ".join(f'"{key}": true' for key in keys)
        return (
            f"once you have reviewed them, `npm approve-scripts {' '.join(keys)}` approves "
            f'them (package.json "allowScripts": {{{entries}}}) and `npm rebuild '
            f"{' '.join(names)}` runs them"
        )
    entries = "; ".join(
        f'[[allow]] package = "{key.rsplit("@", 1)[0]}", version = "{key.rsplit("@", 1)[1]}", '
        'rules = ["install-script"], reason = "reviewed: ..."'
        for key in keys
        if key.rfind("@") > 0
    )
    return (
        f"once you have reviewed them, allow them in npmguard.toml ({entries}) and run the "
        "command again"
    )


def _listing(by_package: Mapping[tuple[str, str], list[str]]) -> str:
    return ", ".join(
        f"{key} ({', '.join([*events, why] if why else events)})"
        for (key, why), events in sorted(by_package.items())
    )


def _say(message: str) -> None:
    print(f"npmguard: {message}", file=sys.stderr, flush=True)
