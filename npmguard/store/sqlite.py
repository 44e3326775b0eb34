"""Opening npmguard's SQLite files: one path for the facts cache, the feed store and the
names index (open, check the schema version, migrate, recover, close).

- **Write mode**: the folder is created, the file is opened in WAL mode with a busy timeout
  (several npmguard processes share a cache: parallel hooks, CI jobs), and the schema is
  created. A file written by another schema version is migrated: one the schema lists in
  ``upgrades_from`` gets the new tables; otherwise a *cache* (``Schema.rebuildable``) drops
  its tables and starts empty, and a store of imported data refuses with a hint.
- **Read mode** opens an existing file without creating anything (``None`` when there is
  none); **immutable** mode opens a file that is never written again (no locking at all);
  **read-only** mode opens a file this process may not write (a cache folder mounted
  read-only, or owned by another user): ``mode=ro``, or ``immutable`` when SQLite cannot
  make the WAL's shared-memory file beside it. Read mode falls back to it on such a file.
- **Permissions**: write mode on a file or folder this process may not write raises
  :class:`StoreReadOnlyError` (naming the path and the cause, see :func:`write_problem`)
  before SQLite says "unable to open database file".
- **Recovery**: a file that is not a readable database is set aside as
  ``<name>.broken-<time>`` and a cache is rebuilt, with one warning. A *busy* database
  (another process holds the write lock longer than the timeout) or a *full disk* is never
  mistaken for damage: the file is left as it is and :class:`StoreBusyError` /
  :class:`StoreError` say what happened, so a warm cache is never thrown away.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from npmguard.errors import NpmguardError

log = logging.getLogger(__name__)

Mode = Literal["write", "read", "read-only", "immutable"]
BUSY_SECONDS = 30.0  # how long a write waits for another process's transaction


class StoreError(NpmguardError):
    """A store that cannot be opened or written (and was not damaged by trying)."""


class StoreBusyError(StoreError):
    """Another process held the store's lock for longer than the busy timeout."""


