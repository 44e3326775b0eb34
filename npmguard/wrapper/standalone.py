"""Commands that install outside the project's lockfile: ``npm exec``/``npx``, ``npm init
<initializer>`` (which runs ``create-<initializer>`` as npx does) and ``npm install -g``.

npx, in four steps, each done by npm itself:

1. Ask: the real command with ``--yes=false`` and a script shell that runs nothing. npx then
   lists the packages it is missing, or runs (in the probe shell) a bin of the project, a
   global one, or one of its cache.
2. Resolve the missing packages as npx would (in a copy of its cache folder for this package
   list), check the tree; or check the cached tree npx would run.
3. Install: the real command with ``--ignore-scripts`` and the probe shell, so npx installs
   into its cache and runs nothing; what it installed must be the checked tree. Approved
   install scripts of the new packages then run (``npm rebuild`` through the script gate:
   npx does not pass ``--script-shell`` to its installer).
4. Run: the real command with ``--yes=false`` (npx may not install anything more) through the
   gate, which starts it only if the cache folder still holds the checked tree.

Global installs: the packages are resolved in an empty folder with npm's global layout
(``--install-strategy=shallow``), checked, installed through the script gate; what npm
installed is compared with what was checked afterwards (no lockfile pins a global install).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npmguard.errors import ExitCode, UsageError
from npmguard.model import Lockfile, Report
from npmguard.wrapper.guard import GuardOptions, _check, gate, say
from npmguard.wrapper.npmcli import NpmCommand
from npmguard.wrapper.npmrun import resolve_tree, run_npm
from npmguard.wrapper.scripts import ScriptPlan, plan_scripts, run_gated, with_options

_MISSING = re.compile(r"npx canceled due to missing packages and no YES option: (\[.*\])")
# options of the exec command itself; the rest shape how npx installs (registry, peer deps…)
_EXEC_ONLY = frozenset(
    "call dry-run include-workspace-root location global package prefix script-shell "
    "workspace workspaces yes".split()
)
_QUIET = ["--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
# npx knows its cache holds a package by the `resolved` URL in the cache's lockfile; with
# omit-lockfile-registry-resolved=true (in many user .npmrc files) it is left out, so an install
# into the cache followed by a run with --yes=false fails: "npx canceled due to missing
# packages". Every npx step runs with it off (found in review).
_KEEP_RESOLVED = {"omit-lockfile-registry-resolved": "false"}
_KEEP_RESOLVED_ARGS = [f"--{k}={v}" for k, v in _KEEP_RESOLVED.items()]


@dataclass(frozen=True)
class Probe:
    """What npx does with the command, as npm answered."""

    code: int  # npm's exit code
    missing: tuple[str, ...]  # package ids npx would install ("cowsay@1.5.0")
    folder: Path | None  # npx's cache folder it runs from, if any
    runs: bool  # npx reached the point of running the command
    stderr: bytes = b""  # what npm said, when it was not shown


def run_exec(cmd: NpmCommand, opts: GuardOptions) -> int:
    from npmguard.wrapper.npmrun import pass_through

    if _links_a_local_folder(cmd):
        return pass_through(opts.tool, opts.argv)
    with tempfile.TemporaryDirectory(prefix="npmguard-exec-") as tmp:
        work = Path(tmp)
        probe = _probe(cmd, work, ["--yes=false"])
        if probe.runs and probe.folder is None:
            return pass_through(opts.tool, opts.argv)  # a bin of the project or a global one
        if not probe.runs and not probe.missing:
            return probe.code  # npm's own error, shown: the real command fails the same way
        if probe.missing and cmd.values.get("yes") is False:
            return pass_through(opts.tool, opts.argv)  # --no: npx refuses to install them
        if probe.folder is not None:  # npx runs what it installed earlier: check that tree
            lock = _tree_lock(probe.folder)
            checked = _check(lock, cmd.local_prefix, None, lock, show_new=False)
            report = gate(checked, opts, "running npm")
            if isinstance(report, int):
                return report
            plan = _plan(cmd, report, probe.folder)
            return _run_npx(cmd, plan, lock)
        seed = _install_dir(cmd)
        old = dict(_entries(seed / "package-lock.json")) if seed else {}
        resolved = _resolve_missing(cmd, work, probe.missing, seed)
        if isinstance(resolved, int):
            return resolved
        shown = Path(f"(npx's install of {', '.join(probe.missing)})")
        checked = _check(resolved, cmd.local_prefix, _lockfile_of(seed), shown)
        report = gate(checked, opts, "running npm")
        if isinstance(report, int):
            return report
        installed = _probe(cmd, work, ["--ignore-scripts"])
        if installed.folder is None:  # npx refused (--no, its prompt) or failed
            os.write(2, installed.stderr)
            if installed.code == 0:
                say("npx installed nothing into its cache after all; nothing was run")
            return installed.code or int(ExitCode.BLOCKED)
        if not _within(_tree_lock(installed.folder), resolved):
            say(
                "npx installed packages other than the ones checked (did the registry change "
                "meanwhile?); nothing was run. Run the command again."
            )
            return int(ExitCode.BLOCKED)
        plan = _plan(cmd, report, installed.folder)
        code = _build_new(cmd, plan, installed.folder, old)
        return code if code != 0 else _run_npx(cmd, plan, resolved)


def _links_a_local_folder(cmd: NpmCommand) -> bool:
    """npx runs a folder on disk: a folder argument, or a bin of the project's own package
    (libnpmexec: the folder is linked into npx's cache, its dependencies are not installed, so
    nothing comes from the registry). With install-links npm packs and installs it instead."""
    from npmguard.wrapper.installs import local_path

    if cmd.flag("install-links") or cmd.command != "exec":
        return False
    packages = list(cmd.values.get("package") or [])
    local = [p for p in packages if local_path(p)]
    if local and len(local) < len(packages):
        raise UsageError(
            f"`{' '.join((cmd.tool, *cmd.argv))}` mixes local folders with registry packages; "
            "npmguard checks them one kind at a time",
            hint="run the registry packages and the folder in separate commands",
        )
    if packages:
        return bool(local)
    if not cmd.args:
        return False
    if local_path(cmd.args[0]):
        return True
    for folder in (cmd.cwd, cmd.local_prefix):
        try:
            manifest = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        bins = manifest.get("bin") if isinstance(manifest, dict) else None
        if isinstance(bins, str):
            bins = {str(manifest.get("name", "")).rsplit("/", 1)[-1]: bins}
        if isinstance(bins, dict) and cmd.args[0] in bins:
            return True
    return False


def _plan(cmd: NpmCommand, report: Report, folder: Path) -> ScriptPlan:
    verdicts = cmd.script_verdicts(folder, actual=True, policy_prefix=folder, exec_context=True)
    return plan_scripts(report, verdicts, None)


def _run_npx(cmd: NpmCommand, plan: ScriptPlan, lock: Path) -> int:
    expect = {loc: [e.get("resolved"), e.get("integrity")] for loc, e in _entries(lock)}
    return run_gated(
        list(cmd.npm_argv),
        cwd=cmd.cwd,
        cmd=cmd,
        plan=plan,
        root=None,
        root_scripts=False,
        verify={"cache": str(cmd.npx_cache), "expect": expect},
        extra={"yes": "false", **_KEEP_RESOLVED},
    )


def _build_new(cmd: NpmCommand, plan: ScriptPlan, folder: Path, old: dict[str, Any]) -> int:
    """Install scripts of the packages npx just installed, through the gate, as npx would
    have run them (the approved ones only)."""
    if cmd.flag("ignore-scripts"):
        return 0
    new = [
        str(n.path)
        for n in plan.nodes
        if not (n.is_link or n.in_bundle) and old.get(n.location, {}).get("resolved") != n.resolved
    ]
    if not new:
        return 0
    return run_gated(
        ["rebuild", f"--prefix={folder}", "--", *new],
        cwd=folder,
        cmd=cmd,
        plan=plan,
        root=None,
        root_scripts=False,
        env={"npm_config_allow_scripts": ""},  # only allowed on npx's own command line
        quiet=True,
    )


def _resolve_missing(
    cmd: NpmCommand, work: Path, missing: tuple[str, ...], seed: Path | None
) -> Path | int:
    """Resolve what npx would add to its cache folder ``seed`` (starting from the lockfile
    there, if any). Returns the resolved lockfile, or npm's exit code."""
    resolved = work / "resolve"
    resolved.mkdir()
    if seed is not None:
        for name in ("package.json", "package-lock.json"):
            if (seed / name).is_file():
                shutil.copyfile(seed / name, resolved / name)
    if (cmd.local_prefix / ".npmrc").is_file():  # npx reads the project's .npmrc
        shutil.copyfile(cmd.local_prefix / ".npmrc", resolved / ".npmrc")
    say(f"resolving {', '.join(missing)} as npx would install them")
    argv = ["install", *cmd.options(drop=_EXEC_ONLY), "--package-lock-only", *_KEEP_RESOLVED_ARGS]
    argv += _QUIET
    code = resolve_tree([*argv, "--", *missing], cwd=resolved, what=", ".join(missing))
    if code != 0:
        return code
    return resolved / "package-lock.json"


