"""`--changed-since`: only the entries a commit adds or changes are checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hook_repo import commit_all, fake_integrity, git, init_repo, lockfile_text

from npmguard.cli.check import changed_entries
from npmguard.errors import UsageError
from npmguard.gitutil import file_at_revision
from npmguard.lockfile import load_lockfile


def _changed(lock: Path, rev: str = "HEAD") -> set[str]:
    return changed_entries([load_lockfile(lock)], rev)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


def test_new_file_is_all_new(repo: Path) -> None:
    (repo / "README").write_text("x\n")
    commit_all(repo)
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.0.0"}))
    assert _changed(lock) == {"a@1.0.0", "b@2.0.0"}


def test_repository_without_commits_is_all_new(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    assert _changed(lock) == {"a@1.0.0"}


def test_unchanged_file_has_no_changes(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.0.0"}))
    commit_all(repo)
    assert _changed(lock) == set()


def test_added_and_bumped_entries_only(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.0.0", "c": "3.0.0"}))
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.1.0", "c": "3.0.0", "d": "4.0.0"}))
    assert _changed(lock) == {"b@2.1.0", "d@4.0.0"}


def test_removed_entries_are_not_checked(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.0.0"}))
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    assert _changed(lock) == set()


def test_changed_integrity_for_same_version_counts_as_changed(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.0.0"}))
    commit_all(repo)
    lock.write_text(
        lockfile_text({"a": "1.0.0", "b": "2.0.0"}, integrity={"b@2.0.0": fake_integrity("evil")})
    )
    assert _changed(lock) == {"b@2.0.0"}


def test_changed_resolved_host_counts_as_changed(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0"}, registry="https://evil.example/"))
    assert _changed(lock) == {"a@1.0.0"}


def test_tampered_second_occurrence_counts_as_changed(repo: Path) -> None:
    """The same name@version at two paths: a change to the nested copy is still a change."""
    lock = repo / "package-lock.json"
    doc = json.loads(lockfile_text({"a": "1.0.0", "x": "1.0.0"}, nested={"a/x": "1.0.0"}))
    lock.write_text(json.dumps(doc, indent=2))
    commit_all(repo)
    doc["packages"]["node_modules/a/node_modules/x"]["integrity"] = fake_integrity("evil")
    lock.write_text(json.dumps(doc, indent=2))
    assert _changed(lock) == {"x@1.0.0"}


def test_moved_entry_is_not_a_change(repo: Path) -> None:
    """npm hoisting a package to another folder changes nothing that was checked."""
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}, nested={"a/x": "1.0.0"}))
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0", "x": "1.0.0"}))
    assert _changed(lock) == set()


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("dev", True, None),  # comes into scope under include-dev = false (found in review)
        ("inBundle", True, None),  # npm now fetches it from the registry
        ("optional", True, None),
        ("hasInstallScript", None, True),
        ("license", "MIT", "UNLICENSED"),
    ],
)
def test_a_change_of_scope_or_flags_counts_as_changed(
    repo: Path, field: str, old: object, new: object
) -> None:
    lock = repo / "package-lock.json"

    def write(value: object) -> None:
        doc = json.loads(lockfile_text({"a": "1.0.0", "b": "2.0.0"}))
        if value is not None:
            doc["packages"]["node_modules/b"][field] = value
        lock.write_text(json.dumps(doc, indent=2) + "\n")

    write(old)
    commit_all(repo)
    write(new)
    assert _changed(lock) == {"b@2.0.0"}


def test_lockfile_in_a_subfolder_against_an_older_revision(repo: Path) -> None:
    lock = repo / "web" / "package-lock.json"
    lock.parent.mkdir()
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    first = commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "1.0.0"}))
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "1.0.0", "c": "1.0.0"}))
    assert _changed(lock, first) == {"b@1.0.0", "c@1.0.0"}
    assert _changed(lock, "HEAD") == {"c@1.0.0"}


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    commit_all(repo)
    with pytest.raises(UsageError, match="unknown revision 'origin/nope'"):
        _changed(lock, "origin/nope")


def test_outside_a_git_work_tree_is_a_usage_error(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    with pytest.raises(UsageError, match="not inside a git work tree"):
        file_at_revision(lock, "HEAD")


def test_file_at_revision_reads_committed_bytes_not_the_work_tree(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text("committed\n")
    commit_all(repo)
    lock.write_text("edited\n")
    assert file_at_revision(lock, "HEAD") == b"committed\n"
    assert git(repo, "status", "--porcelain") == "M package-lock.json"


def _check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "npmguard", "check", "--lockfile-only", "-q", *args],
        cwd=repo,
        capture_output=True,
        text=True,
    )


def test_cli_changed_since_ignores_old_problems_and_all_restores_them(repo: Path) -> None:
    """An old entry from a plain-http mirror blocks a full check but not a commit that leaves
    it alone (a plain-http registry.npmjs.org URL would not: npm fetches it over https)."""
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"old-http": "1.0.0"}, registry="http://mirror.example/"))
    commit_all(repo)
    doc = json.loads(lock.read_text())
    doc["packages"][""]["dependencies"]["fresh"] = "1.0.0"
    doc["packages"]["node_modules/fresh"] = json.loads(lockfile_text({"fresh": "1.0.0"}))[
        "packages"
    ]["node_modules/fresh"]
    lock.write_text(json.dumps(doc, indent=2))

    changed = _check(repo, "--changed-since", "HEAD", "--format", "json")
    assert changed.returncode == 0, changed.stderr
    checked = {p["name"] for p in json.loads(changed.stdout)["packages"]}
    assert checked == {"fresh"}

    everything = _check(repo, "--changed-since", "HEAD", "--all")
    assert everything.returncode == 1, everything.stdout + everything.stderr
    assert "old-http" in everything.stdout


def test_cli_changed_since_blocks_a_changed_entry(repo: Path) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0"}, registry="http://mirror.example/"))
    done = _check(repo, "--changed-since", "HEAD", "package-lock.json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "a@1.0.0" in done.stdout or "a 1.0.0" in done.stdout


def test_a_broken_committed_copy_counts_as_none(
    repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Review: a damaged lockfile once committed (``--no-verify``) must not block the commit
    that repairs it: every entry is checked, as for a new file, and the warning names the
    committed copy ("... at HEAD"), not the working copy, which is fine."""
    lock = repo / "package-lock.json"
    lock.write_text('{"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": 1}}\n')
    commit_all(repo)
    lock.write_text(lockfile_text({"a": "1.0.0", "b": "2.0.0"}))
    with caplog.at_level("WARNING"):
        assert _changed(lock) == {"a@1.0.0", "b@2.0.0"}
    assert "package-lock.json at HEAD" in caplog.text
    assert "checking every entry" in caplog.text