class StoreReadOnlyError(StoreError):
    """A store this process may read but not write (file system mounted read-only, or the
    file or its folder owned by another user). ``reason`` is the cause, e.g. "Permission
    denied"."""

    def __init__(self, message: str, *, reason: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Schema:
    """A store's layout: ``version`` goes into ``PRAGMA user_version``; ``sql`` creates the
    tables (``IF NOT EXISTS``); ``tables`` are dropped when another version is found and
    ``rebuildable`` (a cache); ``what`` names the store in messages ("the facts cache")."""

    what: str
    version: int
    sql: str
    tables: tuple[str, ...]
    rebuildable: bool
    hint: str = ""  # what to do when a store that is not rebuildable cannot be used
    moved_by: str = "--cache-dir / NPMGUARD_CACHE_DIR"  # how a user puts it elsewhere
    # older versions whose files become this one by running ``sql`` (it only adds tables)
    upgrades_from: tuple[int, ...] = ()


def write_problem(path: Path) -> str | None:
    """Why this process cannot write the SQLite file ``path`` ("Read-only file system",
    "Permission denied"), or None when it can. The folder counts too: SQLite keeps its
    journal, WAL and shared-memory files beside the database. A folder that does not exist
    yet is not a problem here (write mode creates it, or says why it cannot)."""
    folder = path.parent
    if not folder.is_dir():
        return None
    for target in (folder, path) if path.exists() else (folder,):
        if not os.access(target, os.W_OK):
            return os.strerror(errno.EROFS if _read_only_fs(target) else errno.EACCES)
    return None


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


def read_only_error(path: Path, schema: Schema, reason: str) -> StoreReadOnlyError:
    """The error for a write to ``path`` that cannot happen, with a hint that fits."""
    return StoreReadOnlyError(
        f"{path}: cannot write {schema.what}: {reason}",
        reason=reason,
        hint=f"make {path.parent} writable for this user (or run as its owner), or point "
        f"{schema.moved_by} at a folder you can write",
    )


def is_busy(error: sqlite3.Error) -> bool:
    """Whether ``error`` means another connection holds a lock (not damage)."""
    text = str(error).lower()
    return "locked" in text or "busy" in text


def is_full(error: BaseException) -> bool:
    """Whether ``error`` means the disk (or a quota) is full (not damage)."""
    if isinstance(error, OSError) and error.errno == 28:  # ENOSPC
        return True
    text = str(error).lower()
    return "disk is full" in text or "disk full" in text or "no space" in text


def is_damage(error: sqlite3.Error) -> bool:
    """Whether ``error`` says the file is not a (readable) database: set it aside."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        return "malformed" in text or "not a database" in text
    return isinstance(error, sqlite3.DatabaseError) and not is_busy(error) and not is_full(error)


def open_sqlite(
    path: Path, schema: Schema, *, mode: Mode = "write", busy: float = BUSY_SECONDS
) -> sqlite3.Connection | None:
    """The store at ``path`` (see the module docs). ``None`` only in the reading modes when
    there is no file. Raises :class:`StoreBusyError`, :class:`StoreReadOnlyError` (write
    mode, a file or folder this process may not write), or :class:`StoreError` for a store
    that cannot be used (disk full, another version of a store that is not a cache).
    """
    if mode != "write" and not path.is_file():
        return None
    if mode == "write":
        problem = write_problem(path)
        if problem is not None:
            raise read_only_error(path, schema, problem)
    try:
        return _connect(path, schema, mode, busy)
    except sqlite3.Error as e:
        if is_busy(e):
            raise StoreBusyError(
                f"{path}: {schema.what} is busy: another npmguard process held it for more "
                f"than {busy:.0f} s",
                hint="wait for the other run to finish (or stop it), then run again",
            ) from e
        problem = write_problem(path) if mode == "write" else None
        if problem is not None:  # it became read-only since the check above
            raise read_only_error(path, schema, problem) from e
        if is_full(e) or not is_damage(e):
            raise StoreError(
                f"{path}: cannot use {schema.what}: {e}", hint=schema.hint or _DISK_HINT
            ) from e
        if not schema.rebuildable or mode != "write":
            raise StoreError(
                f"{path}: {schema.what} is damaged ({e})",
                hint=schema.hint or "delete the file; npmguard creates a new one",
            ) from e
        log.warning("%s: %s is unreadable (%s); rebuilding it", path, schema.what, e)
        set_aside(path)
        try:
            return _connect(path, schema, mode, busy)
        except sqlite3.Error as again:
            raise StoreError(f"{path}: cannot create {schema.what}: {again}") from again
    except OSError as e:
        raise StoreError(
            f"{path}: cannot use {schema.what}: {e.strerror or e}", hint=_DISK_HINT
        ) from e


_DISK_HINT = "free some disk space, or point --cache-dir / NPMGUARD_CACHE_DIR elsewhere"


def _connect(path: Path, schema: Schema, mode: Mode, busy: float) -> sqlite3.Connection:
    if mode == "read" and write_problem(path) is not None:
        mode = "read-only"
    if mode == "read-only":
        db = _open_read_only(path)
        try:
            found = int(db.execute("PRAGMA user_version").fetchone()[0])
            if found != schema.version:
                raise StoreError(
                    f"{path}: {schema.what} was written by another npmguard version "
                    f"(schema {found}, expected {schema.version}) and cannot be rebuilt "
                    "here: it is read-only",
                    hint=schema.hint or f"point {schema.moved_by} at a folder you can write",
                )
        except BaseException:
            db.close()
            raise
        return db
    if mode == "immutable":
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
    if mode == "read":
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=busy, isolation_level=None
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=busy, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy * 1000)}")
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        if mode == "read":
            if found in schema.upgrades_from:
                _migrate(db, path, schema, found)
                return db
            if found != schema.version:
                raise StoreError(
                    f"{path}: {schema.what} was written by another npmguard version "
                    f"(schema {found}, expected {schema.version})",
                    hint=schema.hint,
                )
            return db
        _retrying(db, "PRAGMA journal_mode = WAL", busy)
        db.execute("PRAGMA synchronous = NORMAL")  # a cache: not worth an fsync per commit
        if found != schema.version:
            _migrate(db, path, schema, found)
    except BaseException:
        db.close()
        raise
    return db


def _retrying(db: sqlite3.Connection, sql: str, busy: float) -> None:
    """Run ``sql``, retrying for up to ``busy`` seconds while another process holds the
    database. Switching to WAL needs the database to itself, and SQLite may answer "locked"
    at once instead of waiting (its busy handler is skipped where waiting could deadlock):
    two runs opening a new cache together met that (found in CI)."""
    deadline = time.monotonic() + busy
    while True:
        try:
            db.execute(sql)
            return
        except sqlite3.OperationalError as e:
            if not is_busy(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _open_read_only(path: Path) -> sqlite3.Connection:
    """``mode=ro`` (it sees other processes' commits); ``immutable`` when SQLite cannot open
    it so (a WAL file without its shared-memory file, in a folder it may not write)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA user_version").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
    return sqlite3.connect(
        f"{uri}&immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )


def memory_copy(path: Path, name: str) -> sqlite3.Connection:
    """A copy of the database at ``path`` (opened read-only) in the shared in-memory database
    ``file:{name}?mode=memory&cache=shared``: writes to it last as long as a connection to it
    is open, and never reach ``path``. Returns the connection that keeps it alive."""
    memory = sqlite3.connect(
        f"file:{name}?mode=memory&cache=shared", uri=True, check_same_thread=False
    )
    try:
        source = _open_read_only(path)
        try:
            source.backup(memory)
        finally:
            source.close()
    except BaseException:
        memory.close()
        raise
    return memory


def _migrate(db: sqlite3.Connection, path: Path, schema: Schema, found: int) -> None:
    """Create the tables, dropping another version's first (caches only)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        again = int(db.execute("PRAGMA user_version").fetchone()[0])  # a racing process?
        if again != schema.version:
            if again != 0 and again not in schema.upgrades_from:
                if not schema.rebuildable:
                    raise StoreError(
                        f"{path}: {schema.what} was written by another npmguard version "
                        f"(schema {again}, expected {schema.version})",
                        hint=schema.hint,
                    )
                log.info("%s: %s from schema %d: starting it anew", path, schema.what, found)
                for table in schema.tables:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in schema.sql.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {schema.version}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def set_aside(path: Path) -> None:
    """Rename a damaged database (and its WAL and shared-memory files) out of the way."""
    stamp = time.strftime("%Y%m%d%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            try:
                part.replace(part.with_name(f"{part.name}.broken-{stamp}"))
            except OSError:
                part.unlink(missing_ok=True)


def file_size(path: Path) -> int:
    """Bytes on disk of a database and its WAL."""
    return sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )
