"""A loopback npm registry for tests: real packuments, real tarballs, no internet.

    reg = FakeRegistry()
    reg.add_version("left-pad", "1.3.0", files={"index.js": "module.exports = 1"})
    with reg.serve() as url:          # "http://127.0.0.1:PORT/"
        ...                           # GET url + "left-pad", url + "left-pad/-/left-pad-1.3.0.tgz"
    assert reg.requests[0].path == "/left-pad"

Packuments have the public registry's full shape (``dist-tags``, ``versions`` with ``dist``,
``_npmUser``, ``maintainers`` as they stood at each publish, ``scripts``, ``time``...) with
absolute tarball URLs, so the real npm CLI can resolve and install against it
(``npm --registry URL``). Scoped names are
served at ``/@scope%2fname`` and ``/@scope/name``. Failures (N times 503/429), delays,
redirects and a required bearer token are configurable; every request is logged with its
headers. The ``fake_registry`` fixture in ``tests/conftest.py`` yields a started instance.

Hostile answers, for the limits and faults tests: :meth:`FakeRegistry.misbehave` makes a
path answer with a body cut short (``truncate``), a body dripped a few bytes at a time
(``drip``), headers dripped before any body (``drip_headers``), or any bytes at all
(``body``, optionally generated, so a 300 MB document needs no 300 MB in memory).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import tarfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

NPM_MTIME = 499162500  # 1985-10-26T08:15:00Z, the mtime npm pack writes
BASE_TIME = datetime(2020, 1, 1, tzinfo=timezone.utc)


# --- building tarballs -------------------------------------------------------------------------


@dataclass(frozen=True)
class TarEntry:
    """A raw tar member for hostile-tarball tests (full path, any type)."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    size: int | None = None  # header size when it must differ from len(data)


def build_tarball(
    files: Mapping[str, bytes | str], *, entries: tuple[TarEntry, ...] = (), gzip_level: int = 9
) -> bytes:
    """A gzip'd tar of ``files`` (full tar paths, e.g. ``package/package.json``) plus raw
    ``entries``, deterministic (fixed mtimes), built in memory."""
    import gzip

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, NPM_MTIME
            tar.addfile(info, io.BytesIO(data))
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type, info.linkname, info.mtime = entry.type, entry.linkname, NPM_MTIME
            info.mode = 0o644
            info.size = len(entry.data) if entry.type == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return gzip.compress(raw.getvalue(), compresslevel=gzip_level, mtime=0)


def sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def sri_sha1(data: bytes) -> str:
    return "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )


# --- the registry's content --------------------------------------------------------------------


@dataclass
class FakeVersion:
    manifest: dict[str, Any]  # package.json as the registry lists it (without dist/_npmUser)
    tarball: bytes
    published: datetime
    publisher: str
    integrity: str  # what the packument says (may be made wrong on purpose)
    shasum: str
    files: dict[str, bytes] = field(default_factory=dict)  # tar path -> content
    tarball_url: str | None = None  # absolute override (another host), else served here
    attestations: bool = False
    signatures: bool = True
    # who could publish when this version was published (the version document's list)
    maintainers: list[str] = field(default_factory=list)


@dataclass
class FakePackage:
    name: str
    versions: dict[str, FakeVersion] = field(default_factory=dict)
    dist_tags: dict[str, str] = field(default_factory=dict)
    maintainers: list[str] = field(default_factory=list)
    created: datetime | None = None
    unpublished: datetime | None = None
    raw: dict[str, Any] | None = None  # served as is when set ("{registry}" is replaced)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, e.g. "/@scope%2fname"
    headers: dict[str, str]  # header names lower-cased

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Misbehaviour:
    """How one path answers instead of its normal content (see ``FakeRegistry.misbehave``).

    ``body``: the bytes to serve (or a callable yielding chunks) in place of the content;
    ``truncate``: serve only this many bytes of the body, then close the connection (the
    ``Content-Length`` still announces all of it); ``drip``: seconds between chunks of
    ``drip_bytes``; ``drip_headers``: seconds between header lines, before the body;
    ``length``: the ``Content-Length`` to announce (None: the body's; -1: none, the body
    ends when the connection closes); ``status`` and ``headers`` as sent."""

    body: bytes | Callable[[], Iterable[bytes]] | None = None
    truncate: int | None = None
    drip: float = 0.0
    drip_bytes: int = 1
    drip_headers: float = 0.0
    length: int | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    remaining: int
    path: str | None
    retry_after: str | None
    error: str = "try again"


