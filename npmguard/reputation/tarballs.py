"""Downloading tarballs for the facts source under a memory budget.

A big tree holds a few huge tarballs side by side (``@next/swc-*``: eight native builds of
35-50 MB each, adjacent in the lockfile), and fetching them all at once would cost most of a
GB. Each download therefore takes its declared size (``Content-Length``) from a shared
:class:`ByteBudget` before it reads the body, and gives it back once the tarball has been read;
one bigger than the whole budget waits until it is alone. Size limits and integrity checks are
the registry client's (:class:`~npmguard.registry.client.RegistryClient`).

:func:`outcome` sorts what can go wrong with one tarball into a
:class:`~npmguard.facts.ContentProblem`: content that cannot be read and bytes that are not
the locked ones are facts about the package (findings); a failed download is a registry fault.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from npmguard.errors import RegistryError
from npmguard.facts import ContentProblem, TarballFacts

if TYPE_CHECKING:
    from npmguard.registry.client import RegistryClient

T = TypeVar("T")
DEFAULT_BUDGET = 32 * 1024 * 1024  # compressed bytes in flight
UNKNOWN_SIZE = 4 * 1024 * 1024  # what a download without Content-Length is assumed to take


class ByteBudget:
    """A counting semaphore in bytes."""

    def __init__(self, limit: int = DEFAULT_BUDGET) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def acquire(self, size: int) -> int:
        """Wait until ``size`` bytes fit (one bigger than the whole budget waits until it is
        alone), take them, and return what to :meth:`release` later."""
        size = max(1, min(size, self.limit))
        with self._cond:
            self._cond.wait_for(lambda: self.used + size <= self.limit)
            self.used += size
            self.peak = max(self.peak, self.used)
        return size

    def release(self, taken: int) -> None:
        with self._cond:
            self.used -= taken
            self._cond.notify_all()

    @contextmanager
    def take(self, size: int) -> Iterator[None]:
        taken = self.acquire(size)
        try:
            yield
        finally:
            self.release(taken)


class TarballFetcher:
    """Tarballs downloading ``workers`` at a time while the caller goes on: :meth:`submit`
    gives a future of the tarball's :class:`Outcome`, so a download can start as soon as its
    package is known to need one (while package documents are still arriving).

    Reading is CPU-bound, so one reader thread (one malloc arena) reads every tarball while
    the download threads fetch the next ones (worker processes measured slower here: a few
    big tarballs, each read whole by one reader). Each download holds its share of a
    :class:`ByteBudget` from its first byte until it has been read.
    """

    def __init__(self, client: RegistryClient, workers: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._client = client
        self._budget = ByteBudget()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="npmguard-tgz")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="npmguard-tarball")
        self._lock = threading.Lock()
        self._submitted: dict[tuple[str, str, str], Future[Outcome]] = {}

    def submit(self, name: str, key: str, integrity: str, url: str) -> Future[Outcome]:
        """The outcome of ``name``'s tarball at ``url`` (``key``: name@version, for
        messages), checked against ``integrity``; asked twice, downloaded once."""
        with self._lock:
            found = self._submitted.get((key, integrity, url))
            if found is None:
                found = self._pool.submit(self._one, name, key, integrity, url)
                self._submitted[(key, integrity, url)] = found
            return found

    def _one(self, name: str, key: str, integrity: str, url: str) -> Outcome:
        from npmguard.registry.tarball import read_tarball

        def read(data: bytes | bytearray) -> TarballFacts:
            return self._reader.submit(read_tarball, data, name=key).result()

        return outcome(
            lambda: fetch_and_read(self._client, url, integrity, name, self._budget, read)
        )

    def close(self) -> None:
        """Stop: downloads not started are dropped, the running ones finish."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._reader.shutdown()


def fetch_and_read(
    client: RegistryClient,
    url: str,
    integrity: str | None,
    name: str,
    budget: ByteBudget,
    read: Callable[[bytes | bytearray], T],
) -> T:
    """Download ``url`` (streamed, within the client's size cap and ``fetch-timeout``),
    verify it against ``integrity``, and return ``read(bytes)``, all while holding its share
    of ``budget``.

    Raises what :func:`outcome` sorts: :class:`~npmguard.registry.faults.BodyTooLarge`,
    :class:`~npmguard.registry.tarball.IntegrityError`,
    :class:`~npmguard.registry.tarball.TarballError` (from ``read``), or another
    :class:`~npmguard.errors.RegistryError` (the download failed).
    """
    from npmguard.limits import ERROR_BODY_BYTES, shown
    from npmguard.registry.bounded import read_body
    from npmguard.registry.faults import BodyTooLarge
    from npmguard.registry.tarball import verify_integrity
    from npmguard.urls import redact

    registry = client.config.registry_for(name)
    response = client.session.get(
        url, accept="application/octet-stream", stream=True, use_cache=False, registry=registry
    )
    what = f"{name}: tarball"
    if response.status_code != 200:
        with contextlib.suppress(RegistryError):  # the connection stays reusable
            read_body(response, ERROR_BODY_BYTES, what)
        raise RegistryError(f"{what} {redact(url)}: HTTP {response.status_code}")
    declared = response.headers.get("Content-Length", "")
    size = int(declared) if declared.isdigit() else UNKNOWN_SIZE
    if size > client.tarball_limit:
        response.close()
        raise BodyTooLarge(f"{what} over the {shown(client.tarball_limit)} limit")
    with budget.take(size):
        data = read_body(response, client.tarball_limit, what)
        verify_integrity(data, integrity, what=name)
        return read(data)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one tarball: its facts, or the problem that left its content unknown.
    ``keep``: the facts or the problem hold for good under the integrity (verified bytes)."""

    facts: TarballFacts | None = None
    problem: ContentProblem | None = None
    keep: bool = False


def outcome(fetch: Callable[[], TarballFacts]) -> Outcome:
    """Run ``fetch`` and sort what it raises: content that cannot be read (too big, a bomb,
    not a tarball) or bytes that are not the locked ones are problems of the package; any
    other registry error is a download fault (``on-unreachable`` decides)."""
    from npmguard.registry.faults import BodyTooLarge
    from npmguard.registry.tarball import IntegrityError, TarballError

    try:
        return Outcome(fetch(), keep=True)
    except IntegrityError as e:
        return Outcome(problem=ContentProblem("integrity", str(e), e.served))
    except TarballError as e:  # read after the bytes were verified: true of the integrity
        return Outcome(problem=ContentProblem("unreadable", str(e)), keep=True)
    except BodyTooLarge as e:  # never verified: not kept (another server may serve it)
        return Outcome(problem=ContentProblem("unreadable", str(e)))
    except RegistryError as e:
        return Outcome(problem=ContentProblem("download", str(e)))
