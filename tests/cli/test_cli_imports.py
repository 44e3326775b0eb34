"""A run imports only the command it runs (issue 15): ``npmguard --version`` none of them."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from npmguard.cli import COMMANDS, build_parser

WRAPPED = {"npm", "npx"}  # listed by the top-level parser itself, handed to the wrapper


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    """The command modules' commands the parser holds (npm and npx: always, checked apart)."""
    names = {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }
    return names - WRAPPED


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_module_registers_exactly_its_command(command: str) -> None:
    parser = argparse.ArgumentParser()
    importlib.import_module(COMMANDS[command]).register(parser.add_subparsers())
    assert _commands(parser) == {command}


def test_the_full_parser_has_every_command() -> None:
    assert _commands(build_parser()) == set(COMMANDS)
    help_text = build_parser(["--version"]).format_help()
    assert all(tool in help_text for tool in WRAPPED)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--version"], set()),
        (["check", "--lockfile-only"], {"check"}),
        (["cache", "info"], {"cache"}),
        (["--help"], set(COMMANDS)),
        (["chek"], set(COMMANDS)),
        ([], set(COMMANDS)),
    ],
)
def test_the_parser_holds_what_the_run_needs(argv: list[str], expected: set[str]) -> None:
    assert _commands(build_parser(argv)) == expected


def _modules_after(*argv: str) -> set[str]:
    code = (
        "import sys\n"
        "from npmguard.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:', *(m for m in sys.modules if m.startswith('npmguard.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    last = done.stdout.splitlines()[-1].split()
    assert last[0] == "loaded:"
    return set(last[1:])


def test_version_imports_no_command_module() -> None:
    loaded = _modules_after("--version")
    assert not loaded & set(COMMANDS.values()), loaded
    assert "npmguard.model" not in loaded


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after("rules", "--help")
    assert loaded & set(COMMANDS.values()) == {"npmguard.cli.rules"}
    assert _modules_after("--help") >= set(COMMANDS.values())


def test_no_command_prints_the_usage_with_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from npmguard.cli import main

    assert main([]) == 2
    err = capsys.readouterr().err
    assert all(command in err for command in COMMANDS)


def test_a_run_has_no_cyclic_collector_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    from npmguard import cli

    seen: list[bool] = []
    monkeypatch.setattr(cli, "_main", lambda argv: seen.append(gc.isenabled()) or 0)
    assert gc.isenabled()
    assert cli.main(["--version"]) == 0
    assert seen == [False]
    assert gc.isenabled()


def test_downloads_run_the_cyclic_collector_and_restore_its_state() -> None:
    """A run pauses the collector, downloads turn it back on (fewer passes) and leave it as
    they found it."""
    import gc

    from npmguard.gcpolicy import FEWER_COLLECTIONS, collecting, paused

    before = gc.get_threshold()
    with paused():
        assert not gc.isenabled()
        with collecting():
            assert gc.isenabled()
            assert gc.get_threshold() == FEWER_COLLECTIONS
        assert not gc.isenabled()
        assert gc.get_threshold() == before
    assert gc.isenabled()
