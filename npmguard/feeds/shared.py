"""Imported feeds in the team cache: imported once, seen by every machine.

``npmguard db update`` on a machine that may write the team cache (a CI job of the security
team) imports a source into its own feed store, then publishes it: every record that source
brought (compact OSV JSON with its details) under a new *generation*. Every other machine
brings a source whose generation it has not seen into its own feed store before a check
(one hash read per run when nothing changed), and checks against that local copy, so a
Redis that is down costs the newest records, never the ones already brought. ``db info``
says where each source came from (the source itself, the team cache, who imported it) and
how old its import is. The organisation's own OSV records (a folder or an https URL the
security team maintains) are one more source.

Keys under ``npmguard:feeds:<feed store schema>:``: ``sources`` (a hash, source -> JSON:
kind, import time, counts, generation, writer) and ``records:<generation>`` (a hash,
record id -> JSON: the record's path in its source and its compact OSV form). A publish
writes the new generation's records first, then points ``sources`` at it, then drops the
previous generation: a reader never sees half a source.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npmguard.errors import FeedError
from npmguard.feeds.osv import parse_record
from npmguard.feeds.store import SCHEMA, FeedStore, SharedMark, create_feed_store, location

if TYPE_CHECKING:
    import redis

    from npmguard.store.redis import SharedCache

log = logging.getLogger(__name__)

PREFIX = f"npmguard:feeds:{SCHEMA.version}:"
_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class SharedSource:
    """A source as the team cache describes it."""

    source: str
    kind: str
    imported_at: datetime
    records: int
    withdrawn: int
    generation: str
    writer: str | None


def shared_sources(cache: SharedCache) -> list[SharedSource]:
    """The sources the team cache holds (none when it cannot be read)."""
    raw: dict[bytes, bytes] = cache.call(
        "read the shared feeds",
        lambda c: c.hgetall(PREFIX + "sources"),  # type: ignore[arg-type,return-value]
        {},
    )
    out = []
    for key, value in raw.items():
        try:
            doc = json.loads(value)
            out.append(
                SharedSource(
                    key.decode(),
                    str(doc["kind"]),
                    datetime.fromisoformat(doc["imported_at"]),
                    int(doc["records"]),
                    int(doc["withdrawn"]),
                    str(doc["generation"]),
                    doc.get("writer"),
                )
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            continue  # another npmguard's layout: not ours to read
    return sorted(out, key=lambda s: s.imported_at, reverse=True)


def publish(cache: SharedCache, store: FeedStore, source: str, writer: str) -> bool:
    """Share ``source`` as ``store`` holds it now; False when the team cache would not
    take it (down, full, read-only: said once by ``cache``)."""
    info = store.source_info(source)
    if info is None:
        return False
    generation = uuid.uuid4().hex[:16]
    records = PREFIX + f"records:{generation}"
    entry = {
        "kind": info.kind,
        "imported_at": info.imported_at.isoformat(timespec="seconds"),
        "records": info.records,
        "withdrawn": info.withdrawn,
        "generation": generation,
        "writer": writer,
    }

    def run(client: redis.Redis) -> None:
        old = client.hget(PREFIX + "sources", source)
        batch: dict[str, str] = {}
        for record in store.export(source):
            batch[record.id] = json.dumps(
                {"path": record.path, "osv": record.compact}, separators=(",", ":")
            )
            if len(batch) >= _CHUNK:
                client.hset(records, mapping=batch)  # type: ignore[arg-type]
                batch = {}
        if batch:
            client.hset(records, mapping=batch)  # type: ignore[arg-type]
        client.hset(PREFIX + "sources", source, json.dumps(entry))
        if isinstance(old, bytes):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                client.delete(PREFIX + f"records:{json.loads(old)['generation']}")

    return cache.write("share the feed", run)


def _records(cache: SharedCache, generation: str) -> Iterator[tuple[str, dict[str, Any]]]:
    def scan(client: redis.Redis) -> list[tuple[bytes, bytes]]:
        return list(client.hscan_iter(PREFIX + f"records:{generation}", count=_CHUNK))

    nothing: list[tuple[bytes, bytes]] = []
    for rid, value in cache.call("read the shared feeds", scan, nothing):
        try:
            yield rid.decode(), json.loads(value)
        except (ValueError, UnicodeDecodeError):
            continue


def sync(cache: SharedCache, path: Path) -> list[str]:
    """Bring every source whose generation this machine has not seen into the feed store at
    ``path`` (created if needed); the sources brought. Each is one transaction."""
    shared = shared_sources(cache)
    if not shared:
        return []
    have: dict[str, SharedMark] = {}
    if path.is_file():
        from npmguard.feeds.store import open_feed_store

        existing = open_feed_store(path)
        if existing is not None:
            with existing:
                have = existing.shared_marks()
    wanted = [
        s for s in shared if s.source not in have or have[s.source].generation != s.generation
    ]
    if not wanted:
        return []
    brought = []
    with create_feed_store(path) as store:
        for item in wanted:
            if _bring(cache, store, item):
                brought.append(item.source)
    return brought


def _bring(cache: SharedCache, store: FeedStore, item: SharedSource) -> bool:
    mark = SharedMark(item.generation, cache.location, item.writer)
    seen = 0
    try:
        with store.begin_import(
            item.source, item.kind, imported_at=item.imported_at, shared=mark
        ) as batch:
            for _rid, doc in _records(cache, item.generation):
                where = location(item.source, item.kind, str(doc.get("path", "")))
                compact = dict(doc["osv"])
                batch.add(parse_record(compact, where), compact, str(doc.get("path", "")))
                seen += 1
            if seen < item.records or not cache.available:
                # a generation dropped under us, or Redis went away: keep what we had
                raise _Incomplete(item.source)
    except _Incomplete:
        log.info("%s: the team cache's copy was incomplete; kept the local one", item.source)
        return False
    except (FeedError, KeyError, TypeError) as e:
        log.warning("%s: cannot bring the team cache's copy: %s", item.source, e)
        return False
    return True


class _Incomplete(Exception):
    pass
