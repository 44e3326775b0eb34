"""`--changed-since` on pnpm, yarn and bun lockfiles: the old file comes from git, read by the
same reader; only entries whose resolved URL, integrity or checksum changed count."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hook_repo import commit_all, init_repo

from npmguard.cli import main
from npmguard.cli.check import changed_entries
from npmguard.lockfile import load_lockfile

SOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles" / "sources"

# (fixture folder, file name, text to replace, replacement, the entry that changes)
CASES = [
    (
        "pnpm-9.0",
        "pnpm-lock.yaml",
        "sha512-CQpnWPrDwmP1+SMHXZhtLtJv90yiyVfluGsX5iNCVkrhQtU3TQHsUWPG9wkdk9Lgd5yNpAg9jQEo90CBaXgWMA==",
        "sha512-" + "A" * 86 + "==",
        "is-odd@3.0.1",
    ),
    (
        "pnpm-5.4",
        "pnpm-lock.yaml",
        "resolution: {tarball: http://127.0.0.1:47999/tgz-pkg-3.0.0.tgz}",
        "resolution: {tarball: http://127.0.0.1:47999/other-3.0.0.tgz}",
        "tgz-pkg@3.0.0",
    ),
    (
        "yarn-v1",
        "yarn.lock",
        "https://registry.npmjs.org/kind-of/-/kind-of-3.2.2.tgz",
        "https://evil.example/kind-of/-/kind-of-3.2.2.tgz",
        "kind-of@3.2.2",
    ),
    (
        "yarn-berry-10",
        "yarn.lock",
        "checksum: 10c0/7e34bc29d4b02c997f92f080de34ebb92033a96736bbb0bb2410e033a7e5ae",
        "checksum: 10c0/0000bc29d4b02c997f92f080de34ebb92033a96736bbb0bb2410e033a7e5ae",
        "kind-of@3.2.2",
    ),
    (
        "bun",
        "bun.lock",
        '"lodash-alias": ["lodash@4.18.1", ""',
        '"lodash-alias": ["lodash@4.18.1", "https://evil.example/"',
        "lodash@4.18.1",
    ),
]


@pytest.mark.parametrize(("folder", "name", "old", "new", "changed"), CASES)
def test_only_the_changed_entry(
    tmp_path: Path, folder: str, name: str, old: str, new: str, changed: str
) -> None:
    repo = init_repo(tmp_path / "repo")
    lock = repo / "app" / name
    lock.parent.mkdir()
    shutil.copy(SOURCES / folder / name, lock)
    commit_all(repo)
    assert changed_entries([load_lockfile(lock)], "HEAD") == set()
    text = lock.read_text()
    assert old in text
    lock.write_text(text.replace(old, new, 1))
    assert changed_entries([load_lockfile(lock)], "HEAD") == {changed}


def test_version_bump_in_a_pnpm_lockfile(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    lock = repo / "pnpm-lock.yaml"
    shutil.copy(SOURCES / "pnpm-9.0" / "pnpm-lock.yaml", lock)
    commit_all(repo)
    lock.write_text(
        lock.read_text().replace("ms@2.1.3", "ms@2.1.4").replace("ms: 2.1.3", "ms: 2.1.4")
    )
    assert changed_entries([load_lockfile(lock)], "HEAD") == {"ms@2.1.4"}


def test_several_kinds_in_one_lockfile_only_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`npmguard check a/pnpm-lock.yaml b/yarn.lock c/bun.lock`: one report, every file."""
    paths = []
    for folder, name in (
        ("pnpm-9.0", "pnpm-lock.yaml"),
        ("yarn-v1", "yarn.lock"),
        ("bun", "bun.lock"),
    ):
        target = tmp_path / folder / name
        target.parent.mkdir()
        shutil.copy(SOURCES / folder / name, target)
        paths.append(str(target))
    code = main(
        ["check", *paths, "--lockfile-only", "--format", "json", "--policy", "npmguard:default"]
    )
    import json

    report = json.loads(capsys.readouterr().out)
    assert [lf["format"] for lf in report["lockfiles"]] == ["pnpm-v9.0", "yarn-v1", "bun-v2"]
    found = {(f["rule"], f["package"]) for f in report["findings"]}
    assert ("lock-git-source", "gitdep") in found  # from each format that has it
    assert ("lock-url-source", "tgz-pkg") in found
    assert code in (0, 1)
