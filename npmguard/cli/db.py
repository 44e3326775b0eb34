"""``npmguard db update`` / ``npmguard db info``: the imported known-bad feeds."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any

from npmguard.errors import UsageError


def register(sub: Any) -> None:
    from npmguard.cli import add_common, print_usage

    p = sub.add_parser(
        "db",
        help="import known-bad feeds (OSV malicious-package records) and show what is imported",
        description=(
            "Manage the feed store the known-malicious rule reads: OSV records as the OpenSSF "
            "malicious-packages project publishes them."
        ),
    )
    dbsub = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    up = dbsub.add_parser(
        "update",
        help="import OSV records from a folder, a zip or an https URL",
        description=(
            "Import npm malicious-package OSV records into the feed store (env\n"
            "NPMGUARD_DATA_DIR, else the user data folder). The import is one transaction:\n"
            "interrupted, it leaves the previous data as it was. Importing the same source\n"
            "again updates changed records and removes the ones the source no longer holds.\n"
            "Unreadable files are skipped with a warning (--strict: fail instead). Only\n"
            "malicious-package records (MAL- ids) are kept; ordinary advisories are skipped."
        ),
        epilog=(
            "examples:\n"
            "  npmguard db update                               osv.dev's npm export\n"
            "  npmguard db update --from ~/src/malicious-packages\n"
            "  npmguard db update --from all.zip\n"
            "  npmguard db update --from https://example.com/feeds/npm-mal.zip"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "--from",
        dest="source",
        metavar="PATH|URL",
        help="a malicious-packages checkout (or its osv/ folder), an OSV zip or tar.gz, one "
        "OSV .json file, or an https URL to an archive (default: osv.dev's npm/all.zip)",
    )
    up.add_argument(
        "--max-size",
        type=int,
        default=1024,
        metavar="MB",
        help="largest download accepted, in MB (default 1024)",
    )
    up.add_argument(
        "--strict", action="store_true", help="fail on the first unreadable file instead"
    )
    add_common(up)
    up.set_defaults(func=run_update)
    info = dbsub.add_parser(
        "info",
        help="show imported sources, record counts and ages",
        description="Show the "
        "feed store: where it is, its sources, record counts and how old each import is.",
    )
    info.add_argument("--format", choices=("text", "json"), default="text", help="(default: text)")
    add_common(info)
    info.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: print_usage(p))


def run_update(args: argparse.Namespace) -> int:
    from npmguard.feeds.importer import DEFAULT_URL, import_feed
    from npmguard.progress import make_progress

    if args.max_size <= 0:
        raise UsageError("--max-size: must be a positive number of MB")
    shared = _team_cache()
    progress = make_progress(enabled=not args.quiet)
    try:
        result = import_feed(
            args.source or DEFAULT_URL,
            max_bytes=args.max_size << 20,
            strict=args.strict,
            progress=progress,
            shared=shared,
        )
    finally:
        progress.close()
    if not args.quiet:
        c = result.counts
        print(
            f"npmguard: imported {c.seen} records ({c.withdrawn} withdrawn) from {result.source} "
            f"in {result.seconds:.1f}s: {c.added} new, {c.updated} updated, {c.unchanged} "
            f"unchanged, {c.older} older than stored, {c.removed} removed; "
            f"{result.skipped} files skipped, {len(result.errors)} unreadable",
            file=sys.stderr,
        )
    if shared is not None:
        _share(shared, result.source, quiet=args.quiet)
    return 0


def _team_cache() -> Any:
    import os
    from pathlib import Path

    from npmguard.app import team_cache

    return team_cache(Path.cwd(), os.environ)


def _share(shared: Any, source: str, *, quiet: bool) -> None:
    """Publish the import to the team cache, so every machine brings it in."""
    from npmguard.feeds.shared import publish
    from npmguard.feeds.store import create_feed_store
    from npmguard.store.redis import writer_name

    try:
        with create_feed_store() as store:
            done = publish(shared, store, source, writer_name())
    finally:
        shared.close()
    if quiet:
        return
    if done:
        print(f"npmguard: shared with the team cache at {shared.location}", file=sys.stderr)
    elif shared.available:
        print(
            f"npmguard: not shared: the team cache at {shared.location} takes no writes from "
            "this client (read-only or full)",
            file=sys.stderr,
        )


def run_info(args: argparse.Namespace) -> int:
    from npmguard.feeds import default_path
    from npmguard.feeds.store import open_feed_store

    shared = _team_cache()
    team: list[Any] = []
    if shared is not None:
        from npmguard.feeds.shared import shared_sources, sync

        try:
            sync(shared, default_path())  # what the team imported, brought in first
            team = shared_sources(shared)
        finally:
            shared.close()
    store = open_feed_store()
    if store is None:
        if args.format == "json":
            print(json.dumps({"path": str(default_path()), "imported": False}))
        else:
            print(f"feed store: {default_path()} (nothing imported; run `npmguard db update`)")
        return 0
    with store:
        info = store.info()
    now = datetime.now(timezone.utc)
    if args.format == "json":
        data = {
            "path": str(info.path),
            "imported": bool(info.sources),  # an import that failed leaves an empty store
            "size": info.size,
            "records": info.records,
            "withdrawn": info.withdrawn,
            "names": info.names,
            "hashes": info.hashes,
            "sources": [
                {
                    "source": s.source,
                    "kind": s.kind,
                    "imported_at": s.imported_at.isoformat(),
                    "age_seconds": int((now - s.imported_at).total_seconds()),
                    "records": s.records,
                    "withdrawn": s.withdrawn,
                    "skipped": s.skipped,
                    "errors": s.errors,
                    "newest_modified": s.newest_modified,
                    "via": s.via,
                    "imported_by": s.writer,
                }
                for s in info.sources
            ],
            "team_cache": None
            if shared is None
            else {
                "location": shared.location,
                "available": shared.available,
                "sources": [
                    {
                        "source": t.source,
                        "kind": t.kind,
                        "imported_at": t.imported_at.isoformat(),
                        "age_seconds": int((now - t.imported_at).total_seconds()),
                        "records": t.records,
                        "imported_by": t.writer,
                    }
                    for t in team
                ],
            },
        }
        print(json.dumps(data, indent=2))
        return 0
    print(f"feed store: {info.path} ({_size(info.size)})")
    print(
        f"records:    {info.records} ({info.records - info.withdrawn} active, "
        f"{info.withdrawn} withdrawn) for {info.names} package names, {info.hashes} tarball hashes"
    )
    if not info.sources:
        print("sources:    none (nothing imported; run `npmguard db update`)")
    for s in info.sources:
        print(f"source:     {s.source} ({s.kind})")
        print(f"  imported  {s.imported_at:%Y-%m-%d %H:%M} UTC, {_age(now - s.imported_at)} ago")
        if s.via:
            by = f", imported by {s.writer}" if s.writer else ""
            print(f"  via       the team cache at {s.via}{by}")
        newest = f", newest record modified {s.newest_modified}" if s.newest_modified else ""
        print(f"  records   {s.records} ({s.withdrawn} withdrawn){newest}")
        if s.skipped or s.errors:
            print(
                f"  files     {s.skipped} skipped (not npm malicious records), "
                f"{s.errors} unreadable"
            )
    if shared is not None:
        state = "" if shared.available else " (not reachable: showing the local copy)"
        print(f"team cache: {shared.location}: {len(team)} source(s){state}")
    return 0


def _age(delta: Any) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover
