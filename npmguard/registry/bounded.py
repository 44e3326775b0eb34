"""Bounding what one registry request may cost: a deadline per attempt and a size per body.

``fetch-timeout`` bounds each attempt as a whole, as it does in npm (minipass-fetch's
``timeout`` runs from the request to the last byte of the body), not each socket read: a
server that drips one byte every few seconds never trips a read timeout, so a per-read
timeout alone let such a server hold a run for minutes. Here every connection the registry
session opens is watched (:class:`BoundedAdapter`): when an attempt outlives its deadline, a
watchdog thread shuts the socket down, the blocked read returns, and the request fails as a
timeout (:class:`~npmguard.registry.http.UnreachableError`). Retries (``fetch-retries``) are
new attempts, each with its own deadline, as in npm.

:func:`read_body` reads a streamed answer under a byte limit (``Content-Length`` checked
first, then what actually arrives, after ``Content-Encoding`` is undone, so a gzip bomb stops
at the limit too) and turns a body cut short or too big into a
:class:`~npmguard.errors.RegistryError` that says which.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from npmguard.registry.faults import BodyCutShort, BodyTooLarge, TimedOut

if TYPE_CHECKING:
    import requests

_READ_CHUNK = 1 << 20
_local = threading.local()


@dataclass(eq=False)
class _Attempt:
    """One request on one connection: its deadline and the socket to shut down."""

    expires: float
    conn: Any
    sock: Any = None
    sent: bool = False
    done: bool = False
    expired: bool = False

    def kill(self) -> None:
        """Called by the watchdog at the deadline: wake the thread blocked on the socket."""
        if self.done or getattr(self.conn, "_npmguard_attempt", None) is not self:
            return  # finished, or the connection already serves another request
        self.expired = True
        sock = self.sock or getattr(self.conn, "sock", None)
        if sock is not None:
            # the plain socket's shutdown, also under TLS: the blocked read sees EOF
            with contextlib.suppress(OSError, TypeError, ValueError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


@dataclass(eq=False)
class Budget:
    """One logical request (a :meth:`RegistrySession.get` and the reading of its body):
    ``seconds`` per attempt."""

    seconds: float
    attempts: list[_Attempt] = field(default_factory=list)

    @property
    def expired(self) -> bool:
        """Whether any attempt ran out of time."""
        return any(a.expired for a in self.attempts)

    def watch(self, conn: Any, *, sending: bool) -> None:
        """The connection ``conn`` connects (``sending=False``) or sends a request: start an
        attempt unless this is the request the attempt started at connect is for."""
        current = self.attempts[-1] if self.attempts else None
        if current is None or current.conn is not conn or current.done or current.sent:
            current = _Attempt(time.monotonic() + self.seconds, conn)
            self.attempts.append(current)
            _WATCHDOG.add(current)
        if sending:
            current.sent = True
        conn._npmguard_attempt = current
        sock = getattr(conn, "sock", None)
        if sock is not None:
            current.sock = sock
        if current.expired or time.monotonic() >= current.expires:
            current.kill()

    def finish(self) -> None:
        """The answer was read (or given up on): no deadline applies any more."""
        for attempt in self.attempts:
            attempt.done = True


def begin(seconds: float) -> Budget:
    """A new budget for this thread's next request (the one before it is finished)."""
    previous = getattr(_local, "budget", None)
    if previous is not None:
        previous.finish()
    budget = Budget(seconds)
    _local.budget = budget
    return budget


def _current() -> Budget | None:
    return getattr(_local, "budget", None)


class _Watchdog:
    """One daemon thread that kills attempts at their deadlines (a heap of them)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Attempt]] = []
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, attempt: _Attempt) -> None:
        with self._cond:
            heapq.heappush(self._heap, (attempt.expires, next(self._count), attempt))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="npmguard-deadline", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                expires, _, attempt = self._heap[0]
                wait = expires - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            attempt.kill()


_WATCHDOG = _Watchdog()


def _watched(cls: type) -> type:
    """A urllib3 connection class whose connections report to this thread's budget."""

    class Watched(cls):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            budget = _current()
            if budget is not None:
                budget.watch(self, sending=False)
            super().connect()
            if budget is not None:
                budget.watch(self, sending=False)  # now with its socket

        def request(self, *args: Any, **kwargs: Any) -> None:
            budget = _current()
            if budget is not None:
                budget.watch(self, sending=True)
            super().request(*args, **kwargs)

    Watched.__name__ = f"Watched{cls.__name__}"
    return Watched


def _pool_classes() -> dict[str, type]:
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Pool(HTTPConnectionPool):
        ConnectionCls = _watched(HTTPConnection)

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls = _watched(HTTPSConnection)

    return {"http": Pool, "https": TlsPool}


def bounded_adapter(**kwargs: Any) -> Any:
    """A requests ``HTTPAdapter`` whose connections (direct or through a proxy) are watched
    by the budget of the thread using them."""
    from requests.adapters import HTTPAdapter

    classes = _pool_classes()

    class BoundedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
            super().init_poolmanager(*args, **pool_kwargs)
            self.poolmanager.pool_classes_by_scheme = classes

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = classes
            return manager

    return BoundedAdapter(**kwargs)


def read_body(response: requests.Response, limit: int, what: str) -> bytearray:
    """The whole body of a streamed ``response``, at most ``limit`` bytes once decoded.

    Raises :class:`BodyTooLarge`, :class:`BodyCutShort`, or :class:`TimedOut` (a subclass
    of the session's ``UnreachableError``) when the attempt outlived ``fetch-timeout``.
    Always closes the response and ends the request's deadline.
    """
    from requests import RequestException

    budget = getattr(response, "npmguard_budget", None)
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit and not _encoded(response):
            raise BodyTooLarge(_too_large(what, limit))
        data = bytearray()
        try:
            for chunk in response.iter_content(_READ_CHUNK):
                data += chunk
                if len(data) > limit:
                    raise BodyTooLarge(_too_large(what, limit))
        except (RequestException, OSError, ValueError) as e:
            if budget is not None and budget.expired:
                raise timed_out(what, budget.seconds) from e
            raise BodyCutShort(
                f"{what}: the answer was cut short ({type(e).__name__})",
                hint="the registry or a proxy dropped the connection; run again",
            ) from e
        if budget is not None and budget.expired:  # a connection closed at the deadline
            raise timed_out(what, budget.seconds)
        return data
    finally:
        if budget is not None:
            budget.finish()
        response.close()


def timed_out(what: str, seconds: float) -> TimedOut:
    return TimedOut(
        f"{what}: no complete answer within {seconds:g} s (fetch-timeout)",
        hint="the registry is too slow or holds the connection open; check the network, "
        "or raise fetch-timeout in .npmrc",
    )


def _encoded(response: requests.Response) -> bool:
    return response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")


def body_cap(limit: int, what: str) -> Callable[..., Any]:
    """A ``requests`` response hook reading the body as it arrives, at most ``limit`` bytes
    once decoded, before anything else (an HTTP cache) reads it all: a small gzip bomb cannot
    grow to gigabytes in memory or on disk. Raises :class:`BodyTooLarge`; bodies cut short
    raise as ``requests`` does."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        data = bytearray()
        for chunk in response.iter_content(_READ_CHUNK):
            data += chunk
            if len(data) > limit:
                response.close()
                raise BodyTooLarge(_too_large(what, limit))
        response._content = bytes(data)  # read: what requests would have read, capped
        return response

    return hook


def _too_large(what: str, limit: int) -> str:
    from npmguard.limits import shown

    return f"{what} over the {shown(limit)} limit (see docs/limits.md)"