def _probe(cmd: NpmCommand, work: Path, options: list[str]) -> Probe:
    """Run the command with ``options`` and a script shell that runs nothing but records
    what npx would run, and from which PATH."""
    log = work / "probe.log"
    log.unlink(missing_ok=True)
    shell = work / "probe-shell"
    shell.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\t%s\\n" "$npm_lifecycle_event" "$PATH" >> {shlex.quote(str(log))}\n'
        '[ "$npm_lifecycle_event" = npx ] && exit 0\nexit 1\n',
        encoding="utf-8",
    )
    shell.chmod(0o700)
    argv = with_options(cmd.npm_argv, *options, *_KEEP_RESOLVED_ARGS, f"--script-shell={shell}")
    err: list[bytes] = []
    # npx asks before it installs (on a terminal, without --yes): let it ask
    asks = cmd.values.get("yes") is None and sys.stdin.isatty() and "--yes=false" not in options
    code = run_npm(argv, cwd=cmd.cwd, quiet=not asks, capture=None if asks else err)
    text = b"".join(err).decode("utf-8", "replace")
    events = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
    if any(not e.startswith("npx\t") for e in events):
        raise UsageError(
            f"`{' '.join((cmd.tool, *cmd.argv))}` installs a local folder's dependencies into "
            "npx's cache, outside any lockfile npmguard could check first; not run",
            hint="run `npm install` in that folder, then run its bin from there",
        )
    said = b"".join(err)
    found = _MISSING.search(text)
    if found:
        missing = tuple(str(x) for x in json.loads(found.group(1)))
        return Probe(code, missing, None, False, said)
    if events:
        return Probe(code, (), _npx_folder(cmd, events[0].split("\t", 1)[1]), True, said)
    if code != 0:
        os.write(2, said)
    return Probe(code, (), None, code == 0)


