"""Which lockfile a folder means, and `ls` on every format."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.lockfile import find_lockfile

SOURCES = Path(__file__).resolve().parent.parent / "fixtures" / "lockfiles" / "sources"


def _folder(tmp_path: Path, *files: tuple[str, str], manager: str | None = None) -> Path:
    for folder, name in files:
        shutil.copy(SOURCES / folder / name, tmp_path / name)
    manifest: dict[str, str] = {"name": "app"}
    if manager:
        manifest["packageManager"] = manager
    (tmp_path / "package.json").write_text(json.dumps(manifest))
    return tmp_path


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("pnpm-9.0", "pnpm-lock.yaml"),
        ("yarn-v1", "yarn.lock"),
        ("yarn-berry-10", "yarn.lock"),
        ("bun", "bun.lock"),
    ],
)
def test_the_only_lockfile(tmp_path: Path, folder: str, name: str) -> None:
    assert find_lockfile(_folder(tmp_path, (folder, name))) == tmp_path / name


def test_package_manager_field_picks_among_several(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = (("pnpm-9.0", "pnpm-lock.yaml"), ("yarn-v1", "yarn.lock"), ("bun", "bun.lock"))
    folder = _folder(tmp_path, *files, manager="yarn@1.22.22")
    with caplog.at_level(logging.WARNING):
        assert find_lockfile(folder) == tmp_path / "yarn.lock"
    assert "also found" in caplog.text and "pnpm-lock.yaml" in caplog.text
    assert "packageManager yarn" in caplog.text


def test_without_package_manager_the_table_order_decides(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _folder(tmp_path, ("bun", "bun.lock"), ("yarn-v1", "yarn.lock"))
    with caplog.at_level(logging.WARNING):
        assert find_lockfile(folder) == tmp_path / "yarn.lock"
    assert "bun.lock" in caplog.text and "name every lockfile" in caplog.text


def test_text_bun_lockfile_wins_over_the_binary_one(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ("bun", "bun.lock"), ("bun-binary", "bun.lockb"))
    assert find_lockfile(folder) == tmp_path / "bun.lock"


@pytest.mark.parametrize(
    ("folder", "name", "rows"),
    [
        ("pnpm-5.4", "pnpm-lock.yaml", 14),
        ("yarn-v1", "yarn.lock", 13),  # yarn classic does not lock workspaces
        ("yarn-berry-10", "yarn.lock", 16),
        ("bun", "bun.lock", 93),
    ],
)
def test_ls_reads_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], folder: str, name: str, rows: int
) -> None:
    path = _folder(tmp_path, (folder, name)) / name
    assert main(["ls", str(path), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == rows
    assert {r["installed_as"] for r in listed} & {"lp", "lodash-alias"}  # the alias
    assert all(isinstance(r["line"], int) for r in listed if r["source"] != "link")
    hashed = [r for r in listed if r["source"] == "registry"]
    if folder == "yarn-berry-10":  # the checksum is shown apart from integrity
        assert all(r["checksum"].startswith("10c0/") and not r["integrity"] for r in hashed)
    else:
        assert all(r["integrity"].startswith("sha512-") and not r["checksum"] for r in hashed)
    assert main(["ls", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(as lp)" in out or "(as lodash-alias)" in out


def test_pnpm_git_branch_lockfiles_are_named_read_and_discovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With `git-branch-lockfile=true` pnpm reads `pnpm-lock.<branch>.yaml` instead of
    pnpm-lock.yaml (found in review): a folder still means pnpm-lock.yaml, with a warning
    naming the branch lockfiles; they are read when named, found by --recursive, and the
    pre-commit hook runs on them."""
    import re

    from npmguard.lockfile import discover_lockfiles, hook_files_pattern, load_lockfile

    folder = _folder(tmp_path, ("pnpm-9.0", "pnpm-lock.yaml"))
    branch = folder / "pnpm-lock.feature!login.yaml"
    shutil.copy(folder / "pnpm-lock.yaml", branch)
    with caplog.at_level(logging.WARNING):
        assert find_lockfile(folder) == folder / "pnpm-lock.yaml"
    assert "pnpm-lock.feature!login.yaml" in caplog.text
    assert load_lockfile(branch).packages
    assert discover_lockfiles(folder) == sorted([folder / "pnpm-lock.yaml", branch])
    pattern = re.compile(hook_files_pattern())
    assert pattern.search("web/pnpm-lock.feature!login.yaml")
    assert not pattern.search("web/pnpm-lock.yaml.bak")
