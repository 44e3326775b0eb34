"""``npmguard cache info`` / ``npmguard cache clear``: the facts store and the HTTP cache."""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

HTTP_CACHE = "http.sqlite"


def register(sub: Any) -> None:
    from npmguard.cli import add_common, print_usage

    p = sub.add_parser(
        "cache",
        help="show or clear the reputation cache (registry facts and HTTP cache)",
        description=(
            "The cache holds what npmguard learned from registries: compact facts per package\n"
            "(refreshed after 24 hours), per version and per tarball (kept: published\n"
            "versions never change), in facts.sqlite, and the HTTP cache, in http.sqlite;\n"
            "names-*.sqlite is an index of popular package names, rebuilt when missing.\n"
            "Location: --cache-dir, else $NPMGUARD_CACHE_DIR, else the user cache folder.\n"
            "Imported feeds (npmguard db) live elsewhere and are not touched."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    csub = p.add_subparsers(dest="cache_command", metavar="SUBCOMMAND")
    for name, help_text, func in (
        ("info", "where the cache is, its size and what it holds", run_info),
        ("clear", "delete everything cached (the next check fetches again)", run_clear),
    ):
        cp = csub.add_parser(name, help=help_text, description=help_text)
        cp.add_argument(
            "--cache-dir",
            type=Path,
            default=os.environ.get("NPMGUARD_CACHE_DIR") or None,
            help="the cache folder (env NPMGUARD_CACHE_DIR)",
        )
        add_common(cp)
        cp.set_defaults(func=func)
    add_common(p)
    p.set_defaults(func=lambda args: print_usage(p))


def _size(path: Path) -> int:
    return sum(
        Path(f"{path}{suffix}").stat().st_size
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _http_entries(path: Path) -> int | None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return None


def cached_policies(http_path: Path) -> list[str]:
    """One line per policy (named by URL) in the HTTP cache: its URL and age, newest first.
    Policies are the answers requested with the policy fetcher's ``Accept`` header."""
    from datetime import timezone

    from npmguard.policy.fetch import ACCEPT
    from npmguard.policy.model import ago
    from npmguard.urls import redact

    try:
        from requests_cache.backends.sqlite import SQLiteCache

        backend = SQLiteCache(http_path, wal=True, busy_timeout=5_000, timeout=5)
        try:
            found = []
            for response in backend.responses.values():
                if response.request.headers.get("Accept") == ACCEPT:
                    created = response.created_at
                    if created.tzinfo is None:
                        created = created.replace(tzinfo=timezone.utc)
                    found.append((created, redact(response.url), response.is_expired))
        finally:
            backend.close()  # type: ignore[no-untyped-call]
    except Exception:  # a cache another version wrote, or a damaged one: nothing to list
        return []
    return [
        f"{url}: cached {ago(created)}"
        + (" (stale: revalidated with the server on next use)" if expired else "")
        for created, url, expired in sorted(found, reverse=True)
    ]


def _current_names_index(directory: Path) -> Path | None:
    """The names index file this npmguard uses (its name depends on the shipped list)."""
    try:
        from npmguard.names.snapshot import snapshot_key
        from npmguard.names.store import store_path

        return store_path(directory, snapshot_key())
    except OSError:
        return None


def run_info(args: argparse.Namespace) -> int:
    from npmguard.paths import cache_dir
    from npmguard.reputation.store import DEFAULT_TTL, FILE_NAME, FactsStore

    directory = cache_dir(args.cache_dir)
    out = [f"location: {directory}"]
    facts_path = directory / FILE_NAME
    total = 0
    if facts_path.exists():
        with FactsStore.in_dir(directory) as store:
            stats = store.stats()
            if store.read_only:
                out.append(
                    f"access:   read-only ({store.read_only}): checks use what it holds and "
                    "keep nothing new"
                )
        total += _size(facts_path)
        out.append(
            f"facts:    {facts_path.name}, {_human(_size(facts_path))}: {stats.packages} packages "
            f"(fresh for {DEFAULT_TTL / 3600:.0f} h), {stats.versions} versions, "
            f"{stats.tarballs} tarballs"
        )
        if stats.packages:
            out.append(f"          {_size(facts_path) / stats.packages / 1024:.1f} KB per package")
    else:
        out.append("facts:    empty")
    http_path = directory / HTTP_CACHE
    if http_path.exists():
        total += _size(http_path)
        entries = _http_entries(http_path)
        count = "unreadable" if entries is None else f"{entries} responses"
        out.append(f"http:     {http_path.name}, {_human(_size(http_path))}: {count}")
        out += [f"policy:   {line}" for line in cached_policies(http_path)]
    else:
        out.append("http:     empty")
    current = _current_names_index(directory)
    for names in sorted(directory.glob("names-*.sqlite")):
        total += _size(names)
        state = (
            "current: the index of the list shipped with this npmguard"
            if names == current
            else "left by another npmguard version or install; unused here (removed after a "
            "month unused)"
        )
        out.append(f"names:    {names.name}, {_human(_size(names))}: {state}")
    if current is not None and not current.exists():
        out.append(f"names:    {current.name}: not built yet (built on the first check)")
    out.append(f"total:    {_human(total)}")
    out.extend(_team_lines())
    print("\n".join(out))
    return 0


def _team_lines() -> list[str]:
    """The team cache's part of ``cache info`` (nothing when none is configured)."""
    from npmguard.app import team_cache
    from npmguard.reputation.codec import FORMAT
    from npmguard.reputation.store import DEFAULT_TTL
    from npmguard.store.redis_facts import RedisFacts

    shared = team_cache(Path.cwd(), os.environ)
    if shared is None:
        return []
    try:
        stats = RedisFacts(shared, format=FORMAT, ttl=DEFAULT_TTL).stats()
    finally:
        shared.close()
    if stats is None:
        return [f"team:     {shared.location}: not reachable"]
    size = "" if stats.bytes is None else f", Redis uses {_human(stats.bytes)} in all"
    access = "read and write" if stats.writable else "read-only for this client"
    return [
        f"team:     {stats.location} ({access}): {stats.packages} packages, "
        f"{stats.versions} versions, {stats.tarballs} tarballs{size}",
        "          shared by every machine; `cache clear` leaves it alone",
    ]


def run_clear(args: argparse.Namespace) -> int:
    from npmguard.errors import UsageError
    from npmguard.paths import cache_dir
    from npmguard.reputation.store import FILE_NAME, FactsStore

    directory = cache_dir(args.cache_dir)
    facts_path = directory / FILE_NAME
    freed = 0
    if facts_path.exists():
        before = _size(facts_path)
        # emptied in a transaction, not deleted: other running npmguard processes keep a
        # valid file
        with FactsStore(facts_path) as store:
            store.clear()
        freed += before - _size(facts_path)
    for suffix in ("", "-wal", "-shm"):
        part = directory / f"{HTTP_CACHE}{suffix}"
        if part.exists():
            freed += part.stat().st_size
            try:
                part.unlink()
            except OSError as e:
                raise UsageError(f"{part}: cannot delete: {e.strerror}") from e
    for names in directory.glob("names-*.sqlite"):
        # rebuilt on demand; a process reading it keeps its open file (Windows: kept)
        with contextlib.suppress(OSError):
            size = names.stat().st_size
            names.unlink()
            freed += size
    if not getattr(args, "quiet", False):
        print(f"cleared {directory} ({_human(max(freed, 0))} freed)", file=sys.stderr)
    return 0
