"""The guarded path: npm reads the command, npm resolves the tree, npmguard checks that tree,
then npm acts on exactly that tree with only approved dependency scripts running.

1. Read: npm's own parser says what the command is and where it acts (``wrapper.npmcli``).
2. Resolve: npm's resolver, in a temporary copy of the project or an empty folder, scripts
   off (``--package-lock-only --ignore-scripts``). ``npm ci`` checks the lockfile as is:
   npm refuses to install anything else. npx asks npm what it would install.
3. Check the resolved tree with the policy; new or changed packages are named
   (``wrapper.guard``).
4. Decide: block (exit 1, nothing touched), warn (ask on a terminal, follow the policy off
   one), or allow.
5. Act: npm installs the checked lockfile (or npx the checked packages); npm runs scripts
   when it would, through the script gate (``wrapper.scripts``), which lets through the
   project's own and the approved dependencies' scripts only.

Commands whose result npmguard cannot pin to a checked tree are refused with a message.
The command x flag table in docs/wrapper-commands.md lists what happens to each.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

from npmguard.errors import UsageError
from npmguard.wrapper.guard import GuardOptions
from npmguard.wrapper.npmcli import NpmCommand, NpmInstall


def run_guarded(opts: GuardOptions) -> int:
    """Read, resolve, check, decide and act (errors are mapped to exits by the caller,
    :func:`npmguard.wrapper.main.main`, through :func:`npmguard.errors.run_main`)."""
    return _run(opts)


class Route(enum.Enum):
    PASS = "pass"  # installs nothing and runs no dependency code: straight to npm
    PROJECT = "project"  # changes the project's tree: resolve in a copy, check, install
    CLEAN = "clean"  # npm ci: check the lockfile as it is
    EXEC = "exec"  # npm exec / npx / npm init <initializer>
    GLOBAL = "global"  # npm install -g <packages>
    REBUILD = "rebuild"  # runs install scripts of what is installed


def route(cmd: NpmCommand) -> Route:
    """What the wrapper does with a command; raises UsageError for the refused ones."""
    name, args = cmd.command, cmd.args
    if name is None or cmd.flag("usage") or any(cmd.cli.get(k) for k in ("version", "versions")):
        return Route.PASS  # npm prints usage or its version and does nothing else
    if name in ("install", "install-test"):
        if cmd.is_global:
            if not args:
                _refuse(cmd, "installs the current folder globally (as `npm link` does)")
            return Route.GLOBAL
        return Route.PROJECT
    if name in ("ci", "install-ci-test"):
        return Route.PASS if cmd.is_global else Route.CLEAN  # npm refuses ci -g itself
    if name == "uninstall":
        return Route.PASS if cmd.is_global else Route.PROJECT  # -g removes, installs nothing
    if name in ("update", "dedupe", "prune"):
        if cmd.is_global:
            _refuse(cmd, "changes global packages npmguard cannot resolve beforehand")
        return Route.PROJECT
    if name == "audit":
        if not args or args[0] != "fix":
            return Route.PASS
        if cmd.is_global:
            _refuse(cmd, "changes global packages npmguard cannot resolve beforehand")
        return Route.PROJECT
    if name == "exec":
        no_package = not cmd.values.get("package")
        if no_package and (not args or cmd.values.get("call")):
            return Route.PASS  # a shell or --call with the local bins: nothing installed
        return Route.EXEC
    if name == "init":
        if args:
            return Route.EXEC  # npm init foo runs create-foo, as npm exec does
        workspaces = cmd.values.get("workspace") or cmd.values.get("workspaces")
        if workspaces and cmd.flag("workspaces-update"):
            _refuse(
                cmd,
                "installs the new workspaces' dependencies after creating them",
                hint="add --no-workspaces-update, then run `npm install`",
            )
        return Route.PASS
    if name in ("rebuild", "edit"):
        return Route.REBUILD
    if name == "link":
        _refuse(cmd, "installs packages outside any lockfile npmguard could check first")
    git = [spec for spec, kind in cmd.spec_types.items() if kind == "git"]
    if git:  # pack, publish, cache add, diff: pacote prepares a git package in its clone
        _refuse(
            cmd,
            f"has npm clone {git[0]} and, when it has a prepare script, install its "
            "dependencies and run their scripts, with no lockfile npmguard could check first",
        )
    return Route.PASS


def _refuse(cmd: NpmCommand, why: str, hint: str = "") -> None:
    line = " ".join((cmd.tool, *cmd.argv))
    raise UsageError(
        f"`{line}` {why}; npmguard does not run it",
        hint=hint or f"run it without npmguard (`command {line}`) if you trust what it installs",
    )


def _run(opts: GuardOptions) -> int:
    from npmguard.wrapper.npmrun import pass_through

    cmd = NpmCommand.parse(NpmInstall.find(), opts.tool, opts.argv, Path.cwd())
    how = route(cmd)
    if how is Route.PASS:
        return pass_through(opts.tool, opts.argv)
    if os.name != "posix":  # the script gate is a POSIX shell script
        raise UsageError(
            f"`{' '.join((opts.tool, *opts.argv))}`: the npm wrapper checks installs on POSIX "
            "systems only",
            hint="run `npmguard check` on the lockfile instead",
        )
    # npm's own --yes (npx -y: "install without asking") is npm's business: it never
    # accepts npmguard's warnings; only --npmguard-yes, NPMGUARD_YES=1 or the policy do
    if how is Route.EXEC:
        from npmguard.wrapper.standalone import run_exec

        return run_exec(cmd, opts)
    if how is Route.GLOBAL:
        from npmguard.wrapper.standalone import run_global

        return run_global(cmd, opts)
    from npmguard.wrapper import installs

    if how is Route.CLEAN:
        return installs.run_clean(cmd, opts)
    if how is Route.REBUILD:
        return installs.run_rebuild(cmd, opts)
    return installs.run_project(cmd, opts)
