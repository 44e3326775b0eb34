"""Fetching package documents and tarballs as npm does.

``GET <registry>/<name>`` (scoped names as ``@scope%2fname``, npm's escaping) for the full
package document, from the registry ``.npmrc`` assigns to the name's scope. Per-package
problems never raise: they come back as a ``PackumentResponse`` with ``status`` ``"error"``
(and ``unreachable`` / ``not_cached`` saying why), so a caller holding older facts can fall back
to them; :func:`unreachable_error` builds the exit-3 error when it cannot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from npmguard.errors import RegistryError
from npmguard.jsontext import loads
from npmguard.limits import TARBALL_BYTES
from npmguard.registry.http import DEFAULT_CONCURRENCY, NotCachedError, UnreachableError
from npmguard.registry.tarball import MB, TarballError, verify_integrity
from npmguard.urls import host_of, redact

if TYPE_CHECKING:
    from npmguard.progress import Observer
    from npmguard.registry.http import RegistrySession
    from npmguard.registry.npmrc import NpmConfig

PackumentStatus = Literal["ok", "not-found", "error"]
T = TypeVar("T")
DEFAULT_TARBALL_LIMIT = TARBALL_BYTES


@dataclass(frozen=True, slots=True)
class PackumentResponse:
    """The registry's answer for one package name."""

    name: str
    status: PackumentStatus
    data: dict[str, Any] | None = None  # the parsed document when status == "ok"
    raw_size: int = 0  # bytes of JSON
    error: str | None = None
    from_cache: bool = False  # answered (or revalidated) from the HTTP cache
    registry: str = ""  # the registry base URL asked
    url: str = ""
    http_status: int | None = None
    unreachable: bool = False  # the registry could not be reached at all
    not_cached: bool = False  # offline and the HTTP cache has no answer

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _identity(response: PackumentResponse) -> PackumentResponse:
    return response


def escape_name(name: str) -> str:
    """A package name as npm puts it in a URL: ``@scope/name`` -> ``@scope%2fname``."""
    return name.replace("/", "%2f", 1) if name.startswith("@") else name


def unreachable_error(responses: Iterable[PackumentResponse]) -> RegistryError | None:
    """The exit-3 error for responses whose registry could not be reached or, offline, whose
    document is not cached; None when every response is usable."""
    unreachable = [r for r in responses if r.unreachable or r.not_cached]
    if not unreachable:
        return None
    first = unreachable[0]
    names = ", ".join(r.name for r in unreachable[:3]) + (" ..." if len(unreachable) > 3 else "")
    if first.not_cached:
        return RegistryError(
            f"{names}: nothing cached for {len(unreachable)} package(s) and --offline is set",
            hint="run once without --offline to fill the cache",
        )
    return RegistryError(
        f"{names}: {first.error or 'registry unreachable'}",
        hint="check the network and proxy settings (https-proxy, noproxy in .npmrc), "
        "or run with --offline to use what is cached",
    )


