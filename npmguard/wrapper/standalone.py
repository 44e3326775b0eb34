"""Guarding commands with no project lockfile: ``npx``/``npm exec`` and ``npm install -g``.

The named packages are resolved in an empty temporary project (npm's own resolver, scripts
off), that tree is checked, and only then does npm's real command run. When the tree holds
install scripts that nothing approved, the real command runs with ``--ignore-scripts``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from npmguard.errors import ExitCode
from npmguard.wrapper.args import Guarded, NpmInvocation, parse_npm_args
from npmguard.wrapper.guard import GuardOptions, _check, _decide, say
from npmguard.wrapper.npmrun import pass_through, run_npm
from npmguard.wrapper.project import ProjectFiles, project_root
from npmguard.wrapper.scripts import approved_scripts


def packages_to_check(inv: NpmInvocation) -> list[str]:
    if inv.guarded is Guarded.EXEC:
        named = inv.all_values("package")
        if named:
            return named
        return list(inv.positionals[:1]) if inv.positionals else list(inv.after_dashdash[:1])
    return list(inv.positionals)


def installed_locally(root: Path, spec: str) -> bool:
    """``npx foo`` runs the project's own foo when it is installed (it was checked then)."""
    name = spec.rsplit("@", 1)[0] if spec.rfind("@") > 0 else spec
    return (root / "node_modules" / name / "package.json").is_file()


def run_standalone(inv: NpmInvocation, opts: GuardOptions) -> int:
    specs = packages_to_check(inv)
    # global mode has no project: npm reads no project .npmrc and no allowScripts then
    root = project_root(parse_npm_args([])) if inv.is_global else project_root(inv)
    if not specs or (
        inv.guarded is Guarded.EXEC
        and not inv.all_values("package")
        and installed_locally(root, specs[0])
    ):
        return pass_through(opts.tool, opts.argv)
    with tempfile.TemporaryDirectory(prefix="npmguard-exec-") as tmp:
        work = Path(tmp)
        (work / "package.json").write_text(
            json.dumps({"name": "npmguard-standalone", "version": "0.0.0", "private": True}),
            encoding="utf-8",
        )
        if not inv.is_global and (root / ".npmrc").is_file():
            (work / ".npmrc").write_bytes((root / ".npmrc").read_bytes())
        say(f"resolving {', '.join(specs)} in an empty project")
        code = run_npm(
            [
                "install",
                *specs,
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ],
            cwd=work,
            quiet=True,
        )
        if code != 0:
            say(f"npm could not resolve {', '.join(specs)} (exit {code}); nothing was run")
            return code
        before = ProjectFiles(root=work, files={})
        report, policy = _check(work / "package-lock.json", root, before)
    decision = _decide(report, opts, policy)
    if decision != 0:
        return decision
    if opts.dry_run:
        say("dry run: the tree passed; not running npm")
        return int(ExitCode.OK)
    plan = approved_scripts(report, root)
    extra: list[str] = []
    if plan.skipped:
        say(
            "install scripts will NOT run (approved by neither the policy nor allowScripts): "
            + ", ".join(plan.skipped)
        )
        extra.append("--ignore-scripts")
    elif plan.approved:
        say("install scripts that will run: " + ", ".join(plan.approved))
    return pass_through(opts.tool, [*extra, *opts.argv])
