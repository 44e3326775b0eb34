"""What the help and the docs promise about the command line holds: every command takes
-v/-q, and --help names every command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from npmguard.cli import build_parser, main


def _leaves(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for group in groups:
        for name, child in group.choices.items():
            yield from _leaves(child, f"{path} {name}".strip())


def test_every_command_takes_verbose_and_quiet() -> None:
    leaves = dict(_leaves(build_parser(), ""))
    del leaves["npm"], leaves["npx"]  # npm's own flags: the wrapper passes them to npm
    assert "rules" in leaves and "shell-init" in leaves and "db update" in leaves
    lacking = [
        name
        for name, p in leaves.items()
        if not {"-v", "-q"} <= {s for a in p._actions for s in a.option_strings}
    ]
    assert lacking == []


def test_help_lists_the_wrapper_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    commands = capsys.readouterr().out.split("COMMAND", 1)[1]
    assert "\n    npm " in commands and "\n    npx " in commands


def test_ls_help_names_every_lockfile_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--help"]) == 0
    out = capsys.readouterr().out
    assert "npm lockfile" not in " ".join(out.split())
    joined = "".join(out.split())  # argparse wraps lines, even inside a file name
    assert all(k in joined for k in ("pnpm-lock.yaml", "yarn.lock", "bun.lock"))


@pytest.mark.parametrize("argv", [["rules", "-q"], ["shell-init", "-v", "bash"]])
def test_verbose_and_quiet_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out
