"""The SQLite facts store: rows, immutability, several processes, damaged files."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from npmguard.reputation.store import FILE_NAME, SCHEMA, FactsStore, NewPackage
from npmguard.store.sqlite import StoreBusyError, open_sqlite

REG = "https://registry.example/"


def pkg(
    name: str, picture: bytes = b"pic", manifests: dict[str, bytes] | None = None
) -> NewPackage:
    return NewPackage(REG, name, "ok", picture, manifests or {})


def test_save_and_read_back(tmp_path: Path) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save(
            [pkg("a", b"A", {"1.0.0": b"m1"}), NewPackage(REG, "gone", "not-found", None, {})],
            {"sha512-x": b"T"},
            now=1000.0,
        )
        rows = store.packages(
            [(REG, "a"), (REG, "gone"), (REG, "missing"), ("https://other/", "a")]
        )
        assert set(rows) == {(REG, "a"), (REG, "gone")}
        assert rows[(REG, "a")].picture == b"A" and rows[(REG, "a")].fetched_at == 1000.0
        assert rows[(REG, "a")].age(now=1500.0) == 500.0
        assert rows[(REG, "gone")].status == "not-found" and rows[(REG, "gone")].picture is None
        assert store.manifests([(REG, "a", "1.0.0"), (REG, "a", "2.0.0")]) == {
            (REG, "a", "1.0.0"): b"m1"
        }
        assert store.tarballs(["sha512-x", "sha512-y"]) == {"sha512-x": b"T"}
        stats = store.stats()
        assert (stats.packages, stats.versions, stats.tarballs) == (2, 1, 1)
        assert stats.bytes > 0 and stats.path == tmp_path / FILE_NAME


def test_pictures_refresh_versions_and_tarballs_are_kept(tmp_path: Path) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a", b"old", {"1.0.0": b"first"})], {"sha512-x": b"T1"}, now=1.0)
        store.save([pkg("a", b"new", {"1.0.0": b"second"})], {"sha512-x": b"T2"}, now=2.0)
        row = store.packages([(REG, "a")])[(REG, "a")]
        assert (row.picture, row.fetched_at) == (b"new", 2.0)  # the picture is replaced
        # published versions never change: the first facts stay
        assert store.manifests([(REG, "a", "1.0.0")])[(REG, "a", "1.0.0")] == b"first"
        assert store.tarballs(["sha512-x"]) == {"sha512-x": b"T1"}


def test_many_names_are_read_in_chunks(tmp_path: Path) -> None:
    names = [f"p{i}" for i in range(1300)]
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg(n) for n in names])
        assert len(store.packages((REG, n) for n in names)) == 1300


def test_clear(tmp_path: Path) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a", manifests={"1": b"m"})], {"i": b"t"})
        store.clear()
        stats = store.stats()
        assert (stats.packages, stats.versions, stats.tarballs) == (0, 0, 0)


def test_wal_mode_and_busy_timeout(tmp_path: Path) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_damaged_file_is_set_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not sqlite at all" * 100)
    with caplog.at_level(logging.WARNING), FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])
        assert (REG, "a") in store.packages([(REG, "a")])
    assert "unreadable" in caplog.text and "rebuilding" in caplog.text
    assert list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_other_schema_version_is_rebuilt(tmp_path: Path) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])
    db = sqlite3.connect(tmp_path / FILE_NAME)
    db.execute("PRAGMA user_version = 7")
    db.commit()
    db.close()
    with FactsStore.in_dir(tmp_path) as store:
        assert store.packages([(REG, "a")]) == {}
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA.version
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))  # migrated in place, not damage


def test_a_busy_store_is_never_taken_for_damage(tmp_path: Path) -> None:
    """A file another process keeps locked past the timeout is an error that says so; the
    file stays where it is (it used to be set aside as "unreadable")."""
    path = tmp_path / FILE_NAME
    holder = sqlite3.connect(path, isolation_level=None)  # rollback journal: locks readers
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    try:
        with pytest.raises(StoreBusyError, match="busy: another npmguard process"):
            open_sqlite(path, SCHEMA, busy=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_a_write_blocked_past_the_timeout_costs_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another run holding the write lock: this run's new facts are not saved (one
    warning), the cache keeps what it had, and the run goes on."""
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])
    holder = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.WARNING), FactsStore(tmp_path / FILE_NAME, busy=0.2) as s:
            s.save([pkg("b")])
            assert (REG, "a") in s.packages([(REG, "a")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "could not save new facts" in caplog.text
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_a_full_disk_costs_a_warning_not_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])

        def full(*args: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store, "_write", full)
        with caplog.at_level(logging.WARNING):
            store.save([pkg("b")])
        assert "could not save new facts" in caplog.text
        assert (REG, "a") in store.packages([(REG, "a")])
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_a_bad_page_found_mid_run_starts_the_cache_anew(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged page is found by a query, not at open: the store is set aside, the query
    answers nothing (those facts are fetched again) and later queries work."""
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg(f"p{i}", manifests={"1.0.0": b"m" * 200}) for i in range(400)])
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray((tmp_path / FILE_NAME).read_bytes())
    for offset in range(4096 * 2, len(data), 4096):  # every page but the header and schema
        data[offset : offset + 64] = b"\xff" * 64
    (tmp_path / FILE_NAME).write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), FactsStore.in_dir(tmp_path) as store:
        assert store.manifests([(REG, f"p{i}", "1.0.0") for i in range(400)]) == {}
        store.save([pkg("fresh")])
        assert (REG, "fresh") in store.packages([(REG, "fresh")])
    assert "damaged" in caplog.text
    assert list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_store_of_the_previous_format_is_fetched_again(tmp_path: Path) -> None:
    """Format 7 stores pictures in sections format 6 cannot read, and format 6 added bundled
    packages' install scripts and bundleDependencies: a store written by format 5 has none,
    and reading it as if it had would take them for "none"; it is emptied (fetched again)
    instead, as one of format 4 (no per-version maintainers) and one from before manifests
    recorded their integrity and origin (schema 1xx; the team cache, issue 16)."""
    assert SCHEMA.version == 207
    for older in (206, 205, 204, 105, 104):
        with FactsStore.in_dir(tmp_path) as store:
            store.save([pkg("a")])
        db = sqlite3.connect(tmp_path / FILE_NAME)
        db.execute(f"PRAGMA user_version = {older}")
        db.commit()
        db.close()
        with FactsStore.in_dir(tmp_path) as store:
            assert store.packages([(REG, "a")]) == {}


class _Failing:
    """A connection whose every statement fails as SQLite says (the busy timeout has
    passed already, or the disk is full)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError(self.message)


def test_a_lock_held_past_the_timeout_while_reading_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: a lock held by another process past the busy timeout was exit 4 when a
    query (not the open) met it. Having waited the bounded timeout, it says what happened."""
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])
        real = store._db
        monkeypatch.setattr(store, "_db", _Failing("database is locked"))
        with pytest.raises(StoreBusyError, match="busy: another process held it") as err:
            store.packages([(REG, "a")])
        assert err.value.exit_code == 2 and "wait for the other run" in err.value.hint
        monkeypatch.setattr(store, "_db", real)
        assert (REG, "a") in store.packages([(REG, "a")])
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_a_failing_read_is_an_error_that_keeps_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (a sort's temporary file) or an I/O error while reading: a clear error,
    the warm cache left where it is."""
    from npmguard.store.sqlite import StoreError

    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])
        real = store._db
        monkeypatch.setattr(store, "_db", _Failing("database or disk is full"))
        with pytest.raises(StoreError, match="cannot read the facts cache"):
            store.packages([(REG, "a")])
        monkeypatch.setattr(store, "_db", real)
        assert (REG, "a") in store.packages([(REG, "a")])
    assert not list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_damage_met_while_writing_starts_the_cache_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a")])

        def damaged(*args: object) -> None:
            raise sqlite3.DatabaseError("database disk image is malformed")

        monkeypatch.setattr(store, "_write", damaged)
        with caplog.at_level(logging.WARNING):
            store.save([pkg("b")])  # no exception: this run's facts still serve it
        monkeypatch.undo()
        store.save([pkg("c")])
        assert set(store.packages([(REG, n) for n in "abc"])) == {(REG, "c")}
    assert "damaged" in caplog.text and list(tmp_path.glob(f"{FILE_NAME}.broken-*"))


