"""How the wrapper reads a command line: never by itself where npm decides.

The pass-through test (``may_be_guarded``) must send every line npm would run as a guarded
command to the guard; which command, which packages and which options npm sees comes from
npm's own code (``npm_oracle.js``). Both are compared with the installed npm.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from wrapper_support import needs_npm

from npmguard.errors import UsageError
from npmguard.wrapper.args import ALIASES, COMMANDS, GUARDED, deref, may_be_guarded
from npmguard.wrapper.npmcli import NpmCommand, NpmInstall
from npmguard.wrapper.routes import Route, route

pytestmark = [needs_npm, pytest.mark.npm]

WORDS = sorted(
    {*COMMANDS, *ALIASES}
    | {w[:n] for w in COMMANDS for n in range(1, len(w))}  # every abbreviation, ambiguous too
    | {"installTest", "cleanInstall", "Install", "nosuch", "isntall", "rum"}
)


def test_command_names_resolve_as_npm_resolves_them() -> None:
    """Python's deref and npm's lib/utils/cmd-list.js agree on every command, alias and
    abbreviation (and on npm 11.19's list of commands)."""
    install = NpmInstall.find()
    script = (
        "const l = require(process.argv[1]);"
        "const words = JSON.parse(process.argv[2]);"
        "console.log(JSON.stringify({commands: l.commands,"
        " deref: Object.fromEntries(words.map(w => [w, l.deref(w) ?? null]))}))"
    )
    out = subprocess.run(
        [
            install.node,
            "-e",
            script,
            str(install.root / "lib/utils/cmd-list.js"),
            json.dumps(WORDS),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    npm = json.loads(out.stdout)
    assert set(npm["commands"]) == COMMANDS
    assert {w: deref(w) for w in WORDS} == npm["deref"]


@pytest.mark.parametrize(
    "argv",
    [
        ("install", "left-pad"),
        ("--prefix", "sub", "i", "x"),
        ("-C", "sub", "ci"),
        ("--registry", "http://127.0.0.1:9/", "isntall"),
        ("--loglevel", "silly", "up"),
        ("-ws", "x", "y"),  # -ws is --workspaces; x is the command (exec)
        ("--foo", "bar", "rebuild"),  # an unknown option is a flag; bar is the command
        ("cit",),
        ("create", "foo"),
        ("--", "install", "foo"),
    ],
)
def test_lines_npm_runs_as_guarded_commands_are_not_passed_through(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    cmd = NpmCommand.parse(NpmInstall.find(), "npm", argv, tmp_path)
    assert (cmd.command in GUARDED) <= may_be_guarded("npm", argv)


@pytest.mark.parametrize(
    "argv",
    [(), ("--version",), ("run", "build"), ("test",), ("view", "react"), ("config", "list")],
)
def test_other_lines_pass_straight_through(argv: tuple[str, ...]) -> None:
    assert not may_be_guarded("npm", argv)


def parse(tmp_path: Path, tool: str, *argv: str) -> NpmCommand:
    return NpmCommand.parse(NpmInstall.find(), tool, argv, tmp_path)


def test_npx_options_stop_at_the_first_positional(tmp_path: Path) -> None:
    """rw-06: bin/npx-cli.js puts `--` before the first positional."""
    npx = parse(tmp_path, "npx", "cowsay", "--package=left-pad", "-y", "hello")
    assert npx.command == "exec"
    assert npx.args == ("cowsay", "--package=left-pad", "-y", "hello")
    assert npx.values["package"] == [] and "yes" not in npx.cli
    exec_ = parse(tmp_path, "npm", "exec", "cowsay", "--package=left-pad", "hello")
    assert exec_.values["package"] == ["left-pad"] and exec_.args == ("cowsay", "hello")
    two = parse(tmp_path, "npx", "-p", "a", "--package=b", "-y", "a-bin", "-p", "c")
    assert two.values["package"] == ["a", "b"] and two.cli["yes"] is True
    assert two.args == ("a-bin", "-p", "c")


def test_where_npm_acts(tmp_path: Path) -> None:
    """The project is npm's local prefix: the workspace root seen from inside a workspace,
    where npm also picks that workspace."""
    root = tmp_path / "root"
    ws = root / "packages" / "a"
    ws.mkdir(parents=True)
    (root / "package.json").write_text('{"name": "r", "workspaces": ["packages/*"]}')
    (ws / "package.json").write_text('{"name": "a", "version": "1.0.0"}')
    inside = parse(ws, "npm", "install", "left-pad")
    assert inside.prefix == root and inside.implicit_workspace == (str(ws),)
    prefixed = parse(tmp_path, "npm", "--prefix", "root/packages/a", "i")
    assert prefixed.prefix == ws and prefixed.implicit_workspace == ()
    assert parse(ws, "npm", "i", "-g", "x").is_global
    assert parse(ws, "npm", "i", "--location=global", "x").is_global


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("install",), Route.PROJECT),
        (("add", "x", "--no-save"), Route.PROJECT),
        (("i", "-g", "x"), Route.GLOBAL),
        (("ci",), Route.CLEAN),
        (("uninstall", "-g", "x"), Route.PASS),
        (("audit",), Route.PASS),
        (("audit", "fix"), Route.PROJECT),
        (("exec", "-c", "ls"), Route.PASS),
        (("exec",), Route.PASS),
        (("x", "cowsay"), Route.EXEC),
        (("create", "foo"), Route.EXEC),
        (("init", "--yes"), Route.PASS),
        (("rb",), Route.REBUILD),
        (("edit", "left-pad"), Route.REBUILD),
        (("find-dupes",), Route.PASS),
        (("help", "install"), Route.PASS),
        (("install", "--help"), Route.PASS),
        (("-v", "install"), Route.PASS),
        (("pack",), Route.PASS),
        (("pack", "left-pad@1.3.0", "./local-dir"), Route.PASS),
        (("publish", "--dry-run"), Route.PASS),
        (("cache", "ls", "usr/repo"), Route.PASS),
        (("cache", "add", "left-pad@1.3.0"), Route.PASS),
        (("diff", "--diff=left-pad@1.3.0", "--diff=left-pad@1.2.0"), Route.PASS),
    ],
)
def test_routes(tmp_path: Path, argv: tuple[str, ...], expected: Route) -> None:
    assert route(parse(tmp_path, "npm", *argv)) is expected


@pytest.mark.parametrize(
    "argv",
    [
        ("link",),
        ("install", "-g"),
        ("update", "-g"),
        ("init", "-w", "a"),
        ("prune", "-g"),
        # a git spec is cloned and prepared: `npm install` in the clone runs its dependencies'
        # scripts (found in review: pacote's GitFetcher)
        ("pack", "git+file:///tmp/repo"),
        ("pack", "usr/repo"),
        ("publish", "--dry-run", "github:usr/repo"),
        ("cache", "add", "git+https://example.com/a/b.git"),
        ("diff", "--diff=gitlab:usr/repo", "--diff=left-pad@1.3.0"),
    ],
)
def test_refused(tmp_path: Path, argv: tuple[str, ...]) -> None:
    with pytest.raises(UsageError, match="npmguard does not run it"):
        route(parse(tmp_path, "npm", *argv))


@pytest.mark.parametrize(
    ("initializer", "package"),
    [
        ("foo", "create-foo@"),
        ("foo@2", "create-foo@2"),
        ("@usr/foo", "@usr/create-foo@"),
        ("@usr/foo@latest", "@usr/create-foo@latest"),
        ("@usr", "@usr/create"),
        ("@usr@2.0.0", "@usr/create@2.0.0"),
        ("github:usr/foo", None),  # npm maps git initializers itself
    ],
)
def test_init_runs_create_packages(initializer: str, package: str | None) -> None:
    """npm's documented mapping (`npm help init`), which names npx's cache folder."""
    from npmguard.wrapper.standalone import _create_package

    assert _create_package(initializer) == package


def test_a_mistyped_npmguard_flag_stops_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`--npmguard-dryrun` used to reach npm, which ignored it and installed (found in
    review); after `--` the flag belongs to the script."""
    from npmguard.wrapper.main import main as wrapper_main

    assert wrapper_main("npm", ["install", "--npmguard-dryrun", "left-pad"]) == 2
    err = capsys.readouterr().err
    assert "unknown npmguard flag --npmguard-dryrun (did you mean --npmguard-dry-run?)" in err
    assert wrapper_main("npm", ["help", "--npmguard-bogus"]) == 2
    assert "did you mean" not in capsys.readouterr().err
