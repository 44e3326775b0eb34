"""The facts store: compact facts per package, version and tarball in one SQLite file.

``<cache_dir>/facts.sqlite`` (``--cache-dir`` / ``NPMGUARD_CACHE_DIR``). Tables:

- ``package(registry, name, status, fetched_at, picture)``: the package-level picture
  (versions with their publish times and publishers, dist-tags, removal); it goes stale after
  a TTL (24 hours by default, :data:`DEFAULT_TTL`) and is then fetched again; ``--refresh``
  refetches at once, ``--offline`` uses it however old.
- ``version(registry, name, version, manifest, integrity, origin)``: one version's
  package.json facts, the dist integrity they describe, and where they came from
  ("registry", or "shared": the team cache). Published versions never change, so rows are
  kept for good; a row from the team cache is replaced by the registry's own answer, and one
  whose integrity disagrees with the lockfile is never served (see ``manifests``).
- ``tarball(integrity, facts)``: what a tarball holds, keyed by its integrity; kept for good.

Values are zlib-compressed JSON (:mod:`npmguard.reputation.codec`). The file is opened by
:func:`npmguard.store.sqlite.open_sqlite`: WAL mode with a busy timeout, so several npmguard
processes (parallel pre-commit hooks, CI jobs) read and write it at once; writes are short
transactions (a cold run writes a batch every 256 packages). A file written by another
format, or that is not a readable database, is started anew (with a warning): it is a cache.
A write that fails because the disk is full or another process holds the lock costs a run
one warning (and one wait for the lock), never the cached facts.

A cache this process may read but not write (a CI cache mounted read-only, a folder owned by
another user) is opened read-only by :meth:`FactsStore.in_dir`: checks use the facts it holds;
what a run fetches serves that run only (one warning on the first write that cannot happen),
and ``--offline`` works from what is there. ``cache clear`` (:meth:`FactsStore.clear`) needs
write access and says why it has none (:class:`~npmguard.store.sqlite.StoreReadOnlyError`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from npmguard.reputation.codec import FORMAT
from npmguard.store.base import NewPackage, StoredPackage, StoreStats, integrity_conflicts
from npmguard.store.sqlite import (
    BUSY_SECONDS,
    Schema,
    StoreBusyError,
    StoreError,
    StoreReadOnlyError,
    file_size,
    is_busy,
    is_damage,
    open_sqlite,
    read_only_error,
    set_aside,
)

log = logging.getLogger(__name__)

FILE_NAME = "facts.sqlite"
DEFAULT_TTL = 24 * 3600.0  # seconds a package picture counts as fresh
SCHEMA = Schema(
    what="the facts cache",
    version=200 + FORMAT,  # the codec's format: a new encoding starts the cache anew
    sql="""