class RegistryClient:
    """Package documents and tarballs through one :class:`RegistrySession`."""

    def __init__(
        self,
        config: NpmConfig,
        session: RegistrySession,
        *,
        tarball_limit: int = DEFAULT_TARBALL_LIMIT,
    ) -> None:
        self.config = config
        self.session = session
        self.tarball_limit = tarball_limit
        self._down: dict[str, str] = {}  # registry -> why it is unreachable (this run)
        self._lock = threading.Lock()

    def packument_url(self, name: str) -> str:
        return self.config.registry_for(name) + escape_name(name)

    def get_packument(
        self, name: str, *, refresh: bool = False, use_cache: bool = True
    ) -> PackumentResponse:
        """The full package document. ``refresh`` revalidates a cached copy with the server;
        ``use_cache=False`` neither reads nor writes the HTTP cache (for callers that keep
        their own compact facts and do not need the body again)."""
        registry = self.config.registry_for(name)
        url = registry + escape_name(name)

        def make(status: PackumentStatus, **fields: Any) -> PackumentResponse:
            return PackumentResponse(name, status, registry=registry, url=url, **fields)

        down = self._down.get(registry)
        if down is not None:
            return make(status="error", error=down, unreachable=True)
        try:
            response = self.session.get(
                url, refresh=refresh, use_cache=use_cache, registry=registry
            )
        except NotCachedError as e:
            return make(status="error", error=str(e), not_cached=True)
        except UnreachableError as e:
            with self._lock:
                self._down.setdefault(registry, str(e))
            return make(status="error", error=str(e), unreachable=True)
        except RegistryError as e:
            return make(status="error", error=str(e))
        status = response.status_code
        from_cache = bool(getattr(response, "from_cache", False))
        if status == 404:
            return make(status="not-found", http_status=404, from_cache=from_cache)
        if status != 200:
            why = f"HTTP {status} from {redact(registry)}"
            if status in (401, 403):
                why += f": access denied; check the credentials for {host_of(url)} in .npmrc"
            return make(status="error", error=why, http_status=status)
        body = response.content
        try:
            data = loads(body)
        except ValueError as e:
            return make(
                status="error",
                error=f"not a JSON package document ({e})",
                http_status=status,
                raw_size=len(body),
            )
        if not isinstance(data, dict):
            return make(status="error", error="not a JSON object", http_status=status)
        return make(
            status="ok",
            data=data,
            raw_size=len(body),
            from_cache=from_cache,
            http_status=status,
        )

    def fetch_many(
        self,
        names: Iterable[str],
        max_workers: int = DEFAULT_CONCURRENCY,
        progress: Observer | None = None,
        *,
        refresh: bool = False,
        use_cache: bool = True,
    ) -> dict[str, PackumentResponse]:
        """Package documents for many names, ``max_workers`` at a time, in input order.

        Every parsed document stays in memory: for big trees use :meth:`map_packuments`."""
        return self.map_packuments(
            names,
            _identity,
            max_workers,
            progress,
            refresh=refresh,
            use_cache=use_cache,
        )

    def map_packuments(
        self,
        names: Iterable[str],
        extract: Callable[[PackumentResponse], T],
        max_workers: int = DEFAULT_CONCURRENCY,
        progress: Observer | None = None,
        *,
        refresh: bool = False,
        use_cache: bool = True,
    ) -> dict[str, T]:
        """``extract(response)`` for each name, run in the worker thread as soon as its
        document arrives, so only what ``extract`` returns is kept (a 1,122-package tree is
        ~190 MB of JSON; holding every parsed document costs GBs and triples parse time)."""
        unique = list(dict.fromkeys(names))
        total = len(unique)
        done = 0
        lock = threading.Lock()

        def one(name: str) -> T:
            nonlocal done
            result = extract(self.get_packument(name, refresh=refresh, use_cache=use_cache))
            with lock:
                done += 1
                if progress is not None:
                    progress.advance(done, total, "package documents")
            return result

        if total == 0:
            return {}
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, total))) as pool:
            return dict(zip(unique, pool.map(one, unique), strict=True))

    def get_tarball(self, url: str, integrity: str | None, *, name: str | None = None) -> bytes:
        """The tarball's bytes, streamed under the size cap and checked against ``integrity``
        (SSRI) before they are returned. Raises IntegrityError, TarballError, RegistryError."""
        what = name or redact(url)
        registry = self.config.registry_for(name) if name else None
        response = self.session.get(
            url, accept="application/octet-stream", stream=True, use_cache=False, registry=registry
        )
        try:
            if response.status_code != 200:
                raise RegistryError(f"{what}: tarball {redact(url)}: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.tarball_limit:
                raise TarballError(self._too_big(what))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.tarball_limit:
                    raise TarballError(self._too_big(what))
                chunks.append(chunk)
        finally:
            response.close()
        data = b"".join(chunks)
        verify_integrity(data, integrity, what=what)
        return data

    def _too_big(self, what: str) -> str:
        return f"{what}: tarball over the {self.tarball_limit // MB} MB limit"