@pytest.mark.parametrize("rev", ["--output=/tmp/x", "-p", ""])
def test_a_revision_git_would_read_as_an_option_is_refused(repo: Path, rev: str) -> None:
    lock = repo / "package-lock.json"
    lock.write_text(lockfile_text({"a": "1.0.0"}))
    commit_all(repo)
    done = subprocess.run(
        [sys.executable, "-m", "npmguard", "check", f"--changed-since={rev}", str(lock)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "not a git revision" in done.stderr


def test_committed_bytes_larger_than_the_pipe_and_odd_folder_names(tmp_path: Path) -> None:
    """git's output is read whole whatever its size (more than the 1 MB pipe), from a folder
    whose name git could read as an option, and through a symlink to the lockfile."""

    repo = init_repo(tmp_path / "-C x")
    lock = repo / "package-lock.json"
    big = b"".join(b"%08d " % i + b"x" * 90 + b"\n" for i in range(30_000))  # ~3 MB
    lock.write_bytes(big)
    commit_all(repo)
    lock.write_text("edited\n")
    assert file_at_revision(lock, "HEAD") == big
    link = tmp_path / "elsewhere.json"
    link.symlink_to(lock)
    assert file_at_revision(link, "HEAD") == big


def test_git_missing_or_stopped_early(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from npmguard.gitutil import FileAtRevision

    lock = repo / "package-lock.json"
    lock.write_bytes(b"x" * 3_000_000)
    commit_all(repo)
    shown = FileAtRevision(lock, "HEAD")  # git started, then an error: stopped, reaped
    pid = shown._pid
    assert pid is not None
    shown.close()
    assert shown._pid is None and shown._out is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # nothing left to reap
    monkeypatch.setenv("PATH", str(repo / "no-such-folder"))
    with pytest.raises(UsageError, match="git not found on PATH"):
        FileAtRevision(lock, "HEAD").result()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_git_runs_with_the_signals_python_ignores_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python ignores SIGPIPE and SIGXFSZ; git is started with them restored (as subprocess
    does), so a git whose reader went away stops as it would from a shell."""
    from npmguard.gitutil import FileAtRevision

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nexec grep SigIgn /proc/self/status\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    shown = FileAtRevision(tmp_path / "package-lock.json", "HEAD").result()
    assert shown is not None
    ignored = int(shown.split()[-1], 16)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        assert not ignored & (1 << (sig - 1)), sig


def test_without_posix_spawn_git_is_asked_step_by_step(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``os.posix_spawnp`` is missing (Windows), the committed copy is still read."""
    from npmguard.gitutil import FileAtRevision

    lock = repo / "package-lock.json"
    lock.write_text("committed\n")
    commit_all(repo)
    lock.write_text("edited\n")
    monkeypatch.delattr(os, "posix_spawnp")
    assert FileAtRevision(lock, "HEAD").result() == b"committed\n"
    with pytest.raises(UsageError, match="unknown revision"):
        FileAtRevision(lock, "nope").result()
