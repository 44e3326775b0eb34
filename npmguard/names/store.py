"""The derived name data, built once into a SQLite file in the cache dir and looked up there.

Parsing the shipped popular-names snapshot (61k names), deriving the words npm people use and
building the typosquat deletion index take about a second together; a warm ``npmguard check``
only needs a few hundred look-ups. So the derived tables live in ``<cache
dir>/names-<hash>.sqlite``, where the hash covers the shipped snapshot (its path, size and
mtime) and ``SCHEMA``: a new snapshot or a new layout gets a new file, and an existing file is
never written again (it is opened immutable). The first process builds it into a temporary file
and renames it into place, so concurrent processes never see half a file (the last rename wins;
both copies are identical). Where the cache dir cannot be written, the tables are built in
memory for this process only.

A first run should not pay that second or two: the install builds the same tables once into
the package (``npmguard/data/names.sqlite``: ``setup.py``'s ``build_py`` step, for wheels and
``pip install -e .`` alike; see :func:`build_prebuilt`). :func:`open_store` uses that file
when its ``meta`` table names the shipped snapshot's SHA-256 and ``SCHEMA``, and otherwise
(missing, stale after the snapshot changed in a checkout, damaged) falls back to the cache
dir's copy, built there on first use as before.

Tables: ``meta(key, value)`` (``schema``, ``snapshot-sha256``);
``popular(id, name, downloads)``; ``words(word)``, every letter run of the popular
names; ``deletes(variant, target)`` and ``squashed(key, target)``, the typosquat index over
targets with at least ``INDEX_MIN_DOWNLOADS`` downloads and ``INDEX_MIN_LENGTH`` characters.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Collection, Iterable
from pathlib import Path

from npmguard.names.snapshot import parse_snapshot, shipped_snapshot, snapshot_key
from npmguard.store.sqlite import Schema, StoreError, open_sqlite

SCHEMA = "names-store 1"
INDEX_MIN_DOWNLOADS = 1_000_000  # typosquat targets kept in the index (the rule's default)
INDEX_MIN_LENGTH = 4
_SEPARATORS = re.compile(r"[-_.]")
_STALE_SECONDS = 30 * 86_400
_CHUNK = 400  # bound parameters per IN (...) query


def deletions(word: str) -> set[str]:
    """Every string one character shorter than ``word``."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _build(conn: sqlite3.Connection, snapshot: bytes) -> None:
    """Fill an empty database from the shipped snapshot."""
    popular = parse_snapshot(snapshot)
    conn.executescript(
        """
        PRAGMA journal_mode = OFF;
        PRAGMA synchronous = OFF;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE popular (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, downloads INTEGER NOT NULL);
        CREATE TABLE words (word TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE deletes (
            variant TEXT NOT NULL, target INTEGER NOT NULL, PRIMARY KEY (variant, target)
        ) WITHOUT ROWID;
        CREATE TABLE squashed (
            key TEXT NOT NULL, target INTEGER NOT NULL, PRIMARY KEY (key, target)
        ) WITHOUT ROWID;
        """
    )
    conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(_meta(snapshot).items()))
    names = sorted(popular)
    conn.executemany(
        "INSERT INTO popular VALUES (?, ?, ?)",
        ((i, n, popular[n]) for i, n in enumerate(names)),
    )
    found: set[str] = set()
    for name in names:
        found.update(w for w in re.split(r"[^a-z]+", name.lower().rsplit("/", 1)[-1]) if w)
    conn.executemany("INSERT INTO words VALUES (?)", ((w,) for w in sorted(found)))
    deletes: set[tuple[str, int]] = set()
    squashed: set[tuple[str, int]] = set()
    for i, name in enumerate(names):
        if popular[name] < INDEX_MIN_DOWNLOADS or len(name) < INDEX_MIN_LENGTH:
            continue
        deletes.add((name, i))
        deletes.update((v, i) for v in deletions(name))
        squashed.add((_SEPARATORS.sub("", name), i))
    conn.executemany("INSERT INTO deletes VALUES (?, ?)", sorted(deletes))
    conn.executemany("INSERT INTO squashed VALUES (?, ?)", sorted(squashed))
    conn.commit()


