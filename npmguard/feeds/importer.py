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

log = logging.getLogger(__name__)

DEFAULT_URL = "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip"
MAX_DOWNLOAD = 1 << 30  # 1 GiB: osv.dev's npm export is a few hundred MB at most
MAX_RECORD = 8 << 20  # one OSV file
MAX_REDIRECTS = 5


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
) -> ImportResult:
    """Import ``source`` (path or URL) into ``store`` (default: the user's feed store)."""
    started = time.monotonic()
    parsed = parse_url(source)
    if parsed is not None and parsed.scheme in ("http", "https"):
        key = redact(source)
        tmp = download(source, max_bytes)
        try:
            return _import_path(tmp, key, store, strict, progress, started)
        finally:
            tmp.unlink(missing_ok=True)
    path = Path(source).expanduser()
    if not path.exists():
        raise FeedError(f"{source}: no such file or folder", hint="name a folder, a zip or a URL")
    return _import_path(path, str(path.resolve()), store, strict, progress, started)


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
    try:
        return json.loads(data)
    except UnicodeDecodeError as e:
        raise FeedError(f"{location}: not UTF-8 text: {e.reason}") from e
    except json.JSONDecodeError as e:
        raise FeedError(f"{location}: invalid JSON: {e.msg} at line {e.lineno}") from e


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


def download(url: str, max_bytes: int = MAX_DOWNLOAD) -> Path:
    """Fetch ``url`` into a temporary file (the caller deletes it), at most ``max_bytes``."""
    import requests

    from npmguard import __version__

    headers = {"User-Agent": f"npmguard/{__version__} (feed import)"}
    fd, name = tempfile.mkstemp(prefix="npmguard-feed-", suffix=".download")
    tmp = Path(name)
    current = url
    try:
        with os.fdopen(fd, "wb") as out, requests.Session() as session:
            for _ in range(MAX_REDIRECTS + 1):
                current = _check_url(current)
                resp = session.get(
                    current, stream=True, timeout=(15, 60), headers=headers, allow_redirects=False
                )
                if resp.is_redirect and resp.headers.get("Location"):
                    current = _check_url(resp.headers["Location"], base=current)
                    resp.close()
                    continue
                break
            else:
                raise FeedUnreachableError(f"{redact(url)}: too many redirects")
            with resp:
                if resp.status_code != 200:
                    raise FeedUnreachableError(
                        f"{redact(url)}: the server answered HTTP {resp.status_code}"
                    )
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FeedError(_too_big(url, max_bytes))
                total = 0
                for chunk in resp.iter_content(1 << 16):
                    total += len(chunk)
                    if total > max_bytes:
                        raise FeedError(_too_big(url, max_bytes))
                    out.write(chunk)
    except requests.RequestException as e:
        tmp.unlink(missing_ok=True)
        raise FeedUnreachableError(
            f"{redact(url)}: download failed: {type(e).__name__}",
            hint="check the URL and your network (proxy settings come from HTTPS_PROXY)",
        ) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _too_big(url: str, max_bytes: int) -> str:
    return f"{redact(url)}: larger than the {max_bytes >> 20} MB limit (--max-size)"