CREATE TABLE IF NOT EXISTS package (
    registry TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    fetched_at REAL NOT NULL, picture BLOB,
    PRIMARY KEY (registry, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS version (
    registry TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, manifest BLOB NOT NULL,
    integrity TEXT, origin TEXT NOT NULL DEFAULT 'registry',
    PRIMARY KEY (registry, name, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tarball (integrity TEXT PRIMARY KEY, facts BLOB NOT NULL)
    WITHOUT ROWID;
""",
    tables=("meta", "package", "version", "tarball"),
    rebuildable=True,
)
_DISK_HINT = "free some disk space, or point --cache-dir / NPMGUARD_CACHE_DIR elsewhere"
_CHUNK = 500  # names per IN (...) query: well under SQLite's parameter limit

__all__ = ["DEFAULT_TTL", "FactsStore", "NewPackage", "StoreStats", "StoredPackage"]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class FactsStore:
    """One connection to the facts store; use from one thread (the fetch workers hand their
    results back to the caller, which writes them)."""

    def __init__(
        self, path: Path, *, busy: float = BUSY_SECONDS, read_only: str | None = None
    ) -> None:
        """Open (and create) the store at ``path`` for reading and writing; raises
        :class:`~npmguard.store.sqlite.StoreReadOnlyError` when it cannot be written.
        ``read_only``: why it cannot ("Permission denied"): open it read-only instead (an
        empty store when there is no file); :meth:`save` and :meth:`forget` then keep
        nothing."""
        self._path = path
        self.read_only = read_only
        self._told = False  # the read-only warning was given
        self._unsaved = False  # a write failed (full, busy): said once, not waited for again
        db = open_sqlite(path, SCHEMA, mode="read-only" if read_only else "write", busy=busy)
        if db is None:  # read-only and no file: nothing cached, nothing to keep
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(SCHEMA.sql)
        self._db = db
        self._busy = busy

    @property
    def path(self) -> Path:
        return self._path

    @property
    def location(self) -> str:
        return str(self.path)

    @classmethod
    def in_dir(cls, cache_dir: Path) -> FactsStore:
        """The store in ``cache_dir``, read-only when this process may not write it."""
        path = cache_dir / FILE_NAME
        try:
            return cls(path)
        except StoreReadOnlyError as e:
            log.info("%s; reading it without writing", e)
            return cls(path, read_only=e.reason)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FactsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def packages(
        self, registry_names: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredPackage]:
        by_registry: dict[str, list[str]] = {}
        for registry, name in registry_names:
            by_registry.setdefault(registry, []).append(name)
        out: dict[tuple[str, str], StoredPackage] = {}
        for registry, names in by_registry.items():
            for chunk in _chunks(sorted(set(names))):
                marks = ",".join("?" * len(chunk))
                rows = self._rows(
                    "SELECT name, status, fetched_at, picture FROM package "
                    f"WHERE registry = ? AND name IN ({marks})",
                    (registry, *chunk),
                )
                for name, status, fetched_at, picture in rows:
                    out[(registry, name)] = StoredPackage(
                        registry, name, status, fetched_at, picture
                    )
        return out

    def manifests(
        self,
        keys: Iterable[tuple[str, str, str]],
        *,
        expect: Mapping[tuple[str, str, str], str | None] | None = None,
    ) -> dict[tuple[str, str, str], bytes]:
        """Encoded manifests for (registry, name, version) keys that are stored; a row from
        the team cache whose integrity disagrees with ``expect`` (the lockfile's) is left
        out (see :class:`~npmguard.store.base.FactsBackend`)."""
        by_registry: dict[str, set[str]] = {}
        wanted = set(keys)
        for registry, name, _ in wanted:
            by_registry.setdefault(registry, set()).add(name)
        out: dict[tuple[str, str, str], bytes] = {}
        for registry, names in by_registry.items():
            for chunk in _chunks(sorted(names)):
                marks = ",".join("?" * len(chunk))
                rows = self._rows(
                    "SELECT name, version, manifest, integrity, origin FROM version "
                    f"WHERE registry = ? AND name IN ({marks})",
                    (registry, *chunk),
                )
                for name, version, blob, integrity, origin in rows:
                    key = (registry, name, version)
                    if key not in wanted:
                        continue
                    if (
                        origin != "registry"
                        and expect is not None
                        and integrity_conflicts(expect.get(key), integrity)
                    ):
                        continue
                    out[key] = blob
        return out

    def tarballs(self, integrities: Iterable[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for chunk in _chunks(sorted(set(integrities))):
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                f"SELECT integrity, facts FROM tarball WHERE integrity IN ({marks})", tuple(chunk)
            )
            out.update((str(k), bytes(v)) for k, v in rows)
        return out

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """A query's rows; a damaged file (a bad page found mid-run) is set aside and started
        anew with one warning, and the query answers nothing: those facts are fetched again."""
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as e:
            if is_busy(e):  # waited the busy timeout already: say so, never a traceback
                raise StoreBusyError(
                    f"{self.path}: the facts cache is busy: another process held it for "
                    f"more than {self._busy:.0f} s",
                    hint="wait for the other run to finish (or stop it), then run again",
                ) from e
            if not is_damage(e):  # a full disk (a sort's temporary file), an I/O error
                raise StoreError(
                    f"{self.path}: cannot read the facts cache: {e}", hint=_DISK_HINT
                ) from e
            if self.read_only:  # cannot be set aside: those facts are fetched (or unknown)
                log.warning("%s: the facts cache is damaged (%s)", self.path, e)
                return []
            self._start_anew(e)
            return []

    def _start_anew(self, error: sqlite3.Error) -> None:
        """Set a damaged file aside and open a new, empty one (one warning)."""
        log.warning("%s: the facts cache is damaged (%s); starting it anew", self.path, error)
        self._db.close()
        set_aside(self.path)
        db = open_sqlite(self.path, SCHEMA, busy=self._busy)
        assert db is not None
        self._db = db

    # -- writing -------------------------------------------------------------------------------

    def save(
        self,
        packages: Iterable[NewPackage] = (),
        tarballs: Mapping[str, bytes] | None = None,
        *,
        now: float | None = None,
        more: bool = False,
    ) -> None:
        """Write what a run learned in one transaction (versions and tarballs: insert only,
        the first facts seen stay; a damaged row is dropped first, see :meth:`forget`)."""
        stamp = time.time() if now is None else now
        pkgs = list(packages)
        if not pkgs and not tarballs:
            return
        if self.read_only:
            if not self._told:
                self._told = True
                log.warning(
                    "%s: the cache folder cannot be written (%s): checks use the facts it "
                    "holds, but facts fetched now serve this run only",
                    self.path.parent,
                    self.read_only,
                )
            return
        try:
            self._write(pkgs, tarballs or {}, stamp)
        except sqlite3.Error as e:
            if is_damage(e):  # a bad page met while writing: the next run starts afresh
                self._start_anew(e)
                return
            # full, busy or an I/O error: what was fetched still serves this run, and the
            # cache keeps what it had. Said once; the run's later writes (a cold run saves
            # every SAVE_EVERY packages) are still tried, without waiting for a lock again
            if not self._unsaved:
                self._unsaved = True
                log.warning("%s: could not save new facts to the cache (%s)", self.path, e)
                self._db.execute("PRAGMA busy_timeout = 0")

    def _write(
        self, pkgs: Sequence[NewPackage], tarballs: Mapping[str, bytes], stamp: float
    ) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # outside the try: a busy BEGIN has nothing to undo
        try:
            db.executemany(
                "INSERT OR REPLACE INTO package (registry, name, status, fetched_at, picture) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (p.registry, p.name, p.status, p.fetched_at or stamp, p.picture)
                    for p in pkgs
                    if p.status is not None
                ],
            )
            # kept for good; only the registry's own answer replaces a team-cache row
            db.executemany(
                "INSERT INTO version (registry, name, version, manifest, integrity, origin) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (registry, name, version) DO UPDATE "
                "SET manifest = excluded.manifest, integrity = excluded.integrity, "
                "origin = excluded.origin "
                "WHERE version.origin != 'registry' AND excluded.origin = 'registry'",
                [
                    (p.registry, p.name, v, blob, p.integrities.get(v), p.origin)
                    for p in pkgs
                    for v, blob in p.manifests.items()
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO tarball (integrity, facts) VALUES (?, ?)",
                list(tarballs.items()),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def forget(
        self, versions: Iterable[tuple[str, str, str]] = (), tarballs: Iterable[str] = ()
    ) -> None:
        """Drop rows that could not be read (damaged), so that the facts fetched again are
        written in their place; a store that cannot be written keeps them (one warning)."""
        keys, integrities = list(versions), list(tarballs)
        if (not keys and not integrities) or self.read_only:
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "DELETE FROM version WHERE registry = ? AND name = ? AND version = ?", keys
                )
                db.executemany(
                    "DELETE FROM tarball WHERE integrity = ?", [(i,) for i in integrities]
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            log.warning("%s: could not drop damaged rows (%s)", self.path, e)

    # -- maintenance ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        def count(table: str) -> int:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

        return StoreStats(
            self.path, file_size(self.path), count("package"), count("version"), count("tarball")
        )

    def clear(self) -> None:
        """Delete every row. Raises :class:`~npmguard.store.sqlite.StoreReadOnlyError` when
        the store was opened read-only."""
        if self.read_only:
            raise read_only_error(self.path, SCHEMA, self.read_only)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("package", "version", "tarball"):
                db.execute(f"DELETE FROM {table}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
