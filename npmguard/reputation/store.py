"""The facts store: compact facts per package, version and tarball in one SQLite file.

``<cache_dir>/facts.sqlite`` (``--cache-dir`` / ``NPMGUARD_CACHE_DIR``). Tables:

- ``package(registry, name, status, fetched_at, picture)``: the package-level picture
  (versions with their publish times and publishers, dist-tags, removal); it goes stale after
  a TTL (24 hours by default, :data:`DEFAULT_TTL`) and is then fetched again; ``--refresh``
  refetches at once, ``--offline`` uses it however old.
- ``version(registry, name, version, manifest)``: one version's package.json facts. Published
  versions never change, so rows are kept for good.
- ``tarball(integrity, facts)``: what a tarball holds, keyed by its integrity; kept for good.
- ``meta(key, value)``: the schema version; a store written by another format is rebuilt.

Values are zlib-compressed JSON (:mod:`npmguard.reputation.codec`). The file is in WAL mode
with a busy timeout, so several npmguard processes (parallel pre-commit hooks, CI jobs) read
and write it at once; writes are one short transaction per run. A file that is not a readable
database is set aside with a warning and rebuilt: it is a cache.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from npmguard.reputation.codec import FORMAT

log = logging.getLogger(__name__)

FILE_NAME = "facts.sqlite"
DEFAULT_TTL = 24 * 3600.0  # seconds a package picture counts as fresh
SCHEMA_VERSION = f"1.{FORMAT}"
_CHUNK = 500  # names per IN (...) query: well under SQLite's parameter limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS package (
    registry TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    fetched_at REAL NOT NULL, picture BLOB,
    PRIMARY KEY (registry, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS version (
    registry TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, manifest BLOB NOT NULL,
    PRIMARY KEY (registry, name, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tarball (integrity TEXT PRIMARY KEY, facts BLOB NOT NULL)
    WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class StoredPackage:
    """A package row: ``status`` "ok" (``picture`` set) or "not-found" (the registry's 404)."""

    registry: str
    name: str
    status: str
    fetched_at: float
    picture: bytes | None

    def age(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at


@dataclass(frozen=True, slots=True)
class NewPackage:
    """What a fetch learned about one package, to be written in one transaction."""

    registry: str
    name: str
    status: str
    picture: bytes | None
    manifests: Mapping[str, bytes]  # version -> encoded ManifestFacts


@dataclass(frozen=True, slots=True)
class StoreStats:
    path: Path
    bytes: int  # the database file and its WAL
    packages: int
    versions: int
    tarballs: int


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class FactsStore:
    """One connection to the facts store; use from one thread (the fetch workers hand their
    results back to the caller, which writes them)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = self._open()

    @classmethod
    def in_dir(cls, cache_dir: Path) -> FactsStore:
        return cls(cache_dir / FILE_NAME)

    # -- opening -------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as e:
            log.warning("%s: the facts cache is unreadable (%s); rebuilding it", self.path, e)
            self._set_aside()
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # a cache: durability of the last run is
            row = None  # not worth an fsync per commit
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.OperationalError as e:
                if "no such table" not in str(e):
                    raise
            if row is None or row[0] != SCHEMA_VERSION:
                self._create(db, replace=row is not None)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _create(self, db: sqlite3.Connection, *, replace: bool) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            if replace:  # another format: its rows mean nothing to this version
                for table in ("package", "version", "tarball"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _set_aside(self) -> None:
        stamp = time.strftime("%Y%m%d%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                try:
                    part.replace(part.with_name(f"{part.name}.broken-{stamp}"))
                except OSError:
                    part.unlink(missing_ok=True)

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
                rows = self._db.execute(
                    "SELECT name, status, fetched_at, picture FROM package "
                    f"WHERE registry = ? AND name IN ({marks})",
                    (registry, *chunk),
                )
                for name, status, fetched_at, picture in rows:
                    out[(registry, name)] = StoredPackage(
                        registry, name, status, fetched_at, picture
                    )
        return out

    def manifests(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], bytes]:
        """Encoded manifests for (registry, name, version) keys that are stored."""
        by_registry: dict[str, set[str]] = {}
        wanted = set(keys)
        for registry, name, _ in wanted:
            by_registry.setdefault(registry, set()).add(name)
        out: dict[tuple[str, str, str], bytes] = {}
        for registry, names in by_registry.items():
            for chunk in _chunks(sorted(names)):
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT name, version, manifest FROM version "
                    f"WHERE registry = ? AND name IN ({marks})",
                    (registry, *chunk),
                )
                for name, version, blob in rows:
                    key = (registry, name, version)
                    if key in wanted:
                        out[key] = blob
        return out

    def tarballs(self, integrities: Iterable[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for chunk in _chunks(sorted(set(integrities))):
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT integrity, facts FROM tarball WHERE integrity IN ({marks})", chunk
            )
            out.update(rows)
        return out

    # -- writing -------------------------------------------------------------------------------

    def save(
        self,
        packages: Iterable[NewPackage] = (),
        tarballs: Mapping[str, bytes] | None = None,
        *,
        now: float | None = None,
    ) -> None:
        """Write what a run learned in one transaction (versions and tarballs: insert only)."""
        stamp = time.time() if now is None else now
        pkgs = list(packages)
        if not pkgs and not tarballs:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO package (registry, name, status, fetched_at, picture) "
                "VALUES (?, ?, ?, ?, ?)",
                [(p.registry, p.name, p.status, stamp, p.picture) for p in pkgs],
            )
            db.executemany(
                "INSERT OR IGNORE INTO version (registry, name, version, manifest) "
                "VALUES (?, ?, ?, ?)",
                [(p.registry, p.name, v, blob) for p in pkgs for v, blob in p.manifests.items()],
            )
            db.executemany(
                "INSERT OR IGNORE INTO tarball (integrity, facts) VALUES (?, ?)",
                list((tarballs or {}).items()),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- maintenance ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        def count(table: str) -> int:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

        size = sum(
            Path(f"{self.path}{s}").stat().st_size
            for s in ("", "-wal")
            if Path(f"{self.path}{s}").exists()
        )
        return StoreStats(self.path, size, count("package"), count("version"), count("tarball"))

    def clear(self) -> None:
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