def _npx_folder(cmd: NpmCommand, path: str) -> Path | None:
    for entry in path.split(os.pathsep):
        parts = Path(entry).parts
        if entry.startswith(f"{cmd.npx_cache}{os.sep}") and parts[-2:] == ("node_modules", ".bin"):
            return Path(entry).parent.parent
    return None


def _tree_lock(folder: Path) -> Path:
    hidden = folder / "node_modules" / ".package-lock.json"
    return hidden if hidden.is_file() else folder / "package-lock.json"


def _within(installed: Path, checked: Path) -> bool:
    """Whether every package in ``installed`` is in ``checked`` at the same place, from the
    same source."""
    want = dict(_entries(checked))
    for loc, entry in _entries(installed):
        other = want.get(loc)
        if other is None or (other.get("resolved"), other.get("integrity")) != (
            entry.get("resolved"),
            entry.get("integrity"),
        ):
            return False
    return True


def _install_dir(cmd: NpmCommand) -> Path | None:
    """npx's cache folder for this command's package list (libnpmexec: the first 16 hex
    digits of the SHA-512 of the sorted specs, folders made absolute), or None when the
    list cannot be known without npm (an initializer from git)."""
    packages = list(cmd.values.get("package") or [])
    if not packages and cmd.args:
        first = cmd.args[0]
        packages = [_create_package(first) if cmd.command == "init" else first]
    if not packages or None in packages:
        return None
    specs = []
    for spec in packages:
        assert spec is not None
        if spec.startswith((".", "/", "~")) or spec.startswith("file:"):
            spec = str((cmd.cwd / os.path.expanduser(spec.removeprefix("file:"))).resolve())
        specs.append(spec)
    digest = hashlib.sha512("\n".join(sorted(specs)).encode()).hexdigest()[:16]
    return cmd.npx_cache / digest


def _create_package(initializer: str) -> str | None:
    """The package ``npm init <initializer>`` runs (lib/commands/init.js): ``foo`` ->
    ``create-foo@``, ``@scope`` -> ``@scope/create``, ``@scope/foo@2`` -> ``@scope/create-foo@2``.
    None for other forms (git hosts), which npm maps itself."""
    if re.fullmatch(r"@[^/]+", initializer):
        _, scope, *version = initializer.split("@")
        return f"@{scope}/create" + (f"@{version[0]}" if version else "")
    match = re.fullmatch(r"((?:@[^/@]+/)?)([^/@:]+)(?:@(.*))?", initializer)
    if match is None:
        return None
    scope, name, raw = match.groups()
    return f"{scope}create-{name}@{raw or ''}"


