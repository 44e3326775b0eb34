"""Every `npmguard …` command shown in README.md and docs/*.md exists and takes its flags.

Commands are collected from fenced code blocks (shell, YAML `run:` lines, anything) and from
inline code spans, then parsed with the real parser (`npmguard.cli.build_parser()`), so a
renamed flag, a missing subcommand or a bad choice fails with the file and line of the example.
`npmguard npm …` / `npmguard npx …` lines are npm's business: only npmguard's own
`--npmguard-*` flags are checked, the rest must reach npm untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from npmguard.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"`([^`\n]+)`")
# `npmguard` in command position, then its arguments: at the start of a line (after a prompt,
# a YAML list dash or `run:`/`entry:` key, env assignments), after `$(`, `;`, `&&`, `|`, or
# in an alias; not in prose inside an `echo "npmguard could not …"`
COMMAND = re.compile(
    r"""(?:^\s*(?:\$\s+|-\s+)?(?:(?:run|entry|script):\s*)?(?:\w+=\S*\s+)*"""
    r"""|\$\(|[;|&`]\s*|\w='|\w=")"""
    r"""npmguard[ \t]+(?=[\w-])(.*)$"""
)


@dataclass(frozen=True)
class Example:
    file: Path
    line: int
    text: str  # what follows `npmguard `
    inline: bool = False  # a mention in prose: commands and flags are checked, not arity

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def _examples_in(path: Path) -> Iterator[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    in_code = False
    i = 0
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        if FENCE.match(raw):
            in_code = not in_code
            i += 1
            continue
        if in_code:
            while raw.endswith("\\") and i + 1 < len(lines):  # shell line continuation
                i += 1
                raw = raw[:-1] + " " + lines[i].strip()
            match = COMMAND.search(raw)
            if match:
                yield Example(path, start, match.group(1))
        else:
            for span in INLINE.findall(raw):
                match = COMMAND.search(span.strip())
                if match:
                    yield Example(path, start, match.group(1), inline=True)
        i += 1


def _argv(text: str) -> list[str]:
    """The arguments of one command: shell words up to a comment, pipe, `;`, `&&` or `)`."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    argv: list[str] = []
    try:
        for token in lexer:
            if token and all(c in ";&|()<>" for c in token):
                break
            argv.append(token)
    except ValueError:  # an unbalanced quote: the example continues inside YAML/JSON quoting
        argv = text.split()
    return argv


ALL_EXAMPLES = [ex for path in DOC_FILES for ex in _examples_in(path)]


def _parse(argv: list[str]) -> str | None:
    """None when the parser accepts ``argv``, else argparse's message."""
    parser = build_parser()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit as e:
        if e.code not in (0, None):  # --help / --version exit 0
            return err.getvalue().strip().splitlines()[-1] if err.getvalue() else str(e.code)
    return None


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags_problem(argv: list[str]) -> str | None:
    """The subcommand path exists and each option is one its parser accepts."""
    parser = build_parser()
    for token in argv:
        if token.startswith("-") and token != "-":
            flag = token.split("=", 1)[0]
            if flag not in parser._option_string_actions:
                return f"{parser.prog} has no option {flag}"
        elif _subcommands(parser):
            sub = _subcommands(parser).get(token)
            if sub is None:
                return f"{parser.prog} has no command {token!r}"
            parser = sub
    return None


def _check_wrapper(ex: Example, argv: list[str]) -> str | None:
    from npmguard.wrapper.args import may_be_guarded
    from npmguard.wrapper.main import OWN_FLAGS

    rest = argv[1:]
    own = [a for a in rest if a.startswith("--npmguard")]
    unknown = [a for a in own if a not in OWN_FLAGS]
    if unknown:
        return f"unknown wrapper flag(s) {unknown} (known: {sorted(OWN_FLAGS)})"
    npm_part = [a for a in rest if a not in OWN_FLAGS]
    may_be_guarded(argv[0], npm_part)  # must not raise
    return None


def test_docs_have_examples() -> None:
    files = {ex.file.name for ex in ALL_EXAMPLES}
    assert "README.md" in files and len(ALL_EXAMPLES) >= 10, files


@pytest.mark.parametrize("ex", ALL_EXAMPLES, ids=[e.where for e in ALL_EXAMPLES])
def test_documented_command_exists(ex: Example) -> None:
    argv = _argv(ex.text)
    assert argv, f"{ex.where}: cannot read the command `npmguard {ex.text}`"
    if argv[0] in ("npm", "npx"):
        problem = _check_wrapper(ex, argv)
    elif ex.inline:
        problem = _flags_problem(argv)
    else:
        problem = _parse(argv)
    assert problem is None, f"{ex.where}: `npmguard {' '.join(argv)}`: {problem}"


def _commands() -> dict[str, argparse.ArgumentParser]:
    commands = _subcommands(build_parser())
    assert commands, "npmguard has no subcommands"
    return commands


def test_help_lists_every_command() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--help"])
    assert code == 0
    listed = set(re.findall(r"^ {4}([a-z][\w-]*)", out.getvalue(), re.M))
    missing = set(_commands()) - listed
    assert not missing, f"`npmguard --help` does not list {sorted(missing)}"


def test_readme_shows_every_command() -> None:
    """README is the manual a newcomer reads first: each command appears in it."""
    shown = {(_argv(ex.text) or [""])[0] for ex in ALL_EXAMPLES if ex.file.name == "README.md"}
    missing = set(_commands()) - shown
    assert not missing, f"README.md shows no example of `npmguard {'/'.join(sorted(missing))}`"


def test_readme_commands_exist() -> None:
    shown = {(_argv(ex.text) or [""])[0] for ex in ALL_EXAMPLES if ex.file.name == "README.md"}
    unknown = shown - set(_commands()) - {"npm", "npx", "--help", "--version"}
    assert not unknown, f"README.md shows commands npmguard does not have: {sorted(unknown)}"


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("check --offline   # only the cache", ["check", "--offline"]),
        ('shell-init bash)"', ["shell-init", "bash"]),
        ("check -o out.json && echo done", ["check", "-o", "out.json"]),
        ('check --changed-since "origin/$BRANCH" --format json', None),
    ],
)
def test_argv_reader(text: str, argv: list[str] | None) -> None:
    got = _argv(text)
    if argv is None:
        assert got[:3] == ["check", "--changed-since", "origin/$BRANCH"]
    else:
        assert got == argv


def test_a_wrong_flag_is_reported_with_file_and_line(tmp_path: Path) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text("intro\n\n```sh\nnpmguard check --no-such-flag\n```\n")
    (ex,) = list(_examples_in(doc))
    assert ex.line == 4
    assert "unrecognized arguments: --no-such-flag" in (_parse(_argv(ex.text)) or "")


def test_inline_mentions_check_commands_and_flags() -> None:
    assert _flags_problem(["shell-init"]) is None  # arity is not checked in prose
    assert _flags_problem(["check", "--changed-since=HEAD"]) is None
    assert _flags_problem(["check", "--nope"]) == "npmguard check has no option --nope"
    assert _flags_problem(["nope"]) == "npmguard has no command 'nope'"


def _all_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for name, sub in _subcommands(parser).items():
        yield from _all_parsers(sub, (*path, name))


def _documented_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)


def test_every_command_and_flag_is_in_the_docs() -> None:
    """A new command or flag is not done until README.md or docs/ shows it."""
    text = _documented_text()
    shown = {tuple(_argv(ex.text)) for ex in ALL_EXAMPLES}
    words = {w for argv in shown for w in argv}
    missing = []
    for path, parser in _all_parsers(build_parser()):
        if path and path[-1] not in words:
            missing.append(" ".join(path))
        for action in parser._actions:
            longs = [o for o in action.option_strings if o.startswith("--")]
            if not longs or longs[0] in ("--help", "--version"):
                continue
            if not any(re.search(rf"{re.escape(o)}(?![\w-])", text) for o in longs):
                missing.append(f"{' '.join(path)} {longs[0]}")
    assert not missing, f"not in README.md or docs/: {sorted(set(missing))}"
