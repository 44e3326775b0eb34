"""A cache folder npmguard can read but not write (a CI cache mounted read-only, a folder
owned by another user): checks use what it holds, ``--offline`` included, and keep nothing;
a write that cannot happen (``cache clear``) names the permission problem and the path.

The end-to-end tests run the real CLI in a child process that sees the cache folder through
a read-only bind mount (``unshare``: a user and mount namespace), or, where that is not
allowed and the tests do not run as root, on a folder with its write bits removed. Unit
tests cover the same logic with the write check answering "Permission denied".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main
from npmguard.reputation.store import FILE_NAME, FactsStore
from npmguard.store.base import NewPackage
from npmguard.store.sqlite import StoreReadOnlyError

_MOUNT_RO = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _bind_mount_works(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", _MOUNT_RO, str(folder), "true"], capture_output=True
    )
    return probe.returncode == 0


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Any]:
    """A function running the CLI (args) with ``folder`` read-only for it: (exit, out, err)."""
    chmodded: list[Path] = []

    def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "npmguard", *args]
        if _bind_mount_works(folder):
            command = ["unshare", "-rm", "sh", "-c", _MOUNT_RO, str(folder), *command]
        elif os.geteuid() != 0:
            for path in (folder, *folder.iterdir()):
                path.chmod(path.stat().st_mode & ~0o222)
                chmodded.append(path)
        else:
            pytest.skip("needs a read-only bind mount (unshare) or a user that is not root")
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)

    yield run
    for path in chmodded:
        path.chmod(path.stat().st_mode | 0o200)


@pytest.fixture
def warm(fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder warmed by a real check of two packages; returns the folder."""
    for name in ("cached-a", "cached-b"):
        fake_registry.add_version(name, "1.0.0", published="2019-01-01T00:00:00Z")
    monkeypatch.setenv("npm_config_registry", fake_registry.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "package-lock.json").write_text(
        json.dumps(fake_registry.lockfile(["cached-a", "cached-b"]))
    )
    assert main(["check", "-q"]) == 0
    cache = Path(os.environ["NPMGUARD_CACHE_DIR"])
    assert (cache / FILE_NAME).is_file()
    return cache


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_checks_use_a_read_only_cache_and_keep_nothing(warm: Path, read_only: Any) -> None:
    before = _digest(warm)
    got = read_only(warm, "check", "--offline")
    assert got.returncode == 0, got.stderr
    assert "2 packages, 0 blocked, 0 warned, 2 ok;" in got.stdout
    assert "not checked" not in got.stdout.splitlines()[-1]
    assert "cannot" not in got.stderr  # offline keeps nothing anyway: no warning

    got = read_only(warm, "check", "--refresh")  # fetches again: cannot keep it
    assert got.returncode == 0, got.stderr
    assert "2 ok;" in got.stdout
    assert got.stderr.count("cannot be written") == 1, got.stderr
    assert f"{warm}: the cache folder cannot be written" in got.stderr
    assert "serve this run only" in got.stderr

    got = read_only(warm, "cache", "info")
    assert got.returncode == 0, got.stderr
    assert "access:   read-only" in got.stdout and "2 packages" in got.stdout
    assert _digest(warm) == before


def test_cache_clear_names_the_permission_problem(warm: Path, read_only: Any) -> None:
    got = read_only(warm, "cache", "clear")
    assert got.returncode == 2
    assert f"{warm / FILE_NAME}: cannot write the facts cache: " in got.stderr
    assert "Read-only file system" in got.stderr or "Permission denied" in got.stderr
    assert f"make {warm} writable" in got.stderr
    assert "disk space" not in got.stderr and "unable to open" not in got.stderr
    with FactsStore(warm / FILE_NAME) as store:
        assert store.stats().packages == 2  # nothing was cleared


# -- the same logic, as a unit: the write check says "Permission denied" ----------------------


@pytest.fixture
def denied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("npmguard.store.sqlite.write_problem", lambda path: "Permission denied")


def _package(name: str) -> NewPackage:
    return NewPackage("https://registry.npmjs.org/", name, "ok", b"x", {})


def test_a_store_that_cannot_be_written_is_opened_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([_package("kept")])
    monkeypatch.setattr("npmguard.store.sqlite.write_problem", lambda path: "Permission denied")
    with pytest.raises(StoreReadOnlyError, match="cannot write the facts cache"):
        FactsStore(tmp_path / FILE_NAME)
    caplog.set_level(logging.WARNING, "npmguard")
    with FactsStore.in_dir(tmp_path) as store:
        assert store.read_only == "Permission denied"
        assert list(store.packages([("https://registry.npmjs.org/", "kept")]))
        store.save([_package("new-1")])
        store.save([_package("new-2")])
        store.forget(versions=[("https://registry.npmjs.org/", "kept", "1.0.0")])
        with pytest.raises(StoreReadOnlyError, match="Permission denied"):
            store.clear()
    assert [r.getMessage() for r in caplog.records].count(
        f"{tmp_path}: the cache folder cannot be written (Permission denied): checks use the "
        "facts it holds, but facts fetched now serve this run only"
    ) == 1
    monkeypatch.undo()
    with FactsStore.in_dir(tmp_path) as store:
        assert store.stats().packages == 1  # only what was there


def test_no_file_in_a_read_only_folder_is_an_empty_store(tmp_path: Path, denied: None) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        assert store.stats().packages == 0
        store.save([_package("a")])
    assert not (tmp_path / FILE_NAME).exists()


def test_read_only_http_cache_is_used_from_a_copy_in_memory(
    fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from npmguard.registry.http import CACHE_FILE, make_session
    from npmguard.registry.npmrc import NpmConfig

    fake_registry.add_version("one", "1.0.0")
    fake_registry.add_version("two", "1.0.0")
    config = NpmConfig(registry=fake_registry.url)
    session = make_session(config, tmp_path)
    assert session.get(fake_registry.url + "one").status_code == 200
    session.close()
    before = _digest(tmp_path)[CACHE_FILE]
    monkeypatch.setattr("npmguard.store.sqlite.write_problem", lambda path: "Permission denied")
    offline = make_session(config, tmp_path, offline=True)
    try:
        assert offline.get(fake_registry.url + "one").status_code == 200  # from the copy
    finally:
        offline.close()
    online = make_session(config, tmp_path)
    try:
        fake_registry.clear_log()
        assert online.get(fake_registry.url + "two").status_code == 200
        assert online.get(fake_registry.url + "two").status_code == 200
        assert len(fake_registry.requests) == 1  # kept in memory for this run
    finally:
        online.close()
    assert _digest(tmp_path)[CACHE_FILE] == before  # (the folder is writable really: SQLite
    # may make its shared-memory file beside it; a read-only one is tested end to end)
