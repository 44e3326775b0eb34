"""Project commands that change node_modules: install, update, uninstall, dedupe, prune,
audit fix (resolved in a copy), npm ci (the lockfile as it is), and npm rebuild.

Every one ends the same way: the checked lockfile is in place and npm installs exactly it
(``npm install`` with no package arguments reifies the lockfile it finds), its scripts going
through the script gate. When the user's command would not write package.json or the
lockfile (``--no-save``, ``--no-package-lock``), both are put back byte for byte afterwards.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from npmguard.errors import ExitCode, UsageError
from npmguard.fsutil import write_atomic
from npmguard.model import Lockfile
from npmguard.wrapper.guard import GuardOptions, _check, gate, say
from npmguard.wrapper.npmcli import NpmCommand
from npmguard.wrapper.npmrun import resolve_tree, run_npm
from npmguard.wrapper.project import LOCKFILE_NAMES, ProjectFiles
from npmguard.wrapper.scripts import ScriptPlan, plan_scripts, run_gated

# npm-package-arg's tests for a spec: a URL, a local file or folder, a tarball's file name
_URL = re.compile(r"^(?:git[+])?[a-z]+:", re.IGNORECASE)
_GIT_SSH = re.compile(r"^[^@]+@[^:.]+\.[^:]+:.+$", re.IGNORECASE)
_FILESPEC = re.compile(r"^(?:[.]|~[/]|[/]|[a-zA-Z]:)")
_FILE_TYPE = re.compile(r"[.](?:tgz|tar\.gz|tar)$", re.IGNORECASE)

# options that only shape how npm reports or what it writes, never the tree it resolves
_RESOLVE_DROP = frozenset(
    "audit dry-run foreground-scripts fund ignore-scripts loglevel package-lock-only prefix "
    "script-shell".split()
)


def run_project(cmd: NpmCommand, opts: GuardOptions) -> int:
    root = cmd.prefix
    specs = _local_specs(cmd, root)
    before = ProjectFiles.read(root, extra_specs=tuple(rel for _, rel in specs.values()))
    keep_lock = cmd.flag("package-lock")
    with tempfile.TemporaryDirectory(prefix="npmguard-resolve-") as tmp:
        copy = Path(tmp) / "project"
        before.write_to(copy)
        _seed_lockfile(copy, root, keep_lock)
        in_copy = {k: f"{name}file:{copy / rel}" for k, (name, rel) in specs.items()}
        argv = _resolution_argv(cmd, in_copy, copy)
        say(f"resolving `{' '.join((cmd.tool, *cmd.argv))}` in a copy of the project")
        code = resolve_tree(argv, cwd=_cwd_in(copy, root, cmd.cwd), what="the tree")
        if code != 0:
            return code
        lock_name = next((n for n in LOCKFILE_NAMES if (copy / n).is_file()), None)
        if lock_name is None:
            say("npm produced no lockfile; nothing to check")
            return int(ExitCode.USAGE)
        changed = before.changed_in(copy)
        # npm's allowScripts verdicts, asked while the tree is checked
        pending = cmd.ask_script_verdicts(copy, actual=False, policy_prefix=copy)
        checked = _check(copy / lock_name, root, _old_lockfile(before), root / lock_name)
        verdicts = pending.answer(moved=(copy.resolve(), root))
    report = gate(checked, opts, "installing")
    if isinstance(report, int):
        return report
    if cmd.flag("dry-run"):  # npm's own: it shows what it would do and writes nothing
        return run_gated(
            list(cmd.npm_argv),
            cwd=cmd.cwd,
            cmd=cmd,
            plan=plan_scripts(report, verdicts, root),
            root=root,
            root_scripts=True,
        )
    # the files npm would leave as they are: none with --no-save, the lockfile with
    # --no-package-lock (npm installs the checked lockfile, then they are put back)
    untouched = {
        rel for rel in changed if not cmd.flag("save") or (rel in LOCKFILE_NAMES and not keep_lock)
    }
    plan = plan_scripts(report, verdicts, root)
    return _install(cmd, root, before, changed, plan, untouched)


def _install(
    cmd: NpmCommand,
    root: Path,
    before: ProjectFiles,
    changed: dict[str, bytes],
    plan: ScriptPlan,
    untouched: set[str],
) -> int:
    """Put the checked files in place; npm installs exactly that lockfile. Afterwards the
    ``untouched`` files (all of them if npm fails) are put back as they were."""
    for rel, data in changed.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    code = 1
    try:
        command = "install-test" if cmd.command == "install-test" else "install"
        drop = frozenset({"dry-run", "script-shell", "package-lock"})
        code = run_gated(
            [command, *cmd.options(drop=drop)],
            extra={} if cmd.flag("package-lock") else {"package-lock": "true"},
            cwd=cmd.cwd,
            cmd=cmd,
            plan=plan,
            root=root,
            # npm runs the root's install lifecycle on `npm install` without package args
            root_scripts=cmd.command in ("install", "install-test") and not cmd.args,
        )
    finally:
        before.put_back(root, changed if code != 0 else untouched)
    return code


def run_clean(cmd: NpmCommand, opts: GuardOptions) -> int:
    """``npm ci``: npm installs the lockfile as it is or refuses, so the lockfile is checked."""
    root = cmd.prefix
    lock_name = next((n for n in LOCKFILE_NAMES if (root / n).is_file()), None)
    if lock_name is None:  # npm says what is wrong
        return run_npm(list(cmd.npm_argv), cwd=cmd.cwd)
    pending = cmd.ask_script_verdicts(root, actual=False, policy_prefix=root)
    checked = _check(root / lock_name, root, None, root / lock_name, show_new=False)
    verdicts = pending.answer()
    report = gate(checked, opts, "installing")
    if isinstance(report, int):
        return report
    plan = plan_scripts(report, verdicts, root)
    return run_gated(
        list(cmd.npm_argv), cwd=cmd.cwd, cmd=cmd, plan=plan, root=root, root_scripts=True
    )


def run_rebuild(cmd: NpmCommand, opts: GuardOptions) -> int:
    """``npm rebuild`` / ``npm edit``: the installed tree's scripts, approved as for install."""
    tree = cmd.global_dir.parent if cmd.is_global else cmd.prefix
    hidden = tree / "node_modules" / ".package-lock.json"
    lock = next((p for p in (hidden, *(tree / n for n in LOCKFILE_NAMES)) if p.is_file()), None)
    report = None
    if lock is None:
        say("no lockfile of the installed tree: only scripts npm's allowScripts approves run")
        if opts.dry_run:
            say("dry run: not rebuilding")
            return 0
    else:
        passed = gate(_check(lock, cmd.prefix, None, lock, show_new=False), opts, "rebuilding")
        if isinstance(passed, int):
            return passed
        report = passed
    verdicts = cmd.script_verdicts(tree, actual=True, policy_prefix=cmd.prefix)
    plan = plan_scripts(report, verdicts, tree)
    return run_gated(
        list(cmd.npm_argv), cwd=cmd.cwd, cmd=cmd, plan=plan, root=tree, root_scripts=True
    )


