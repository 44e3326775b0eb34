"""Bad lockfiles are clear errors naming the file and the JSON path: exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.errors import ExitCode, LockfileError
from npmguard.lockfile import load_lockfile

MALFORMED = Path(__file__).resolve().parent.parent / "fixtures" / "lockfiles" / "malformed"
ROOT = Path(__file__).resolve().parent.parent.parent

# fixture file -> the message after "<file>: "
CASES = {
    "empty.json": "empty file, expected a JSON object",
    "null.json": "expected a JSON object at the top level, found null",
    "top-level-array.json": "expected a JSON object at the top level, found an array",
    "truncated.json": "not valid JSON: unexpected end of file at line 7 column 1",
    "merge-conflict.json": "not valid JSON: unresolved merge conflict (`<<<<<<<`) at line 5",
    "single-quotes.json": (
        "not valid JSON: Expecting property name enclosed in double quotes at line 2 column 3"
    ),
    "not-utf8.json": "not valid JSON: not UTF-8 text (invalid continuation byte)",
    "unknown-lockfile-version.json": "unsupported lockfileVersion 4; npmguard reads 1, 2 and 3",
    "lockfile-version-string.json": "lockfileVersion: expected a whole number, found a string",
    "lockfile-version-fraction.json": "lockfileVersion: expected a whole number, found 3.5",
    "packages-not-object.json": "packages: expected an object, found an array",
    "entry-not-object.json": 'packages["node_modules/x"]: expected an object, found a string',
    "version-not-string.json": (
        'packages["node_modules/x"].version: expected a string, found a number'
    ),
    "flag-not-boolean.json": (
        'packages["node_modules/x"].dev: expected true or false, found a string'
    ),
    "missing-version.json": 'packages["node_modules/x"]: missing "version"',
    "dependency-spec-not-string.json": (
        'packages["node_modules/x"].dependencies["y"]: expected a string, found a number'
    ),
    "v1-missing-version.json": 'dependencies["a"].dependencies["b"]: missing "version"',
    "v1-dependencies-not-object.json": "dependencies: expected an object, found a string",
    # issue 13: Python's reader raised RecursionError / accepted what Node refuses
    "nested-1000-deep.json": (
        "not valid JSON: nested too deeply to read (arrays and objects inside each other)"
    ),
    "nan.json": "not valid JSON: NaN is not JSON (Node's JSON.parse refuses it)",
}


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_message_names_file_and_json_path(name: str) -> None:
    path = MALFORMED / name
    with pytest.raises(LockfileError) as info:
        load_lockfile(path)
    assert str(info.value) == f"{path}: {CASES[name]}"
    assert info.value.exit_code is ExitCode.USAGE
    assert info.value.hint


@pytest.mark.parametrize("name", sorted(CASES))
def test_ls_exits_2_naming_the_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = MALFORMED / name
    assert main(["ls", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"npmguard: error: {path}: {CASES[name]}\n")
    assert "Traceback" not in err


def test_check_exits_2_in_a_subprocess() -> None:
    path = MALFORMED / "missing-version.json"
    proc = subprocess.run(
        [sys.executable, "-m", "npmguard", "check", "--lockfile-only", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2
    assert f'{path}: packages["node_modules/x"]: missing "version"' in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err


def test_bun_binary_lockfile_is_named_as_unreadable(tmp_path: Path) -> None:
    from npmguard.errors import UsageError
    from npmguard.lockfile import load_lockfile

    path = tmp_path / "bun.lockb"
    path.write_bytes(b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n\x03\x00")
    with pytest.raises(UsageError, match="binary lockfile") as info:
        load_lockfile(path)
    assert "bun install --save-text-lockfile" in str(info.value)
