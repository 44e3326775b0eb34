"""The team cache: one Redis every developer and CI runner of an organisation shares.

One URL configures it (``cache-url`` in the policy's ``[settings]``, or
``NPMGUARD_CACHE_URL``): ``redis://host:6379/0`` or ``rediss://`` for TLS. A password
comes from the environment only (``NPMGUARD_CACHE_PASSWORD``, ``NPMGUARD_CACHE_USERNAME``, or
inside ``NPMGUARD_CACHE_URL``), never from a committed file.

Keys start with ``npmguard:``: the facts (:mod:`npmguard.store.redis_facts`), the imported
feeds (:mod:`npmguard.feeds.shared`), whole files every machine would otherwise build
(``npmguard:files:``) and the HTTP cache (``npmguard:http:``).

Every value is an *envelope*: ``b"NG"``, an envelope version byte, a 2-byte meta length,
the meta JSON (``f`` format, ``st`` status, ``at`` fetch time, ``int`` the integrity the
facts were derived from, ``src`` the registry, ``by`` the writer), then the compact
encoding. An envelope of another version or format reads as absent.

Failures never stop a run: Redis down, slow (every call has a bounded timeout, no retries)
or refusing the login is one warning, after which the layer is off for the run; full
(``maxmemory``) or read-only for this client (an ACL without write rights: developers'
machines) turns writing off and keeps reading.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from npmguard.errors import UsageError
from npmguard.urls import redact

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT = 1.0  # seconds to open a connection
CALL_TIMEOUT = 3.0  # seconds any one reply may take
ENVELOPE = 1
_MAGIC = b"NG"
SCHEMES = ("redis", "rediss")


def check_cache_url(url: str, where: str = "") -> None:
    """Refuse a URL npmguard cannot use, or one that carries a password where it would be
    committed (``where`` names the policy file and line; empty for the environment)."""
    parts = urlsplit(url)
    prefix = f"{where}: " if where else ""
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise UsageError(
            f"{prefix}cache-url: {redact(url)}: not a redis:// or rediss:// URL",
            hint='cache-url = "rediss://cache.example.com:6380/0"',
        )
    if where and parts.password:
        raise UsageError(
            f"{prefix}cache-url: the URL carries a password, and a policy file is committed",
            hint="remove it from the file and set NPMGUARD_CACHE_PASSWORD in the environment "
            "(CI secrets, or your shell profile) instead",
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a shared entry says about itself (see the module docs)."""

    format: int
    payload: bytes
    status: str | None = None
    fetched_at: float | None = None
    integrity: str | None = None
    source: str | None = None
    writer: str | None = None


def pack(envelope: Envelope) -> bytes:
    meta: dict[str, Any] = {"f": envelope.format}
    for key, value in (
        ("st", envelope.status),
        ("at", envelope.fetched_at),
        ("int", envelope.integrity),
        ("src", envelope.source),
        ("by", envelope.writer),
    ):
        if value is not None:
            meta[key] = value
    head = json.dumps(meta, separators=(",", ":")).encode()
    return _MAGIC + bytes([ENVELOPE]) + struct.pack(">H", len(head)) + head + envelope.payload


def unpack(blob: bytes | None, format: int) -> Envelope | None:
    """The envelope in ``blob``; None for anything else (absent, damaged, another envelope
    version or facts format: an older npmguard never misreads a newer entry)."""
    if not blob or blob[:2] != _MAGIC or len(blob) < 5 or blob[2] != ENVELOPE:
        return None
    (size,) = struct.unpack(">H", blob[3:5])
    try:
        meta = json.loads(blob[5 : 5 + size])
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("f") != format:
        return None
    return Envelope(
        format,
        blob[5 + size :],
        meta.get("st"),
        meta.get("at"),
        meta.get("int"),
        meta.get("src"),
        meta.get("by"),
    )


def writer_name() -> str:
    """Who writes shared entries: ``NPMGUARD_CACHE_WRITER``, else this machine's name."""
    return os.environ.get("NPMGUARD_CACHE_WRITER") or socket.gethostname()


