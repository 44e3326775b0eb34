"""Bad pnpm, yarn and bun lockfiles are clear errors naming the file and the place: exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.errors import ExitCode, LockfileError
from npmguard.lockfile import load_lockfile

MALFORMED = Path(__file__).resolve().parent.parent / "fixtures" / "lockfiles" / "malformed-pm"
FILE_NAMES = {
    "pnpm": "pnpm-lock.yaml",
    "yarn": "yarn.lock",
    "berry": "yarn.lock",
    "bun": "bun.lock",
}

# fixture file -> the message after "<file>: "
CASES = {
    "pnpm-empty.yaml": "empty file",
    "pnpm-not-yaml.yaml": "not valid YAML: did not find expected node content at line 6 column 1",
    "pnpm-conflict.yaml": "unresolved merge conflict (`<<<<<<<`) at line 5",
    "pnpm-no-version.yaml": 'missing "lockfileVersion"',
    "pnpm-version-4.yaml": "unsupported lockfileVersion 4.2; npmguard reads 5.x, 6.x and 9.x",
    "pnpm-version-10.yaml": "unsupported lockfileVersion 10.0; npmguard reads 5.x, 6.x and 9.x",
    "pnpm-packages-list.yaml": "packages: expected a mapping, found a list",
    "pnpm-snapshot-without-package.yaml": (
        "snapshots['a@1.0.0']: no packages['a@1.0.0'] entry for it"
    ),
    "pnpm-no-resolution.yaml": "packages['/a@1.0.0']: missing \"resolution\"",
    "pnpm-top-level-list.yaml": "expected a mapping at the top level, found a list",
    # pnpm reads its lockfile with js-yaml's default schema: `<<` merges entries in (a package
    # npmguard would not see) and a key given twice stops pnpm. Both are refused.
    "pnpm-merge-key.yaml": "a YAML merge key `<<` (pnpm would merge its entries in) at line 13",
    "pnpm-duplicate-key.yaml": "the key 'ms@2.1.2' is given twice in one mapping at line 13",
    "yarn-odd-indent.lock": "line 5: indentation must be two spaces per level",
    "yarn-no-version.lock": 'line 4: a@^1.0.0: missing "version"',
    "yarn-conflict.lock": "unresolved merge conflict (`<<<<<<<`) at line 4",
    "yarn-unterminated.lock": "line 4: unterminated string",
    "yarn-value-at-top.lock": "line 3: expected an entry (`name@range:`), found a value",
    "yarn-not-utf8.lock": "not UTF-8 text (invalid start byte)",
    "berry-metadata-version.lock": "__metadata.version: expected a number",
    "berry-version-11.lock": "unsupported __metadata.version 11; npmguard reads 4 to 10",
    "berry-no-resolution.lock": "line 5: 'a@npm:^1.0.0': missing \"resolution\"",
    "berry-not-yaml.lock": "not valid YAML: found unexpected end of stream at line 8 column 1",
    "bun-not-json.lock": "not valid JSON: Expecting ',' delimiter at line 10 column 5",
    "bun-version-3.lock": "unsupported lockfileVersion 3; npmguard reads 0 to 2",
    "bun-entry-not-array.lock": "packages['a']: expected an array starting with \"name@version\"",
    # bun takes the first "packages", JSON.parse (and Python) the last: refused (found in review)
    "bun-duplicate-key.lock": 'not valid JSON: the key "packages" is given twice in one object',
}


def _as_lockfile(tmp_path: Path, fixture: str) -> Path:
    target = tmp_path / FILE_NAMES[fixture.split("-", 1)[0]]
    shutil.copy(MALFORMED / fixture, target)
    return target


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_message_names_file_and_place(tmp_path: Path, fixture: str) -> None:
    path = _as_lockfile(tmp_path, fixture)
    with pytest.raises(LockfileError) as info:
        load_lockfile(path)
    assert str(info.value) == f"{path}: {CASES[fixture]}"
    assert info.value.exit_code is ExitCode.USAGE
    assert info.value.hint


def test_check_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _as_lockfile(tmp_path, "yarn-odd-indent.lock")
    assert main(["check", str(path), "--lockfile-only"]) == 2
    err = capsys.readouterr().err
    assert "line 5: indentation must be two spaces per level" in err
    assert "Traceback" not in err