def _tarball_path(name: str, version: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return f"{name}/-/{base}-{version}.tgz"


class FakeRegistry:
    """An npm registry on 127.0.0.1 (any free port). Safe to mutate while it serves."""

    def __init__(self, *, token: str | None = None, max_age: int = 300) -> None:
        self.packages: dict[str, FakePackage] = {}
        self.tarballs: dict[str, bytes] = {}  # unquoted path (no leading /) -> bytes
        self.redirects: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self.token = token
        self.max_age = max_age
        self._failures: list[_Failure] = []
        self._delays: list[tuple[str | None, float]] = []
        self._misbehaving: dict[str, Misbehaviour] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- content ----

    def add_version(
        self,
        name: str,
        version: str,
        *,
        files: Mapping[str, bytes | str] | None = None,
        published: datetime | str | None = None,
        publisher: str = "alice",
        maintainers: list[str] | None = None,
        scripts: Mapping[str, str] | None = None,
        dependencies: Mapping[str, str] | None = None,
        bin: Mapping[str, str] | None = None,
        description: str | None = None,
        deprecated: str | None = None,
        tag: str | None = "latest",
        attestations: bool = False,
        signatures: bool = True,
        manifest: Mapping[str, Any] | None = None,
        tarball_url: str | None = None,
        integrity: str | None = None,
    ) -> FakeVersion:
        """Publish ``name@version``. ``files`` are paths inside the package (``package/`` is
        added); without a ``package.json`` among them one is written from the other arguments,
        so a test can make the tarball's manifest differ from the registry's on purpose.
        ``integrity`` overrides what the packument claims (to test mismatches)."""
        pkg = self.packages.setdefault(name, FakePackage(name))
        man: dict[str, Any] = {
            "name": name,
            "version": version,
            "description": description if description is not None else f"{name} for tests",
            "main": "index.js",
            "license": "MIT",
        }
        if scripts:
            man["scripts"] = dict(scripts)
        if dependencies:
            man["dependencies"] = dict(dependencies)
        if bin:
            man["bin"] = dict(bin)
        if deprecated:
            man["deprecated"] = deprecated
        man.update(manifest or {})
        contents = {
            (k if k.startswith("package/") else f"package/{k}"): v
            for k, v in (files or {"index.js": "module.exports = {};\n"}).items()
        }
        if "package/package.json" not in contents:
            shipped = {k: v for k, v in man.items() if k != "deprecated"}
            contents = {"package/package.json": json.dumps(shipped, indent=2), **contents}
        data = build_tarball(contents)
        if isinstance(published, str):
            published = datetime.fromisoformat(published.replace("Z", "+00:00"))
        when = published or BASE_TIME + timedelta(days=len(pkg.versions))
        entry = FakeVersion(
            manifest=man,
            tarball=data,
            published=when,
            publisher=publisher,
            integrity=integrity or sri_sha512(data),
            shasum=sha1_hex(data),
            files={k: v.encode() if isinstance(v, str) else v for k, v in contents.items()},
            tarball_url=tarball_url,
            attestations=attestations,
            signatures=signatures,
        )
        with self._lock:
            pkg.versions[version] = entry
            if tag:
                pkg.dist_tags[tag] = version
            for person in [*(maintainers or []), publisher]:
                if person not in pkg.maintainers:
                    pkg.maintainers.append(person)
            entry.maintainers = list(pkg.maintainers)
            if pkg.created is None or when < pkg.created:
                pkg.created = when
            self.tarballs[_tarball_path(name, version)] = data
        return entry

    def set_packument(self, name: str, doc: dict[str, Any]) -> None:
        """Serve ``doc`` for ``name`` as is (``{registry}`` in strings -> this server's URL)."""
        with self._lock:
            self.packages.setdefault(name, FakePackage(name)).raw = doc

    def remove_version(self, name: str, version: str) -> None:
        """Take one version out of the packument (as npm does after a compromise)."""
        with self._lock:
            pkg = self.packages[name]
            pkg.versions.pop(version, None)
            for tag, v in list(pkg.dist_tags.items()):
                if v == version:
                    del pkg.dist_tags[tag]

    def unpublish(self, name: str, when: datetime | None = None) -> None:
        with self._lock:
            self.packages[name].unpublished = when or BASE_TIME + timedelta(days=365)

    def redirect(self, path: str, location: str) -> None:
        """Answer ``GET /path`` with a 302 to ``location``."""
        self.redirects[path.lstrip("/")] = location

    def fail(
        self,
        times: int = 1,
        status: int = 503,
        *,
        path: str | None = None,
        retry_after: float | None = None,
        error: str = "try again",
    ) -> None:
        """The next ``times`` requests (to ``path``, or any) get ``status`` with
        ``{"error": error}`` as the body."""
        ra = None if retry_after is None else str(int(retry_after))
        with self._lock:
            self._failures.append(_Failure(status, times, path, ra, error))

    def delay(self, seconds: float, *, path: str | None = None) -> None:
        self._delays.append((path, seconds))

    def misbehave(self, path: str, how: Misbehaviour | None = None, **fields: Any) -> None:
        """Make ``GET /path`` (unquoted, e.g. ``left-pad`` or a tarball path) answer as
        ``how`` (or ``Misbehaviour(**fields)``) says, until :meth:`behave`."""
        with self._lock:
            self._misbehaving[path.lstrip("/")] = how or Misbehaviour(**fields)

    def behave(self, path: str | None = None) -> None:
        """Serve ``path`` (or every path) normally again."""
        with self._lock:
            if path is None:
                self._misbehaving.clear()
            else:
                self._misbehaving.pop(path.lstrip("/"), None)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- rendering ----

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake registry is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def tarball_url(self, name: str, version: str) -> str:
        entry = self.packages[name].versions[version]
        return entry.tarball_url or self.url + _tarball_path(name, version)

    def lockfile(self, names: list[str], version: str = "1.0.0") -> dict[str, Any]:
        """A v3 package-lock.json document locking ``names`` at ``version`` (each added with
        :meth:`add_version`), resolved and integrity as this registry serves them."""
        packages: dict[str, Any] = {
            "": {"name": "app", "version": "1.0.0", "dependencies": {n: version for n in names}}
        }
        for name in names:
            packages[f"node_modules/{name}"] = {
                "version": version,
                "resolved": self.tarball_url(name, version),
                "integrity": self.packages[name].versions[version].integrity,
            }
        return {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": packages}

    def packument(self, name: str) -> dict[str, Any] | None:
        pkg = self.packages.get(name)
        if pkg is None:
            return None
        if pkg.raw is not None:
            text = json.dumps(pkg.raw).replace("{registry}", self.url)
            return dict(json.loads(text))
        people = [{"name": p, "email": f"{p}@example.com"} for p in pkg.maintainers]
        times = [e.published for e in pkg.versions.values()] or [pkg.created or BASE_TIME]
        created = pkg.created or min(times)
        time_doc: dict[str, Any] = {"created": iso(created), "modified": iso(max(times))}
        if pkg.unpublished is not None:
            time_doc["modified"] = iso(pkg.unpublished)
            time_doc["unpublished"] = {
                "time": iso(pkg.unpublished),
                "versions": list(pkg.versions),
                "maintainers": people,
                "name": pkg.maintainers[0] if pkg.maintainers else "npm",
            }
            return {"_id": name, "name": name, "time": time_doc}
        versions: dict[str, Any] = {}
        for version, e in pkg.versions.items():
            doc = copy.deepcopy(e.manifest)
            dist: dict[str, Any] = {
                "integrity": e.integrity,
                "shasum": e.shasum,
                "tarball": self.tarball_url(name, version),
                "fileCount": len(e.files),
                "unpackedSize": sum(len(v) for v in e.files.values()),
            }
            if e.signatures:
                dist["signatures"] = [
                    {"keyid": "SHA256:fake", "sig": base64.b64encode(e.shasum.encode()).decode()}
                ]
            if e.attestations:
                dist["attestations"] = {
                    "url": f"{self.url}-/npm/v1/attestations/{name}@{version}",
                    "provenance": {"predicateType": "https://slsa.dev/provenance/v1"},
                }
            doc.update(
                _id=f"{name}@{version}",
                _npmUser={"name": e.publisher, "email": f"{e.publisher}@example.com"},
                maintainers=[{"name": p, "email": f"{p}@example.com"} for p in e.maintainers]
                or people,
                dist=dist,
                _hasShrinkwrap=False,
                _npmVersion="10.8.2",
                _nodeVersion="20.18.0",
                directories={},
            )
            versions[version] = doc
            time_doc[version] = iso(e.published)
        latest = pkg.dist_tags.get("latest")
        head = pkg.versions[latest].manifest if latest in pkg.versions else {}
        return {
            "_id": name,
            "_rev": f"{len(versions)}-{hashlib.md5(name.encode()).hexdigest()}",
            "name": name,
            "description": head.get("description", ""),
            "dist-tags": dict(pkg.dist_tags),
            "versions": versions,
            "time": time_doc,
            "maintainers": people,
            "license": head.get("license", "MIT"),
            "readme": "",
            "readmeFilename": "",
        }

    # ---- serving ----

    def start(self) -> str:
        registry = self

        class Handler(_Handler):
            owner = registry

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def serve(self) -> Iterator[str]:
        url = self.start()
        try:
            yield url
        finally:
            self.stop()

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.remaining > 0 and (failure.path is None or failure.path in path):
                    failure.remaining -= 1
                    return failure
        return None


class _Handler(BaseHTTPRequestHandler):
    owner: FakeRegistry
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, doc: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(
            status,
            json.dumps(doc).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        reg = self.owner
        raw_path = urlsplit(self.path).path
        with reg._lock:
            reg.requests.append(
                RecordedRequest(
                    self.command, raw_path, {k.lower(): v for k, v in self.headers.items()}
                )
            )
        for prefix, seconds in reg._delays:
            if prefix is None or prefix in raw_path:
                time.sleep(seconds)
        failure = reg._take_failure(raw_path)
        if failure is not None:
            extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            self._json(failure.status, {"error": failure.error}, extra)
            return
        if reg.token is not None and self.headers.get("Authorization") != f"Bearer {reg.token}":
            self._json(401, {"error": "authentication required"})
            return
        path = unquote(raw_path).lstrip("/")
        how = reg._misbehaving.get(path)
        if how is not None:
            self._misbehave(how, path)
            return
        if path in reg.redirects:
            self._send(302, b"", {"Location": reg.redirects[path]})
            return
        if path in reg.tarballs:
            self._send(200, reg.tarballs[path], {"Content-Type": "application/octet-stream"})
            return
        doc = reg.packument(path)
        if doc is None:
            self._json(404, {"error": "Not found"})
            return
        body = json.dumps(doc).encode()
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        headers = {
            "Content-Type": "application/json",
            "ETag": etag,
            "Cache-Control": f"public, max-age={reg.max_age}",
        }
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", {"ETag": etag, "Cache-Control": headers["Cache-Control"]})
            return
        self._send(200, body, headers)

    def _misbehave(self, how: Misbehaviour, path: str) -> None:
        reg = self.owner
        body: bytes | Callable[[], Iterable[bytes]]
        if how.body is not None:
            body = how.body
        elif path in reg.tarballs:
            body = reg.tarballs[path]
        else:
            body = json.dumps(reg.packument(path)).encode()
        length = how.length
        if length is None and isinstance(body, bytes):
            length = len(body)
        lines = [f"HTTP/1.1 {how.status} Hostile\r\n"]
        lines += [f"{k}: {v}\r\n" for k, v in how.headers.items()]
        if length is not None and length >= 0:
            lines.append(f"Content-Length: {length}\r\n")
        lines.append("Connection: close\r\n\r\n")
        self.close_connection = True
        try:
            for line in lines:
                self.wfile.write(line.encode("latin-1"))
                self.wfile.flush()
                if how.drip_headers:
                    time.sleep(how.drip_headers)
            chunks = [body] if isinstance(body, bytes) else body()
            sent = 0
            for chunk in chunks:
                if how.truncate is not None:
                    chunk = chunk[: max(0, how.truncate - sent)]
                step = how.drip_bytes if how.drip else len(chunk) or 1
                for start in range(0, len(chunk), step):
                    self.wfile.write(chunk[start : start + step])
                    self.wfile.flush()
                    if how.drip:
                        time.sleep(how.drip)
                sent += len(chunk)
                if how.truncate is not None and sent >= how.truncate:
                    break
        except OSError:  # the client gave up: that is the point of most of these
            pass
