"""The feed store: imported OSV records in SQLite at ``<data_dir>/feeds.sqlite``.

Tables: ``records`` (one row per OSV id: its source, path in the source, dates, a digest
and the compact JSON without ``details``), ``details`` (the texts, shared: ~150,000 tea.xyz
records carry the same one), ``affected`` (npm name -> record id) and ``hashes``
(``algo:hex`` -> record id) for lookups, ``sources`` (what each import brought, and when),
``shared`` (sources brought from the team cache: which generation, from where, imported by
whom; see :mod:`npmguard.feeds.shared`).
WAL mode, so checks read while an import writes. An import is one transaction: Ctrl-C or an
error leaves the previous data intact. Re-importing is idempotent: a record is rewritten only
when its content changed, and a newer ``modified`` from another source wins over an older
one. A source is a snapshot: records it brought before and no longer holds are removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from npmguard.errors import FeedError
from npmguard.facts import FeedMatch
from npmguard.feeds import default_path
from npmguard.feeds.osv import OsvRecord, match_record, normalise_hashes, parse_record
from npmguard.store.sqlite import Schema, StoreError, file_size, open_sqlite

log = logging.getLogger(__name__)

_BATCH = 5000

_SQL = """
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY, source TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
    imported_at TEXT NOT NULL, records INTEGER NOT NULL, withdrawn INTEGER NOT NULL,
    skipped INTEGER NOT NULL, errors INTEGER NOT NULL, newest_modified TEXT
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, source_id INTEGER NOT NULL, path TEXT NOT NULL, modified TEXT NOT NULL,
    published TEXT, withdrawn TEXT, digest TEXT NOT NULL, details_key TEXT, json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_source ON records(source_id);
