"""What the help and the docs promise about the command line holds: every command takes
-v/-q, and --help names every command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

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


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_policy_errors_give_the_right_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _error(capsys, ["policy", "validate", "nothere.toml"])
    assert "no such policy file" in err and "--policy" not in err
    (tmp_path / "deny.toml").write_text('[[deny]]\npackage = "x"\n')
    err = _error(capsys, ["policy", "validate", "deny.toml"])
    assert "why the package is denied" in err and "exception" not in err
    (tmp_path / "new.toml").write_text('requires-npmguard = ">=99"\n')
    err = _error(capsys, ["policy", "validate", "new.toml"])
    assert "pip install" not in err and "README" in err  # not a PyPI name we do not own


def test_a_binary_bun_lockfile_gets_one_piece_of_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bun.lockb").write_bytes(b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n")
    monkeypatch.chdir(tmp_path)
    err = _error(capsys, ["check", "--lockfile-only"])
    assert err.count("bun install") == 1 and "--save-text-lockfile" in err


def test_a_monorepo_root_without_a_lockfile_suggests_recursive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for app in ("web", "api"):
        (tmp_path / app).mkdir()
        (tmp_path / app / "package-lock.json").write_text('{"lockfileVersion": 3}')
    monkeypatch.chdir(tmp_path)
    err = _error(capsys, ["check", "--lockfile-only"])
    assert "no lockfile found" in err
    assert "api/package-lock.json, web/package-lock.json" in err and "npmguard check -r" in err
