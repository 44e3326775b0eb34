"""The one HTTP session npmguard talks to registries through.

- ``requests-cache`` with SQLite at ``<cache_dir>/http.sqlite`` (WAL, so parallel processes
  share it). Package documents are cached and revalidated (ETag / Last-Modified) once the
  server's ``max-age`` has passed; an answer without cache headers is fresh for
  ``packument_ttl`` (5 minutes), then fetched again. Offline, any cached answer is used.
  Writes skip fsync (``fast_save``): it is a cache, and a damaged file is dropped with a
  warning. Tarballs are never cached here: the facts read from them are stored by the
  reputation store, so the bytes are not needed again. Callers that keep their own compact
  facts can bypass the body cache per request (``use_cache=False``).
- A (connect, read) timeout on every request, from ``fetch-timeout`` (30 s unless set).
- urllib3 retries with exponential backoff on connection errors, 429 and 5xx, honouring
  ``Retry-After`` (capped at 30 s), ``fetch-retries`` times (2 unless set).
- A keep-alive pool sized to the concurrency (24 by default).
- Credentials are added per request from ``.npmrc`` for that URL only, and redirects are
  followed here hop by hop, so a redirect or tarball on another host never gets a token.
- A cache that cannot be opened or breaks mid-run costs one warning, then requests go on
  without it. Its back end is the SQLite file, or the team cache's Redis (``shared``) when
  one is configured, where only answers that say their size, up to ``max_cached_bytes``,
  are kept.
- Callers that fetch from URLs people write (policy ``extends``, feed downloads) pass
  ``check_url``, called for the first URL and every redirect hop, so that a redirect can
  never lead somewhere the first URL could not go (plain http, another scheme).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npmguard.errors import RegistryError
from npmguard.registry.faults import BodyCutShort
from npmguard.registry.faults import NotCachedError as NotCachedError  # re-exported
from npmguard.registry.faults import UnreachableError as UnreachableError
from npmguard.urls import host_of, parse_url, redact

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from npmguard.registry.npmrc import NpmConfig
    from npmguard.store.redis import SharedCache

    CheckUrl = Callable[[str, str | None], None]  # (this hop, the previous hop or None)

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 24  # keep-alive pool: 16 package documents + 8 tarballs at once
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 30.0
CACHE_FILE = "http.sqlite"
RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_PACKUMENT_TTL = 300


def _user_agent() -> str:
    from npmguard import __version__

    return f"npmguard/{__version__} (python-requests)"


def _make_retry(total: int) -> Any:
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):  # type: ignore[misc]
        """Retry that never sleeps longer than MAX_RETRY_AFTER for a Retry-After header."""

        def get_retry_after(self, response: Any) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(float(value), MAX_RETRY_AFTER)

    return CappedRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        backoff_factor=0.25,
        backoff_max=5.0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=0,
    )


def _mount(session: requests.Session, config: NpmConfig, concurrency: int) -> None:
    from npmguard.registry.bounded import bounded_adapter

    adapter = bounded_adapter(
        pool_connections=max(4, len(config.registry_urls()) + 2),
        pool_maxsize=concurrency,
        max_retries=_make_retry(config.fetch_retries),
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # proxies and CAs come from .npmrc (and npm's env fallbacks)
    session.headers["User-Agent"] = _user_agent()


def _ca_bundle(config: NpmConfig, cache_dir: Path) -> bool | str:
    """``verify`` for requests: inline ``ca=`` certificates are written to a file once."""
    verify = config.verify
    if verify is False or not config.ca:
        return verify
    pem = "\n".join(config.ca).encode("utf-8")
    path = cache_dir / f"ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(pem)
    except OSError as e:
        log.warning("%s: cannot write the configured CA certificates: %s", path, e.strerror)
        return verify
    return str(path)


class RegistrySession:
    """A thread-safe GET-only session: cache, retries, timeouts, per-URL credentials."""

    def __init__(
        self,
        config: NpmConfig,
        plain: requests.Session,
        cached: Any | None,
        *,
        offline: bool,
        verify: bool | str,
    ) -> None:
        self.config = config
        self.offline = offline
        self._plain = plain
        self._cached = cached
        self._verify = verify
        timeout = config.fetch_timeout
        self.timeout = (min(10.0, timeout), timeout)

    @property
    def cache_enabled(self) -> bool:
        return self._cached is not None

    @property
    def cache_path(self) -> Path | None:
        if self._cached is None:
            return None
        return Path(str(self._cached.cache.db_path))

    def _disable_cache(self, err: Exception) -> None:
        if self._cached is not None:
            log.warning("the HTTP cache stopped working (%s); continuing without it", err)
            self._cached = None

    def get(
        self,
        url: str,
        *,
        accept: str = "application/json",
        stream: bool = False,
        use_cache: bool = True,
        refresh: bool = False,
        registry: str | None = None,
        check_url: CheckUrl | None = None,
        max_bytes: int | None = None,
    ) -> requests.Response:
        """GET ``url``, following up to 5 redirects with credentials recomputed per hop.
        ``check_url`` may refuse any hop (it raises). ``max_bytes`` bounds a body that is not
        streamed, once decoded, as it arrives (``BodyTooLarge``; nothing is cached).

        ``use_cache=False`` bypasses the HTTP cache (tarballs). ``refresh`` revalidates a
        cached answer with the server. Raises UnreachableError when the host cannot be
        reached or an attempt outlives ``fetch-timeout`` (each attempt, body included: read a
        streamed body with :func:`npmguard.registry.bounded.read_body`), NotCachedError when
        offline and the cache has no answer. HTTP error statuses are returned, not raised.
        """
        from npmguard.registry.bounded import begin, timed_out

        if self.offline and (not use_cache or self._cached is None):  # nothing to answer from
            raise NotCachedError(f"{redact(url)}: not in the cache (offline)")
        budget = begin(self.config.fetch_timeout)
        try:
            response = self._get(
                url, accept, stream, use_cache, refresh, registry, check_url, budget, max_bytes
            )
        except BaseException:
            budget.finish()
            raise
        if not stream:
            budget.finish()
            if budget.expired:  # a body that ended because its deadline closed it
                response.close()
                raise timed_out(host_of(url) or redact(url), budget.seconds)
        response.npmguard_budget = budget  # type: ignore[attr-defined]
        return response

    def _get(
        self,
        url: str,
        accept: str,
        stream: bool,
        use_cache: bool,
        refresh: bool,
        registry: str | None,
        check_url: CheckUrl | None,
        budget: Any,
        max_bytes: int | None = None,
    ) -> requests.Response:
        import requests

        from npmguard.registry.bounded import body_cap, timed_out

        current = _fetchable(url)
        previous: str | None = None
        for _ in range(MAX_REDIRECTS + 1):
            if check_url is not None:
                check_url(current, previous)
            headers = {"Accept": accept}
            auth = self.config.auth_for(current, registry)
            if auth:
                headers.update(auth)
            kwargs: dict[str, Any] = {
                "headers": headers,
                "stream": stream,
                "timeout": self.timeout,
                "allow_redirects": False,
                "proxies": self.config.proxies_for(current),
                "verify": self._verify,
            }
            if max_bytes is not None and not stream:
                kwargs["hooks"] = {"response": [body_cap(max_bytes, redact(current))]}
            try:
                response = self._send(current, kwargs, use_cache=use_cache, refresh=refresh)
            except requests.exceptions.SSLError as e:
                if budget.expired:
                    raise timed_out(host_of(current) or redact(current), budget.seconds) from e
                raise UnreachableError(
                    f"{redact(current)}: TLS error: {e}",
                    hint="check cafile/ca/strict-ssl in your .npmrc",
                ) from e
            except (requests.ConnectionError, requests.Timeout) as e:
                if budget.expired:
                    raise timed_out(host_of(current) or redact(current), budget.seconds) from e
                what = (
                    "registry unreachable"
                    if self._is_registry(current, registry)
                    else "unreachable"
                )
                raise UnreachableError(
                    f"{host_of(current) or redact(current)}: {what}: {type(e).__name__}",
                    hint="check the network and proxy settings (https-proxy, noproxy in "
                    ".npmrc), or run with --offline to use only what is cached",
                ) from e
            except requests.RequestException as e:  # a body cut short (not streamed)
                if budget.expired:
                    raise timed_out(host_of(current) or redact(current), budget.seconds) from e
                raise BodyCutShort(
                    f"{redact(current)}: the answer was cut short ({type(e).__name__})"
                ) from e
            if self.offline and response.status_code == 504:
                raise NotCachedError(f"{redact(url)}: not in the cache (offline)")
            location = response.headers.get("Location")
            if response.status_code in (301, 302, 303, 307, 308) and location:
                response.close()
                previous, current = current, _fetchable(location, base=current)
                continue
            return response
        raise RegistryError(f"{redact(url)}: too many redirects")

    def _send(
        self, url: str, kwargs: dict[str, Any], *, use_cache: bool, refresh: bool
    ) -> requests.Response:
        import requests

        cached = self._cached
        if cached is not None and use_cache:
            try:
                response: requests.Response = cached.get(url, refresh=refresh, **kwargs)
                return response
            except requests.RequestException:  # the network's (an OSError too), not the cache's
                raise
            except _cache_errors() as e:
                if self.offline:
                    raise NotCachedError(f"{redact(url)}: the cache is unreadable ({e})") from e
                self._disable_cache(e)
        return self._plain.get(url, **kwargs)

    def _is_registry(self, url: str, registry: str | None) -> bool:
        """Whether ``url`` is on a registry server (host and port) this run's ``.npmrc`` names
        (or ``registry``)."""

        def server(u: str) -> str | None:
            parsed = parse_url(u)
            return parsed.host if parsed is not None else None

        urls = (*self.config.registry_urls(), *((registry,) if registry else ()))
        return server(url) in {server(r) for r in urls}

    def forget(self, url: str) -> None:
        """Drop the cached answer for ``url`` (one that must not be served again)."""
        if self._cached is not None:
            try:
                self._cached.cache.delete(urls=[url])
            except _cache_errors() as e:
                self._disable_cache(e)

    def close(self) -> None:
        self._plain.close()
        if self._cached is not None:
            self._cached.close()


def _fetchable(url: str, base: str | None = None) -> str:
    """``url`` as Node reads it (its WHATWG ``href``): the host credentials are chosen for is
    then the host ``requests`` connects to. A URL Node would refuse is refused here too."""
    parsed = parse_url(url, base)
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise RegistryError(f"{redact(url)}: not an http(s) URL npm could fetch")
    return parsed.href


def _cache_errors() -> tuple[type[Exception], ...]:
    """What a broken cache raises: SQLite's errors, the file system's, Redis's."""
    try:
        from redis import RedisError
    except ImportError:  # pragma: no cover - redis is a dependency
        return (sqlite3.Error, OSError)
    return (sqlite3.Error, OSError, RedisError)