CREATE TABLE IF NOT EXISTS details (key TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS affected (
    name TEXT NOT NULL, record_id TEXT NOT NULL, PRIMARY KEY (name, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_record ON affected(record_id);
CREATE TABLE IF NOT EXISTS hashes (
    hash TEXT NOT NULL, record_id TEXT NOT NULL, PRIMARY KEY (hash, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hashes_record ON hashes(record_id);
CREATE TABLE IF NOT EXISTS shared (
    source TEXT PRIMARY KEY, generation TEXT NOT NULL, via TEXT NOT NULL, writer TEXT
) WITHOUT ROWID;
"""


SCHEMA = Schema(
    what="the feed store",
    version=3,
    sql=_SQL,
    tables=("sources", "records", "details", "affected", "hashes", "shared"),
    upgrades_from=(2,),  # version 3 adds the `shared` table
    rebuildable=False,  # imported data: another version is re-imported, never dropped silently
    hint="delete the file and run `npmguard db update` again",
    moved_by="NPMGUARD_DATA_DIR",
)


_SELECT = (
    "SELECT r.id, s.source, s.kind, r.path, r.withdrawn, r.json FROM records r "
    "JOIN sources s ON s.id = r.source_id "
)


def location(source: str, kind: str, path: str) -> str:
    """Where a record was read: the file in a tree, ``archive!member``, or the file itself."""
    if kind == "json" or not path:
        return source
    if kind == "directory":
        return f"{source.rstrip('/')}/{path}"
    return f"{source}!{path}"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source: str  # a path or a redacted URL
    kind: str  # "directory", "zip", "tar", "json"
    imported_at: datetime
    records: int
    withdrawn: int
    skipped: int
    errors: int
    newest_modified: str | None
    via: str | None = None  # the team cache it came through (None: imported here)
    writer: str | None = None  # who imported it into the team cache


@dataclass(frozen=True, slots=True)
class SharedMark:
    """A source brought from the team cache: its generation there, the cache's location
    (no credentials) and who imported it."""

    generation: str
    via: str
    writer: str | None


@dataclass(frozen=True, slots=True)
class ExportedRecord:
    """One stored record as the team cache keeps it: compact OSV JSON with its details."""

    id: str
    path: str
    compact: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedInfo:
    path: Path
    size: int  # bytes on disk (database and WAL)
    records: int
    withdrawn: int
    names: int
    hashes: int
    sources: tuple[SourceInfo, ...]


@dataclass(frozen=True, slots=True)
class ImportCounts:
    seen: int  # records read from the source
    added: int
    updated: int
    unchanged: int
    older: int  # kept the stored copy: it was modified later (from another source)
    removed: int  # brought by this source before, gone from it now
    withdrawn: int


def open_feed_store(path: Path | None = None) -> FeedStore | None:
    """The existing store for reading, or None when no feed was imported. Never creates one.

    Cheap: opens the file and reads its schema version, nothing else. A store that cannot be
    used (damaged, another version, busy) is one warning: ``known-malicious`` cannot judge.
    """
    path = default_path() if path is None else path
    try:
        conn = open_sqlite(path, SCHEMA, mode="read", busy=10.0)
    except StoreError as e:
        log.warning("%s; known-malicious is skipped (%s)", e, e.hint or "run `npmguard db update`")
        return None
    return None if conn is None else FeedStore(conn, path)


def create_feed_store(path: Path | None = None) -> FeedStore:
    """The store for writing, created (with its folder) if needed."""
    path = default_path() if path is None else path
    try:
        conn = open_sqlite(path, SCHEMA)
    except StoreError as e:
        raise FeedError(str(e), hint=e.hint) from e
    assert conn is not None
    return FeedStore(conn, path)


class FeedStore:
    """Lookups by name, version and integrity; imports through ``begin_import``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._parsed: dict[str, OsvRecord] = {}

    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> FeedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    def match(
        self,
        name: str,
        version: str,
        integrity: str | None = None,
        *,
        include_withdrawn: bool = False,
    ) -> list[FeedMatch]:
        """Records that mark ``name@version``, or a tarball with a hash in ``integrity``.

        ``integrity`` is an SSRI string (several hashes allowed) and/or sha1 hex digests,
        space separated. Withdrawn records are left out unless ``include_withdrawn``.
        """
        hashes = normalise_hashes(integrity)
        rows = self._conn.execute(
            _SELECT + "WHERE r.id IN (SELECT record_id FROM affected WHERE name = ?)", (name,)
        ).fetchall()
        if hashes:
            marks = ",".join("?" * len(hashes))
            rows += self._conn.execute(
                _SELECT + f"WHERE r.id IN (SELECT record_id FROM hashes WHERE hash IN ({marks}))",
                hashes,
            ).fetchall()
        out: dict[str, FeedMatch] = {}
        for rid, source, kind, path, withdrawn, text in rows:
            if rid in out or (withdrawn and not include_withdrawn):
                continue
            where = location(source, kind, path)
            found = match_record(self._record(rid, where, text), name, version, hashes, where)
            if found is not None:
                out[rid] = found
        return sorted(out.values(), key=lambda m: m.record_id)

    def record(self, record_id: str) -> tuple[OsvRecord, dict[str, Any], str] | None:
        """One stored record: parsed, as compact OSV JSON with its details, and its location."""
        row = self._conn.execute(_SELECT + "WHERE r.id = ?", (record_id,)).fetchone()
        if row is None:
            return None
        where = location(row[1], row[2], row[3])
        data = json.loads(row[5])
        details = self._conn.execute(
            "SELECT d.text FROM records r JOIN details d ON d.key = r.details_key WHERE r.id = ?",
            (record_id,),
        ).fetchone()
        if details is not None:
            data["details"] = details[0]
        return self._record(record_id, where, row[5]), data, where

    def _record(self, rid: str, location: str, text: str) -> OsvRecord:
        cached = self._parsed.get(rid)
        if cached is None:
            cached = self._parsed[rid] = parse_record(json.loads(text), location)
        return cached

    def last_imported(self) -> datetime | None:
        """When the newest import finished (UTC), or None if nothing was imported."""
        row = self._conn.execute(
            "SELECT MAX(imported_at) FROM sources WHERE imported_at != ''"
        ).fetchone()
        if row is None or not row[0]:
            return None
        when = datetime.fromisoformat(row[0])
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    def info(self) -> FeedInfo:
        def count(sql: str) -> int:
            return int(self._conn.execute(sql).fetchone()[0])

        sources = tuple(
            SourceInfo(
                source=row[0],
                kind=row[1],
                imported_at=datetime.fromisoformat(row[2]),
                records=row[3],
                withdrawn=row[4],
                skipped=row[5],
                errors=row[6],
                newest_modified=row[7],
                via=row[8],
                writer=row[9],
            )
            for row in self._conn.execute(
                "SELECT s.source, s.kind, s.imported_at, s.records, s.withdrawn, s.skipped, "
                "s.errors, s.newest_modified, m.via, m.writer FROM sources s "
                "LEFT JOIN shared m ON m.source = s.source "
                "WHERE s.imported_at != '' ORDER BY s.imported_at DESC"
            )
        )
        return FeedInfo(
            path=self.path,
            size=file_size(self.path),
            records=count("SELECT COUNT(*) FROM records"),
            withdrawn=count("SELECT COUNT(*) FROM records WHERE withdrawn IS NOT NULL"),
            names=count("SELECT COUNT(DISTINCT name) FROM affected"),
            hashes=count("SELECT COUNT(*) FROM hashes"),
            sources=sources,
        )

    # -- writing ----------------------------------------------------------------------------

    def begin_import(
        self,
        source: str,
        kind: str,
        *,
        imported_at: datetime | None = None,
        shared: SharedMark | None = None,
    ) -> ImportBatch:
        """An import of ``source``. ``imported_at``: when it was imported (default: now);
        ``shared``: it comes from the team cache (a local import clears that mark)."""
        return ImportBatch(self._conn, source, kind, imported_at=imported_at, shared=shared)

    def shared_marks(self) -> dict[str, SharedMark]:
        """The sources brought from the team cache, by source."""
        return {
            row[0]: SharedMark(row[1], row[2], row[3])
            for row in self._conn.execute("SELECT source, generation, via, writer FROM shared")
        }

    def source_info(self, source: str) -> SourceInfo | None:
        return next((s for s in self.info().sources if s.source == source), None)

    def export(self, source: str) -> Iterator[ExportedRecord]:
        """Every record ``source`` brought, as compact OSV JSON with its details."""
        rows = self._conn.execute(
            "SELECT r.id, r.path, r.json, d.text FROM records r "
            "JOIN sources s ON s.id = r.source_id LEFT JOIN details d ON d.key = r.details_key "
            "WHERE s.source = ? ORDER BY r.id",
            (source,),
        )
        for rid, path, text, details in rows:
            compact = json.loads(text)
            if details is not None:
                compact["details"] = details
            yield ExportedRecord(rid, path, compact)


class ImportBatch:
    """One import, in one transaction: ``with store.begin_import(...) as batch: batch.add(...)``.

    Leaving the block by an exception (Ctrl-C included) rolls everything back.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        source: str,
        kind: str,
        *,
        imported_at: datetime | None = None,
        shared: SharedMark | None = None,
    ) -> None:
        self._conn = conn
        self.source = source
        self.kind = kind
        self._imported_at = imported_at
        self._shared = shared
        self._existing: dict[str, tuple[str, str]] = {}
        self._seen: set[str] = set()
        self._records: list[tuple[Any, ...]] = []
        self._details: dict[str, str] = {}
        self._source_id = 0
        self._affected: list[tuple[str, str]] = []
        self._hashes: list[tuple[str, str]] = []
        self._replaced: list[tuple[str]] = []
        self._counts = dict(added=0, updated=0, unchanged=0, older=0, withdrawn=0)
        self._newest: str | None = None
        self._read = 0
        self.result: ImportCounts | None = None
        self.skipped = 0  # set by the importer: files that hold no npm malicious record
        self.errors = 0  # set by the importer: files that could not be read

    def __enter__(self) -> ImportBatch:
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute(
            "INSERT INTO sources (source, kind, imported_at, records, withdrawn, skipped, errors) "
            "VALUES (?, ?, '', 0, 0, 0, 0) ON CONFLICT(source) DO NOTHING",
            (self.source, self.kind),
        )
        self._source_id = self._conn.execute(
            "SELECT id FROM sources WHERE source = ?", (self.source,)
        ).fetchone()[0]
        self._existing = {
            rid: (modified, digest)
            for rid, modified, digest in self._conn.execute(
                "SELECT id, modified, digest FROM records"
            )
        }
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._conn.execute("ROLLBACK")
            return
        try:
            self._finish()
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def seen_any(self) -> bool:
        """Whether any record was added (read) in this import."""
        return self._read > 0

    def keep(self, record_id: str) -> None:
        """A record this source still holds but could not be read: keep the stored copy."""
        self._seen.add(record_id)

    def add(self, record: OsvRecord, compact: dict[str, Any], path: str) -> None:
        """Store one record (``compact`` is its ``compact_osv`` form) unless nothing changed.

        ``path`` is the file's path inside the source (empty for a single-file source).
        """
        if record.id in self._seen:
            log.warning("%s: %s appears twice in this source; the newer copy wins", path, record.id)
        self._seen.add(record.id)
        self._read += 1
        if record.withdrawn:
            self._counts["withdrawn"] += 1
        if self._newest is None or record.modified > self._newest:
            self._newest = record.modified
        details = compact.pop("details", None)
        details_key = None
        if details:
            details_key = hashlib.sha1(details.encode()).hexdigest()[:20]
            self._details[details_key] = details
        text = json.dumps(compact, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        digest = hashlib.sha1(
            f"{self._source_id}\0{path}\0{details_key}\0{text}".encode()
        ).hexdigest()[:20]
        old = self._existing.get(record.id)
        if old is not None:
            if old[1] == digest:
                self._counts["unchanged"] += 1
                return
            if record.modified < old[0]:
                self._counts["older"] += 1
                return
            self._replaced.append((record.id,))
            self._counts["updated"] += 1
        else:
            self._counts["added"] += 1
        self._existing[record.id] = (record.modified, digest)
        self._records.append(
            (
                record.id,
                self._source_id,
                path,
                record.modified,
                record.published,
                record.withdrawn,
                digest,
                details_key,
                text,
            )
        )
        self._affected += [(name, record.id) for name in record.names]
        self._hashes += [(h, record.id) for h in record.hashes]
        if len(self._records) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        c = self._conn
        if self._replaced:
            c.executemany("DELETE FROM affected WHERE record_id = ?", self._replaced)
            c.executemany("DELETE FROM hashes WHERE record_id = ?", self._replaced)
        c.executemany("INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?)", self._records)
        c.executemany("INSERT OR IGNORE INTO details VALUES (?,?)", self._details.items())
        c.executemany("INSERT OR IGNORE INTO affected VALUES (?,?)", self._affected)
        c.executemany("INSERT OR IGNORE INTO hashes VALUES (?,?)", self._hashes)
        self._records, self._affected, self._hashes, self._replaced = [], [], [], []
        self._details = {}

    def _finish(self) -> None:
        self._flush()
        c = self._conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY)")
        c.execute("DELETE FROM seen")
        c.executemany("INSERT OR IGNORE INTO seen VALUES (?)", ((i,) for i in self._seen))
        gone = "SELECT id FROM records WHERE source_id = ? AND id NOT IN (SELECT id FROM seen)"
        removed = len(c.execute(gone, (self._source_id,)).fetchall())
        for table in ("affected", "hashes"):
            c.execute(f"DELETE FROM {table} WHERE record_id IN ({gone})", (self._source_id,))
        c.execute(f"DELETE FROM records WHERE id IN ({gone})", (self._source_id,))
        c.execute("DELETE FROM seen")
        c.execute(
            "DELETE FROM details WHERE key NOT IN "
            "(SELECT details_key FROM records WHERE details_key IS NOT NULL)"
        )
        if self._shared is None:
            c.execute("DELETE FROM shared WHERE source = ?", (self.source,))
        else:
            mark = self._shared
            c.execute(
                "INSERT OR REPLACE INTO shared VALUES (?, ?, ?, ?)",
                (self.source, mark.generation, mark.via, mark.writer),
            )
        when = self._imported_at or datetime.now(timezone.utc)
        c.execute(
            "UPDATE sources SET kind = ?, imported_at = ?, records = ?, withdrawn = ?, "
            "skipped = ?, errors = ?, newest_modified = ? WHERE id = ?",
            (
                self.kind,
                when.isoformat(timespec="seconds"),
                self._read,
                self._counts["withdrawn"],
                self.skipped,
                self.errors,
                self._newest,
                self._source_id,
            ),
        )
        self.result = ImportCounts(seen=self._read, removed=removed, **self._counts)
