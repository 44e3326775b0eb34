"""The facts cache recovers, end to end through ``npmguard check`` (issue 13): a damaged
row is fetched again (a finding that depends on it never silently disappears), and a file
with garbage pages is set aside and rebuilt, once, with the run going on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry, build_tarball, sri_sha512
from hostile import findings, locked_project, run_cli

from npmguard.paths import cache_dir


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names_cache: None) -> None:
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.delenv("npm_config_registry", raising=False)


def _tampered(reg: FakeRegistry, folder: Path) -> Path:
    """A lockfile whose integrity for ``tampered@1.0.0`` is not the registry's."""
    reg.add_version("tampered", "1.0.0", published="2019-01-01T00:00:00Z")
    lock = locked_project(reg, folder, {"tampered": "1.0.0"}, npmrc="fetch-retries=0\n")
    other = sri_sha512(build_tarball({"package/index.js": "evil()"}))
    text = lock.read_text()
    lock.write_text(text.replace(reg.packages["tampered"].versions["1.0.0"].integrity, other))
    return lock


def test_a_damaged_version_row_is_fetched_again(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    """A version row that cannot be decoded was "ignored" and never fetched again, so
    integrity-mismatch disappeared for good. It is dropped, fetched and written anew."""
    lock = _tampered(fake_registry, tmp_path)
    blocked = ("tampered", "integrity-mismatch", "block")
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 1 and blocked in findings(out), err
    facts = cache_dir() / "facts.sqlite"
    with sqlite3.connect(facts) as db:
        db.execute("UPDATE version SET manifest = x'00ff00ff'")
    fake_registry.clear_log()
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 1 and blocked in findings(out), err
    assert "fetching them again" in err
    assert [r.path for r in fake_registry.requests] == ["/tampered"]
    code, out, err = run_cli("check", str(lock), "--format", "json", "--offline")
    assert code == 1 and blocked in findings(out)  # repaired: read from the cache
    assert "unreadable" not in err


def test_garbage_pages_in_the_facts_cache_are_rebuilt_once(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    names = {f"pkg-{i}": "1.0.0" for i in range(40)}
    lock = locked_project(fake_registry, tmp_path, names, npmrc="fetch-retries=0\n")
    assert run_cli("check", str(lock), "-q")[0] == 0
    facts = cache_dir() / "facts.sqlite"
    with sqlite3.connect(facts) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(facts.read_bytes())
    for offset in range(4096 * 2, len(data), 4096):
        data[offset : offset + 64] = b"\xff" * 64
    facts.write_bytes(bytes(data))
    code, _, err = run_cli("check", str(lock))
    assert code == 0 and "damaged" in err and "starting it anew" in err
    assert len(list(facts.parent.glob("facts.sqlite.broken-*"))) == 1
    fake_registry.clear_log()
    code, _, err = run_cli("check", str(lock), "--offline")
    assert code == 0 and "damaged" not in err  # the rebuilt cache serves the next run