class NameStore:
    """Indexed look-ups in the derived name data; answers are memoised per process."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self.path = path  # None: built in memory
        self._downloads: dict[str, int | None] = {}
        self._words: dict[str, bool] = {}

    @property
    def location(self) -> str:
        return str(self.path) if self.path is not None else "(in memory)"

    def close(self) -> None:
        self._conn.close()

    def downloads(self, name: str) -> int | None:
        """Approximate monthly downloads of a name the snapshot lists, else None."""
        try:
            return self._downloads[name]
        except KeyError:
            pass
        row = self._conn.execute("SELECT downloads FROM popular WHERE name = ?", (name,)).fetchone()
        value = None if row is None else int(row[0])
        self._downloads[name] = value
        return value

    def downloads_of(self, names: Iterable[str]) -> dict[str, int | None]:
        """:meth:`downloads` of many names, those not asked before looked up together (one
        query per :data:`_CHUNK` names instead of one per name)."""
        wanted = list(dict.fromkeys(names))
        missing = [n for n in wanted if n not in self._downloads]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT name, downloads FROM popular WHERE name IN ({marks})"
            found: dict[str, int | None] = dict.fromkeys(chunk)
            found.update((name, int(n)) for name, n in self._conn.execute(query, chunk))
            self._downloads.update(found)  # remembered only once the query answered
        return {n: self._downloads[n] for n in wanted}

    def is_word(self, word: str) -> bool:
        """Whether ``word`` is a letter run of some popular name."""
        try:
            return self._words[word]
        except KeyError:
            pass
        row = self._conn.execute("SELECT 1 FROM words WHERE word = ?", (word,)).fetchone()
        self._words[word] = row is not None
        return row is not None

    def scope_known(self, scope: str) -> bool:
        """Whether some popular name lives in ``@scope/`` (an organisation npm people use)."""
        low, high = f"@{scope}/", f"@{scope}0"  # "0" sorts right after "/"
        row = self._conn.execute(
            "SELECT 1 FROM popular WHERE name >= ? AND name < ? LIMIT 1", (low, high)
        ).fetchone()
        return row is not None

    def near_targets(
        self, variants: Collection[str], min_downloads: int, min_length: int
    ) -> dict[str, int]:
        """Targets (name -> downloads) that share one of ``variants`` in the deletion index."""
        if min_downloads < INDEX_MIN_DOWNLOADS or min_length < INDEX_MIN_LENGTH:
            raise ValueError("the stored index does not cover these thresholds")
        keys = list(variants)
        out: dict[str, int] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                "SELECT DISTINCT p.name, p.downloads FROM deletes d JOIN popular p "
                f"ON p.id = d.target WHERE d.variant IN ({marks}) "
                "AND p.downloads >= ? AND length(p.name) >= ?",
                (*chunk, min_downloads, min_length),
            )
            out.update((str(n), int(d)) for n, d in rows)
        return out

    def squashed_targets(self, key: str, min_downloads: int, min_length: int) -> dict[str, int]:
        """Targets whose name without separators is ``key``."""
        if min_downloads < INDEX_MIN_DOWNLOADS or min_length < INDEX_MIN_LENGTH:
            raise ValueError("the stored index does not cover these thresholds")
        rows = self._conn.execute(
            "SELECT p.name, p.downloads FROM squashed s JOIN popular p ON p.id = s.target "
            "WHERE s.key = ? AND p.downloads >= ? AND length(p.name) >= ?",
            (key, min_downloads, min_length),
        )
        return {str(n): int(d) for n, d in rows}


# never written after the rename: opened immutable (no locking, no change detection); a new
# snapshot or layout gets a new file name (see ``store_path``), which is its migration
STORE = Schema(what="the names index", version=1, sql="", tables=(), rebuildable=True)


def _open_file(path: Path) -> sqlite3.Connection:
    conn = open_sqlite(path, STORE, mode="immutable")
    if conn is None:
        raise StoreError(f"{path}: no such file")
    conn.execute("SELECT 1 FROM popular LIMIT 1")  # a damaged file fails here, not mid-run
    return conn


def _build_file(directory: Path, path: Path) -> None:
    import tempfile

    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            _build(conn, shipped_snapshot())
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    # an older snapshot's tables, unused for a month (another install may share the dir)
    for old in directory.glob("names-*.sqlite"):
        with contextlib.suppress(OSError):
            if old != path and time.time() - old.stat().st_mtime > _STALE_SECONDS:
                old.unlink()


def _meta(snapshot: bytes) -> dict[str, str]:
    return {"schema": SCHEMA, "snapshot-sha256": hashlib.sha256(snapshot).hexdigest()}


PREBUILT = "data/names.sqlite"


def prebuilt_path() -> Path | None:
    """The store built at install inside the package, if this install has one."""
    import npmguard

    path = Path(npmguard.__file__).parent / PREBUILT
    return path if path.is_file() else None


def build_prebuilt(target: Path) -> None:
    """Build the store for the snapshot shipped beside ``target`` (the install step):
    into a temporary file renamed into place, as the cache copy is."""
    snapshot = (target.parent / "popular-names.txt.gz").read_bytes()
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        _build(conn, snapshot)
    finally:
        conn.close()
    os.replace(tmp, target)


def _open_prebuilt() -> NameStore | None:
    """The store built at install, when it is there and current for the shipped snapshot."""
    path = prebuilt_path()
    if path is None:
        return None
    try:
        conn = _open_file(path)
    except (OSError, sqlite3.Error, StoreError):
        return None
    try:
        found = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error:
        found = {}
    if found != _meta(shipped_snapshot()):
        conn.close()
        return None
    return NameStore(conn, path)


def prebuilt_current() -> bool:
    """Whether :func:`open_store` uses the store built at install (nothing to build)."""
    shipped = _open_prebuilt()
    if shipped is None:
        return False
    shipped.close()
    return True


def store_ready(directory: Path) -> bool:
    """Whether :func:`open_store` for ``directory`` would find a store without building one
    (a cheap guess: the prebuilt file exists, or the cache copy does)."""
    return prebuilt_path() is not None or store_path(directory, snapshot_key()).is_file()


def store_path(directory: Path, key: bytes) -> Path:
    """The store's file for the snapshot identified by ``key``."""
    digest = hashlib.sha256(SCHEMA.encode() + b"\0" + key).hexdigest()[:16]
    return directory / f"names-{digest}.sqlite"


def open_store(directory: Path | None = None, *, prebuilt: bool = True) -> NameStore:
    """The store for the shipped snapshot: the one built at install when it is current
    (``prebuilt``), else the copy under ``directory`` (default: the cache dir), built there
    first if missing; in memory if the directory cannot be written."""
    from npmguard.paths import cache_dir

    if prebuilt:
        shipped = _open_prebuilt()
        if shipped is not None:
            return shipped
    directory = cache_dir() if directory is None else directory
    path = store_path(directory, snapshot_key())
    try:
        if not path.is_file():
            _build_file(directory, path)
        return NameStore(_open_file(path), path)
    except (OSError, sqlite3.Error, StoreError):
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        _build(conn, shipped_snapshot())
        return NameStore(conn, None)