def make_session(
    config: NpmConfig,
    cache_dir: Path | None,
    offline: bool = False,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    packument_ttl: int = DEFAULT_PACKUMENT_TTL,
    shared: SharedCache | None = None,
    stale_if_error: bool | None = None,
    max_cached_bytes: int | None = None,
) -> RegistrySession:
    """The session for this run. ``cache_dir=None`` disables the HTTP cache.

    ``packument_ttl`` (seconds) is how long an answer without cache headers counts as fresh;
    once stale it is revalidated (``If-None-Match`` / ``If-Modified-Since``: a 304 costs no
    body); the server's ``Cache-Control``/``ETag`` win when it sends them. Offline, any cached
    answer is used however old; ``stale_if_error`` (default: offline) also answers from a
    stale copy when the server fails. ``shared``: keep the cache in the team's Redis instead
    of ``<cache_dir>/http.sqlite``. ``max_cached_bytes``: bodies larger (or of unknown size)
    are not cached (default: any size, or 64 MB in Redis).
    """
    import requests

    plain = requests.Session()
    _mount(plain, config, concurrency)
    cached = None
    verify: bool | str = config.verify
    if cache_dir is not None:
        verify = _ca_bundle(config, cache_dir)
        if shared is not None and max_cached_bytes is None:
            max_cached_bytes = SHARED_MAX_BYTES
        cached = _open_cache(
            config,
            cache_dir,
            offline,
            concurrency,
            packument_ttl,
            shared=shared,
            stale_if_error=offline if stale_if_error is None else stale_if_error,
            max_bytes=max_cached_bytes,
        )
    return RegistrySession(config, plain, cached, offline=offline, verify=verify)


