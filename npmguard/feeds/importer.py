"""``npmguard db update``: import OSV malicious-package records into the feed store.

Sources:
- a directory tree like the OpenSSF malicious-packages repository
  (``osv/malicious/npm/<name>/MAL-*.json``, ``osv/withdrawn/npm/...``); other ecosystems'
  folders are not read;
- a zip of OSV JSON files as osv.dev exports them (``npm/all.zip``, flat ``*.json``), or a
  zip/tar.gz archive of the repository (nested paths);
- one OSV JSON file;
- an https URL to any of those (plain http only for loopback hosts, for tests), downloaded
  to a temporary file with a size cap, then imported.

Only npm records that are malicious-package records (``MAL-`` id or alias) are kept:
osv.dev's ``npm/all.zip`` also holds ordinary vulnerability advisories, which say nothing
about malice. Records under a ``withdrawn`` folder count as withdrawn even without the field.

A file that is not valid JSON or not a valid OSV record is skipped with a warning that names
it, counted as an error, and the record it held (named by its file) keeps its stored copy;
``strict`` makes it fail the import instead. A source with no npm records at all fails.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from npmguard.errors import ExitCode, FeedError
from npmguard.feeds.osv import compact_osv, parse_record
from npmguard.feeds.store import FeedStore, ImportCounts, create_feed_store
from npmguard.urls import fetchable_http, parse_url, redact

if TYPE_CHECKING:
    from npmguard.progress import Observer
    from npmguard.store.redis import SharedCache

log = logging.getLogger(__name__)

DEFAULT_URL = "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip"
MAX_DOWNLOAD = 1 << 30  # 1 GiB: osv.dev's npm export is a few hundred MB at most
MAX_RECORD = 8 << 20  # one OSV file
MAX_REDIRECTS = 5
CACHE_MAX = 256 << 20  # larger feeds are downloaded whole each time (never kept in memory)


class FeedUnreachableError(FeedError):
    """The feed URL could not be fetched."""

    exit_code = ExitCode.UNREACHABLE


@dataclass(frozen=True, slots=True)
class ImportResult:
    source: str  # path or redacted URL
    kind: str  # directory | zip | tar | json
    counts: ImportCounts
    skipped: int  # files holding no npm malicious-package record
    errors: tuple[str, ...]  # one message per unreadable file
    seconds: float


def import_feed(
    source: str,
    *,
    store: FeedStore | None = None,
    max_bytes: int = MAX_DOWNLOAD,
    strict: bool = False,
    progress: Observer | None = None,
    cache_dir: Path | None = None,
    shared: SharedCache | None = None,
) -> ImportResult:
    """Import ``source`` (path or URL) into ``store`` (default: the user's feed store).

    A URL whose answer has not changed since it was last imported (the HTTP cache
    revalidated it) is not imported again: the result counts its records as unchanged."""
    started = time.monotonic()
    parsed = parse_url(source)
    if parsed is not None and parsed.scheme in ("http", "https"):
        key = redact(source)
        got = download(source, max_bytes, cache_dir=cache_dir, shared=shared)
        try:
            if got.unchanged:
                same = _unchanged(key, store, started)
                if same is not None:
                    return same
            return _import_path(got.path, key, store, strict, progress, started)
        finally:
            got.path.unlink(missing_ok=True)
    path = Path(source).expanduser()
    if not path.exists():
        raise FeedError(f"{source}: no such file or folder", hint="name a folder, a zip or a URL")
    return _import_path(path, str(path.resolve()), store, strict, progress, started)


def _unchanged(key: str, store: FeedStore | None, started: float) -> ImportResult | None:
    """The result of importing a source whose download did not change, if it was imported."""
    from npmguard.feeds.store import open_feed_store

    target = open_feed_store() if store is None else store
    if target is None:
        return None
    try:
        info = target.source_info(key)
    finally:
        if store is None:
            target.close()
    if info is None:
        return None
    log.info("%s: not modified since it was imported; nothing to do", key)
    counts = ImportCounts(info.records, 0, 0, info.records, 0, 0, info.withdrawn)
    return ImportResult(key, info.kind, counts, info.skipped, (), time.monotonic() - started)


def _import_path(
    path: Path,
    key: str,
    store: FeedStore | None,
    strict: bool,
    progress: Observer | None,
    started: float,
) -> ImportResult:
    kind, items = _open_source(path, key)
    own = store is None
    target = create_feed_store() if store is None else store
    errors: list[str] = []
    skipped = 0
    try:
        with target.begin_import(key, kind) as batch:
            for n, (location, relpath, data) in enumerate(items, 1):
                if progress is not None and n % 1000 == 0:
                    progress.update(f"importing {key}: {n} files")
                try:
                    if isinstance(data, FeedError):
                        raise data
                    raw = _decode(data, location)
                    if not _looks_like_osv(raw):
                        skipped += 1
                        continue
                    record = parse_record(raw, location)
                except FeedError as e:
                    if strict:
                        raise
                    log.warning("%s (skipped)", e)
                    errors.append(str(e))
                    batch.keep(PurePosixPath(relpath).stem)
                    continue
                if not record.affected or not record.malicious:
                    skipped += 1
                    continue
                compact = compact_osv(raw)
                if record.withdrawn is None and _category(relpath) == "withdrawn":
                    record = replace(record, withdrawn=record.modified)
                    compact["withdrawn"] = record.modified
                batch.add(record, compact, relpath)
            if not batch.seen_any():
                raise FeedError(
                    f"{key}: no npm malicious-package OSV records found"
                    + (f" ({len(errors)} unreadable files)" if errors else ""),
                    hint="name the malicious-packages checkout (or its osv/ folder) or an OSV zip",
                )
            batch.skipped, batch.errors = skipped, len(errors)
    finally:
        if own:
            target.close()
    assert batch.result is not None
    return ImportResult(key, kind, batch.result, skipped, tuple(errors), time.monotonic() - started)


def _decode(data: bytes, location: str) -> Any:
    from npmguard.jsontext import JsonError, loads

    try:
        return loads(data)
    except UnicodeDecodeError as e:
        raise FeedError(f"{location}: not UTF-8 text: {e.reason}") from e
    except json.JSONDecodeError as e:
        raise FeedError(f"{location}: invalid JSON: {e.msg} at line {e.lineno}") from e
    except JsonError as e:
        raise FeedError(f"{location}: invalid JSON: {e}") from e


def _looks_like_osv(raw: Any) -> bool:
    return isinstance(raw, dict) and ("id" in raw or "affected" in raw)


def _category(relpath: str) -> str | None:
    """``malicious`` or ``withdrawn`` for a file in the repository layout, else None."""
    for part in PurePosixPath(relpath.replace(os.sep, "/")).parts:
        if part in ("malicious", "withdrawn"):
            return part
    return None


def _other_ecosystem(folder: str) -> bool:
    """``osv/malicious/pypi``: a folder of another ecosystem in the repository layout."""
    parts = PurePosixPath(folder.replace(os.sep, "/")).parts
    for i, part in enumerate(parts[:-1]):
        if part in ("malicious", "withdrawn"):
            return parts[i + 1] != "npm"
    return False


def _folder(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


_Item = tuple[str, str, "bytes | FeedError"]  # location, path in the source, content


def _open_source(path: Path, key: str) -> tuple[str, Iterator[_Item]]:
    import tarfile
    import zipfile

    if path.is_dir():
        return "directory", _walk(path)
    if zipfile.is_zipfile(path):
        return "zip", _read_zip(path, key)
    if path.suffix.lower() == ".json":
        return "json", _read_one(path)
    try:
        is_tar = tarfile.is_tarfile(path)
    except OSError:
        is_tar = False
    if is_tar:
        return "tar", _read_tar(path, key)
    raise FeedError(f"{key}: not a folder, a zip, a tar archive or a .json file")


def _read_file(path: Path) -> bytes | FeedError:
    try:
        if path.stat().st_size > MAX_RECORD:
            return FeedError(f"{path}: larger than {MAX_RECORD >> 20} MB; not an OSV record")
        return path.read_bytes()
    except OSError as e:
        return FeedError(f"{path}: cannot read: {e.strerror}")


def _read_one(path: Path) -> Iterator[_Item]:
    yield str(path.resolve()), path.name, _read_file(path)


def _walk(root: Path) -> Iterator[_Item]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        rel = here.relative_to(root).parts
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not _other_ecosystem("/".join((*rel, d)))
        )
        for name in sorted(files):
            if name.endswith(".json"):
                yield str(here / name), "/".join((*rel, name)), _read_file(here / name)


def _read_zip(path: Path, key: str) -> Iterator[_Item]:
    import zipfile
    import zlib

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise FeedError(f"{key}: not a readable zip: {e}") from e
    with archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or not name.endswith(".json") or _other_ecosystem(_folder(name)):
                continue
            where = f"{key}!{name}"
            if info.file_size > MAX_RECORD:
                yield where, name, FeedError(f"{where}: larger than {MAX_RECORD >> 20} MB")
                continue
            try:
                with archive.open(info) as fh:
                    yield where, name, fh.read(MAX_RECORD)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
                yield where, name, FeedError(f"{where}: cannot read from the zip: {e}")


def _read_tar(path: Path, key: str) -> Iterator[_Item]:
    import tarfile

    try:
        with tarfile.open(path, "r|*") as archive:
            for member in archive:
                name = member.name
                if not member.isfile() or not name.endswith(".json"):
                    continue
                if _other_ecosystem(_folder(name)):
                    continue
                where = f"{key}!{name}"
                if member.size > MAX_RECORD:
                    yield where, name, FeedError(f"{where}: larger than {MAX_RECORD >> 20} MB")
                    continue
                fh = archive.extractfile(member)
                yield (
                    where,
                    name,
                    fh.read() if fh is not None else FeedError(f"{where}: unreadable"),
                )
    except (tarfile.TarError, OSError, EOFError) as e:
        raise FeedError(f"{key}: cannot read the tar archive: {e}") from e


def _check_url(url: str, base: str | None = None) -> str:
    """The URL to fetch (as Node reads it): https, or http on this machine only."""
    parsed = fetchable_http(url, base)
    if parsed is not None:
        return parsed.href
    raise FeedError(f"{redact(url)}: only https URLs are allowed for feeds")


def _check_hop(url: str, previous: str | None) -> None:
    _check_url(url)
    if (
        previous is not None
        and previous.lower().startswith("https:")
        and url.lower().startswith("http:")
    ):
        raise FeedError(f"{redact(previous)}: redirects to plain http ({redact(url)}); refused")


@dataclass(frozen=True, slots=True)
class Download:
    """A downloaded feed in a temporary file (the caller deletes it). ``unchanged``: the
    server said it has not changed since the copy the HTTP cache holds (or that copy is
    still fresh), so nothing new can be in it."""

    path: Path
    unchanged: bool


def download(
    url: str,
    max_bytes: int = MAX_DOWNLOAD,
    *,
    cache_dir: Path | None = None,
    shared: SharedCache | None = None,
) -> Download:
    """Fetch ``url`` into a temporary file, at most ``max_bytes``, through the one HTTP
    session (proxy and CA from ``.npmrc``; every redirect hop https, or http on this
    machine, never https -> http). Answers up to :data:`CACHE_MAX` are kept in the HTTP cache
    (``<cache_dir>/http.sqlite``, or the team cache's Redis with ``shared``) and revalidated
    with ETag / Last-Modified, so an unchanged feed costs a 304, no body."""
    from npmguard.errors import RegistryError
    from npmguard.paths import cache_dir as default_cache_dir
    from npmguard.registry.http import SHARED_MAX_BYTES, make_session
    from npmguard.registry.npmrc import load_npm_config

    fetch = _check_url(url)  # as Node reads it
    session = make_session(
        load_npm_config(Path.cwd()),
        cache_dir or default_cache_dir(),
        concurrency=2,
        packument_ttl=0,  # always ask the server whether the feed changed
        shared=shared,
        max_cached_bytes=min(CACHE_MAX, SHARED_MAX_BYTES if shared is not None else CACHE_MAX),
    )
    fd, name = tempfile.mkstemp(prefix="npmguard-feed-", suffix=".download")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                resp = session.get(fetch, accept="*/*", stream=True, check_url=_check_hop)
            except RegistryError as e:
                raise FeedUnreachableError(
                    f"{redact(url)}: download failed: {e}",
                    hint="check the URL, your network and the proxy settings in .npmrc",
                ) from e
            with resp:
                if resp.status_code != 200:
                    raise FeedUnreachableError(
                        f"{redact(url)}: the server answered HTTP {resp.status_code}"
                    )
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FeedError(_too_big(url, max_bytes))
                total = 0
                try:
                    for chunk in resp.iter_content(1 << 16):
                        total += len(chunk)
                        if total > max_bytes:
                            raise FeedError(_too_big(url, max_bytes))
                        out.write(chunk)
                except OSError as e:  # requests' errors are OSErrors
                    raise FeedUnreachableError(
                        f"{redact(url)}: download failed: {type(e).__name__}"
                    ) from e
                unchanged = bool(getattr(resp, "from_cache", False))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        session.close()
    return Download(tmp, unchanged)


def _too_big(url: str, max_bytes: int) -> str:
    return f"{redact(url)}: larger than the {max_bytes >> 20} MB limit (--max-size)"
