"""Downloading tarballs for the facts source under a memory budget.

A big tree holds a few huge tarballs side by side (``@next/swc-*``: eight native builds of
35-50 MB each, adjacent in the lockfile), and fetching them all at once would cost most of a
GB. Each download therefore takes its declared size (``Content-Length``) from a shared
:class:`ByteBudget` before it reads the body, and gives it back once the tarball has been read;
one bigger than the whole budget waits until it is alone. Size limits and integrity checks are
the registry client's (:class:`~npmguard.registry.client.RegistryClient`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from npmguard.errors import RegistryError

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

    @contextmanager
    def take(self, size: int) -> Iterator[None]:
        size = max(1, min(size, self.limit))
        with self._cond:
            self._cond.wait_for(lambda: self.used + size <= self.limit)
            self.used += size
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._cond:
                self.used -= size
                self._cond.notify_all()


def fetch_and_read(
    client: RegistryClient,
    url: str,
    integrity: str | None,
    name: str,
    budget: ByteBudget,
    read: Callable[[bytes], T],
) -> T:
    """Download ``url`` (streamed, within the client's size cap), verify it against
    ``integrity``, and return ``read(bytes)``, all while holding its share of ``budget``."""
    from npmguard.registry.tarball import TarballError, verify_integrity
    from npmguard.urls import redact

    registry = client.config.registry_for(name)
    response = client.session.get(
        url, accept="application/octet-stream", stream=True, use_cache=False, registry=registry
    )
    try:
        if response.status_code != 200:
            raise RegistryError(f"{name}: tarball {redact(url)}: HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        size = int(declared) if declared.isdigit() else UNKNOWN_SIZE
        too_big = TarballError(f"{name}: tarball over the {client.tarball_limit >> 20} MB limit")
        if size > client.tarball_limit:
            raise too_big
        with budget.take(size):
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_content(256 * 1024):
                total += len(chunk)
                if total > client.tarball_limit:
                    raise too_big
                chunks.append(chunk)
            response.close()
            data = b"".join(chunks)
            del chunks
            verify_integrity(data, integrity, what=name)
            return read(data)
    finally:
        response.close()