SHARED_MAX_BYTES = 64 << 20  # the largest answer kept in the team's Redis
HTTP_NAMESPACE = "npmguard:http"


def _sqlite_backend(path: Path) -> Any:
    """The HTTP cache in ``path``; where this process may not write it (a read-only cache
    folder), a copy in memory: what it holds is used, what this run adds is not kept."""
    import uuid

    from requests_cache.backends.sqlite import SQLiteCache

    from npmguard.store.sqlite import memory_copy, write_problem

    path.parent.mkdir(parents=True, exist_ok=True)
    problem = write_problem(path)
    if problem is None:
        return SQLiteCache(path, wal=True, fast_save=True, busy_timeout=30_000, timeout=30)
    log.info("%s: cannot write the HTTP cache (%s); using a copy in memory", path, problem)
    name = f"npmguard-http-{uuid.uuid4().hex}"
    keep = memory_copy(path, name) if path.is_file() else None
    try:  # the backend's own connections keep the shared in-memory database alive
        return SQLiteCache(f"file:{name}?mode=memory&cache=shared", uri=True, fast_save=True)
    finally:
        if keep is not None:
            keep.close()


def _open_cache(
    config: NpmConfig,
    cache_dir: Path,
    offline: bool,
    concurrency: int,
    ttl: int,
    *,
    shared: SharedCache | None,
    stale_if_error: bool,
    max_bytes: int | None,
) -> Any:
    def small_enough(response: Any) -> bool:
        if max_bytes is None:
            return True
        size = response.headers.get("Content-Length", "")
        return size.isdigit() and int(size) <= max_bytes

    try:
        from requests_cache import CachedSession

        backend: Any
        if shared is not None:
            from requests_cache.backends.redis import RedisCache

            backend = RedisCache(namespace=HTTP_NAMESPACE, connection=shared.client)
        else:
            backend = _sqlite_backend(cache_dir / CACHE_FILE)
        session = CachedSession(
            backend=backend,
            expire_after=ttl,  # when the server sends no cache headers (the mirror here)
            cache_control=True,  # the registry's max-age decides freshness
            allowable_codes=(200,),
            allowable_methods=("GET",),
            stale_if_error=stale_if_error,
            only_if_cached=offline,
            filter_fn=small_enough,
        )
        len(backend.responses)  # touch the store: a corrupt one fails here, not mid-run
        # requests-cache logs a traceback when it answers from a stale copy: we say it once
        logging.getLogger("requests_cache").addHandler(logging.NullHandler())
        logging.getLogger("requests_cache").propagate = False
    except Exception as e:  # any failure to open the cache: warn once and go on without it
        log.warning("%s: cannot use the HTTP cache (%s); continuing without it", cache_dir, e)
        return None
    _mount(session, config, concurrency)
    return session