def run_global(cmd: NpmCommand, opts: GuardOptions) -> int:
    specs = [_global_spec(cmd, s) for s in cmd.args]
    with tempfile.TemporaryDirectory(prefix="npmguard-global-") as tmp:
        work = Path(tmp)
        (work / "package.json").write_text(
            json.dumps({"name": "npmguard-global", "version": "0.0.0", "private": True}),
            encoding="utf-8",
        )
        say(f"resolving {', '.join(specs)} as a global install would")
        drop = _EXEC_ONLY | {"install-strategy", "global-style", "legacy-bundling"}
        argv = ["install", *cmd.options(drop=drop), "--install-strategy=shallow"]
        argv = [*argv, "--package-lock-only", *_QUIET, "--", *specs]
        code = resolve_tree(argv, cwd=work, what=", ".join(specs))
        if code != 0:
            return code
        lock = work / "package-lock.json"
        checked = _check(lock, cmd.local_prefix, None, Path(f"(npm install -g {' '.join(specs)})"))
        report = gate(checked, opts, "installing")
        if isinstance(report, int):
            return report
        if cmd.flag("dry-run"):
            return run_npm(list(cmd.npm_argv), cwd=cmd.cwd)
        # the global folder has the same layout (lib/node_modules/<pkg>/node_modules/…)
        verdicts = cmd.ask_script_verdicts(work, actual=False, policy_prefix=work).answer(
            moved=(work.resolve(), cmd.global_dir.parent)
        )
        code = run_gated(
            list(cmd.npm_argv),
            cwd=cmd.cwd,
            cmd=cmd,
            plan=plan_scripts(report, verdicts, None),
            root=None,
            root_scripts=False,
        )
        expected = dict(_entries(lock))
    return _compare_global(cmd, expected) if code == 0 else code


def _global_spec(cmd: NpmCommand, spec: str) -> str:
    """A package argument, local tarballs made absolute (the resolution runs elsewhere)."""
    from npmguard.wrapper.installs import local_path

    local = local_path(spec)
    if local is None:
        return spec
    full = (cmd.cwd / os.path.expanduser(local[1])).resolve()
    if full.is_dir():
        raise UsageError(
            f"`{' '.join((cmd.tool, *cmd.argv))}` links the folder {full} globally, outside "
            "any lockfile npmguard could check first; not run",
            hint="run `npm install` in the folder under npmguard first, then run this without it",
        )
    return f"{local[0]}file:{full}"


def _compare_global(cmd: NpmCommand, expected: dict[str, dict[str, Any]]) -> int:
    """Every package npm installed under the named top-level packages was checked."""
    unexpected = []
    for top in (loc for loc in expected if loc.count("node_modules/") == 1):
        for loc, version in _installed(cmd.global_dir.parent, top):
            if expected.get(loc, {}).get("version") != version:
                unexpected.append(f"{loc.rsplit('node_modules/', 1)[-1]}@{version}")
    if unexpected:
        say(
            "npm installed packages that were not checked (did the registry change during the "
            "install?): " + ", ".join(sorted(unexpected)) + "; their install scripts did not run"
        )
        return int(ExitCode.BLOCKED)
    return 0


def _installed(base: Path, loc: str) -> list[tuple[str, str | None]]:
    """(location, version) of the package folder ``base/loc`` and every one nested in it."""
    folder = base / loc
    try:
        version = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return []
    found: list[tuple[str, str | None]] = [(loc, version)]
    children = folder / "node_modules"
    if children.is_dir() and not folder.is_symlink():
        for child in sorted(children.iterdir()):
            names = sorted(child.iterdir()) if child.name.startswith("@") else [child]
            for entry in names:
                if entry.is_dir() and not entry.name.startswith("."):
                    found += _installed(base, f"{loc}/node_modules/{entry.relative_to(children)}")
    return found


def _entries(lock: Path) -> list[tuple[str, dict[str, Any]]]:
    """(location, entry) for each package of an npm lockfile; none if it is missing."""
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, dict):
        return []
    return [(k, v) for k, v in packages.items() if k and isinstance(v, dict) and not v.get("link")]


def _lockfile_of(folder: Path | None) -> Lockfile | None:
    from npmguard.lockfile import load_lockfile

    lock = folder / "package-lock.json" if folder else None
    return load_lockfile(lock) if lock is not None and lock.is_file() else None