def local_path(arg: str) -> tuple[str, str] | None:
    """(name@ or "", path) when npm reads the package argument ``arg`` as a local file or
    folder (npm-package-arg: ``file:``, ``./``, ``../``, ``/``, ``~/``, or a bare tarball
    name), else None (registry names, URLs, git, aliases)."""
    at = arg.find("@", 1)
    name_part = arg[:at] if at > 0 else arg
    whole = bool(_URL.match(arg) or _GIT_SSH.match(arg)) or (
        not name_part.startswith("@") and ("/" in name_part or bool(_FILE_TYPE.search(name_part)))
    )
    prefix, spec = ("", arg) if whole or at <= 0 else (f"{name_part}@", arg[at + 1 :])
    if spec.lower().startswith("file:"):
        return prefix, spec[5:]
    if _FILESPEC.match(spec) or ("/" not in spec and _FILE_TYPE.search(spec)):
        return prefix, spec
    return None


def _local_specs(cmd: NpmCommand, root: Path) -> dict[str, tuple[str, str]]:
    """Package arguments naming a local file or folder: (name@ or "", path in the project).

    npm reads them relative to the working folder; the copy holds them at the same place
    relative to the project, so the lockfile npm writes there fits the real project.
    """
    if cmd.command not in ("install", "install-test"):
        return {}
    out: dict[str, tuple[str, str]] = {}
    for spec in cmd.args:
        local = local_path(spec)
        if local is None:
            continue
        path = (cmd.cwd / os.path.expanduser(local[1])).resolve()
        if not path.is_relative_to(root.resolve()):
            raise UsageError(
                f"{spec}: a local package outside the project ({root}); npmguard resolves in "
                "a copy of the project and cannot place it there",
                hint="move it inside the project, or run this npm command without npmguard",
            )
        rel = path.relative_to(root.resolve()).as_posix()
        out[spec] = (local[0], "." if rel == "." else f"./{rel}")
    return out


def _seed_lockfile(copy: Path, root: Path, keep_lock: bool) -> None:
    """Give npm in the copy the tree npm would start from in the project: the lockfile, or,
    when npm reads none (none there, or ``package-lock=false``), the installed tree, which
    node_modules/.package-lock.json records."""
    if keep_lock and any((copy / n).is_file() for n in LOCKFILE_NAMES):
        return
    for name in LOCKFILE_NAMES:
        (copy / name).unlink(missing_ok=True)
    hidden = root / "node_modules" / ".package-lock.json"
    if hidden.is_file():
        (copy / "package-lock.json").write_bytes(hidden.read_bytes())


def _resolution_argv(cmd: NpmCommand, specs: dict[str, str], copy: Path) -> list[str]:
    """The user's command for npm's resolver in the copy: the same options (npm's parse of
    them), the lockfile written whatever ``save``/``package-lock`` say, no scripts."""
    command = "install" if cmd.command == "install-test" else str(cmd.command)
    drop = set(_RESOLVE_DROP)
    extra = []
    for name in ("save", "package-lock"):  # the copy must get the lockfile to check
        if not cmd.flag(name):
            drop.add(name)
            extra.append(f"--{name}=true")
    if cmd.given("prefix"):
        extra.append(f"--prefix={copy}")
    args = [specs.get(a, a) for a in cmd.args]
    return [
        command,
        *cmd.options(drop=frozenset(drop)),
        *extra,
        "--package-lock-only",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        "--",
        *args,
    ]


def _cwd_in(copy: Path, root: Path, cwd: Path) -> Path:
    """The copy's counterpart of the working folder (npm finds the prefix and an implicit
    workspace from it); the copy's root when the working folder is outside the project."""
    try:
        rel = cwd.resolve().relative_to(root.resolve())
    except ValueError:
        return copy
    target = copy / rel
    target.mkdir(parents=True, exist_ok=True)
    return target


def _old_lockfile(before: ProjectFiles) -> Lockfile | None:
    from npmguard.lockfile import parse_lockfile_text

    name = before.lockfile_name
    return parse_lockfile_text(before.files[name], before.root / name) if name else None