def test_forget_drops_damaged_rows_so_they_are_written_again(tmp_path: Path) -> None:
    with FactsStore.in_dir(tmp_path) as store:
        store.save([pkg("a", manifests={"1.0.0": b"damaged"})], {"sha512-x": b"damaged"})
        store.save([pkg("a", manifests={"1.0.0": b"good"})], {"sha512-x": b"good"})
        assert store.manifests([(REG, "a", "1.0.0")])[(REG, "a", "1.0.0")] == b"damaged"
        store.forget(versions=[(REG, "a", "1.0.0")], tarballs=["sha512-x"])
        store.save([pkg("a", manifests={"1.0.0": b"good"})], {"sha512-x": b"good"})
        assert store.manifests([(REG, "a", "1.0.0")])[(REG, "a", "1.0.0")] == b"good"
        assert store.tarballs(["sha512-x"]) == {"sha512-x": b"good"}


def _writer(directory: str, prefix: str, rounds: int) -> None:
    store = FactsStore.in_dir(Path(directory))
    for r in range(rounds):
        store.save(
            [pkg(f"{prefix}{r}-{i}", manifests={"1.0.0": b"m"}) for i in range(20)]
            + [pkg("shared", prefix.encode())],
            {f"sha512-{prefix}{r}": b"t", "sha512-shared": prefix.encode()},
        )
        store.packages([(REG, "shared")])
    store.close()


def test_two_processes_write_the_same_store(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), p, 15)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    with FactsStore.in_dir(tmp_path) as store:
        stats = store.stats()
        assert stats.packages == 2 * 15 * 20 + 1
        assert stats.versions == 2 * 15 * 20
        assert stats.tarballs == 2 * 15 + 1
        assert store.packages([(REG, "shared")])[(REG, "shared")].picture in (b"a", b"b")


def _opener(directory: str, go: object) -> None:
    go.wait()  # type: ignore[attr-defined]
    FactsStore.in_dir(Path(directory)).close()


def test_many_processes_opening_a_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    """Found in CI: a run opening a new cache while another switched it to WAL was told at
    once that the cache was "busy for more than 30 s" (SQLite answers "locked" without
    waiting there): with eight processes starting together, some failed in every few rounds.
    The switch is retried within the busy timeout."""
    ctx = multiprocessing.get_context("fork")
    failed = 0
    for round_ in range(12):
        go = ctx.Event()
        folder = tmp_path / str(round_)
        procs = [ctx.Process(target=_opener, args=(str(folder), go)) for _ in range(8)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join(60)
        failed += sum(p.exitcode != 0 for p in procs)
    assert failed == 0