class SharedCache:
    """One connection to the team's Redis for a run, shared by the facts and feed layers.

    :meth:`call` runs a command and answers ``default`` once the layer is off; the first
    failure is the run's one warning. :attr:`writable` turns False when Redis is full or
    this client may only read.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = CALL_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        check_cache_url(url)
        self.url = url
        self.location = redact(url)
        self._username = username
        self._password = password
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._client: redis.Redis | None = None
        self.available = True
        self.writable = True
        self._warned = False

    @classmethod
    def from_environment(cls, url: str, environ: Mapping[str, str]) -> SharedCache:
        return cls(
            url,
            username=environ.get("NPMGUARD_CACHE_USERNAME") or None,
            password=environ.get("NPMGUARD_CACHE_PASSWORD") or None,
        )

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._client = redis.Redis.from_url(
                self.url,
                username=self._username,
                password=self._password,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._connect_timeout,
                retry=Retry(NoBackoff(), 0),  # a slow Redis costs one timeout, not four
                client_name="npmguard",
            )
        return self._client

    def call(self, what: str, run: Callable[[redis.Redis], T], default: T) -> T:
        """``run(client)``, or ``default`` when the layer is off or the call fails."""
        if not self.available:
            return default
        import redis

        try:
            return run(self.client)
        except redis.RedisError as e:
            self._failed(what, e)
            return default

    def write(self, what: str, run: Callable[[redis.Redis], object]) -> bool:
        """Run a write; False (and writing off for the run) when it cannot be done."""
        if not (self.available and self.writable):
            return False
        import redis
        from redis.exceptions import NoPermissionError, ReadOnlyError, ResponseError

        try:
            run(self.client)
            return True
        except (NoPermissionError, ReadOnlyError) as e:
            self.writable = False
            log.info(
                "%s: read-only for this client (%s); facts are read, not shared",
                self.location,
                _first_line(e),
            )
        except ResponseError as e:
            self.writable = False
            if "OOM" in str(e) or "maxmemory" in str(e):
                self._warn(
                    f"{self.location}: the team cache is full ({_first_line(e)}); "
                    "this run's facts stay local"
                )
            else:
                self._warn(
                    f"{self.location}: the team cache refused a write "
                    f"({_first_line(e)}); this run's facts stay local"
                )
        except redis.RedisError as e:
            self._failed(what, e)
        return False

    def _failed(self, what: str, error: Exception) -> None:
        from redis.exceptions import AuthenticationError, NoPermissionError

        self.available = False
        if isinstance(error, AuthenticationError):
            why = "the login was refused (check NPMGUARD_CACHE_USERNAME / _PASSWORD)"
        elif isinstance(error, NoPermissionError):
            why = f"this client may not {what} ({_first_line(error)})"
        else:
            why = f"{type(error).__name__} while trying to {what}"
        self._warn(
            f"{self.location}: the team cache is not usable: {why}; going on with the local "
            "cache and the registry"
        )

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("%s", message)
        else:
            log.debug("%s", message)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


FILES = "npmguard:files:"  # whole files every machine would otherwise build for itself
_ZLIB = b"NGZ1"  # a shared file's header: zlib-compressed


def fetch_file(cache: SharedCache, key: str, path: Path) -> bool:
    """Write the team cache's copy of ``key`` to ``path`` (atomically); False when there is
    none or it cannot be had."""
    packed = cache.call("read a shared file", lambda c: c.get(FILES + key), None)
    if not isinstance(packed, bytes) or not packed.startswith(_ZLIB):
        return False
    from npmguard.fsutil import write_atomic

    try:
        blob = zlib.decompress(packed[len(_ZLIB) :])
    except zlib.error:
        return False

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, blob)
    except OSError as e:
        log.warning("%s: cannot write the team cache's copy: %s", path, e.strerror)
        return False
    return True


def share_file(cache: SharedCache, key: str, path: Path) -> None:
    """Put ``path`` in the team cache under ``key`` unless it is there (kept for good)."""
    try:
        packed = _ZLIB + zlib.compress(path.read_bytes(), 1)  # a third the bytes to move
    except OSError:
        return
    cache.write("share a file", lambda c: c.set(FILES + key, packed, nx=True))


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
