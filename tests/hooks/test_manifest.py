"""The hook manifest, validated the way pre-commit validates it when it installs a hook."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

clientlib = pytest.importorskip("pre_commit.clientlib")


def _hooks() -> list[dict[str, Any]]:
    return list(clientlib.load_manifest(str(MANIFEST)))


def test_manifest_is_valid_for_pre_commit() -> None:
    hooks = _hooks()  # raises InvalidManifestError with pre-commit's own message
    assert [h["id"] for h in hooks] == ["npmguard"]


def test_validate_manifest_command_accepts_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hook_runs_the_changed_entries_check_serially() -> None:
    (hook,) = _hooks()
    assert hook["language"] == "python"
    assert hook["entry"] == "npmguard check --changed-since HEAD"
    assert hook["require_serial"] is True
    assert hook["pass_filenames"] is True
    # --changed-since HEAD is meaningless once the commit exists (pre-push, post-commit)
    assert set(hook["stages"]) == {"pre-commit", "pre-merge-commit", "manual"}


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        ("package-lock.json", True),
        ("npm-shrinkwrap.json", True),
        ("apps/web/package-lock.json", True),
        ("a/b/c/npm-shrinkwrap.json", True),
        ("package.json", False),
        ("my-package-lock.json", False),
        ("package-lock.json.bak", False),
        ("node_modules/.package-lock.json", False),
        ("yarn.lock", True),
        ("apps/web/pnpm-lock.yaml", True),
        ("bun.lock", True),
        ("bun.lockb", False),  # binary: nothing to read
        ("pnpm-lock.yml", False),
        ("yarn.lock.orig", False),
    ],
)
def test_hook_file_pattern(path: str, matches: bool) -> None:
    (hook,) = _hooks()
    # pre-commit matches `files` with re.search on the repo-relative path
    assert bool(re.search(str(hook["files"]), path)) is matches


def test_hook_files_come_from_the_reader_table() -> None:
    """The manifest names exactly the lockfiles the reader table can read (one source)."""
    from npmguard.lockfile import hook_files_pattern

    (hook,) = _hooks()
    assert hook["files"] == hook_files_pattern()


def test_entry_command_exists() -> None:
    """The entry's command and flags are accepted by the CLI this repository ships."""
    from npmguard.cli import build_parser

    (hook,) = _hooks()
    argv = str(hook["entry"]).split()
    assert argv[0] == "npmguard"
    args = build_parser().parse_args([*argv[1:], "package-lock.json"])
    assert args.command == "check"
    assert args.changed_since == "HEAD"
