"""The store protocols: what the facts providers need from a store, whatever its back end.

:class:`Store` is the part every store shares (where it lives, closing it).
:class:`FactsBackend` is the facts cache's interface: package pictures with their fetch
time, per-version manifests and per-integrity tarball facts, each an encoded blob
(:mod:`npmguard.reputation.codec`), written in one batch per run. The SQLite file
(:class:`npmguard.reputation.store.FactsStore`) implements it; so can a shared layer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Store(Protocol):
    """What every store offers."""

    @property
    def location(self) -> str:
        """Where the store lives, for messages: a path, or a URL without credentials."""

    def close(self) -> None:
        """Release the connection; safe to call twice."""


@dataclass(frozen=True, slots=True)
class StoredPackage:
    """A package row: ``status`` "ok" (``picture`` set) or "not-found" (the registry's 404).
    ``fetched_at`` is seconds since the epoch."""

    registry: str
    name: str
    status: str
    fetched_at: float
    picture: bytes | None

    def age(self, now: float | None = None) -> float:
        """Seconds since the picture was fetched."""
        return (time.time() if now is None else now) - self.fetched_at


@dataclass(frozen=True, slots=True)
class NewPackage:
    """What a fetch learned about one package, to be written in one batch."""

    registry: str
    name: str
    status: str
    picture: bytes | None
    manifests: Mapping[str, bytes]  # version -> encoded ManifestFacts


@dataclass(frozen=True, slots=True)
class StoreStats:
    path: Path
    bytes: int  # the database file and its WAL
    packages: int
    versions: int
    tarballs: int


class FactsBackend(Store, Protocol):
    """The facts cache (see the module docs). Keys are (registry URL, name[, version])."""

    def packages(
        self, registry_names: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredPackage]: ...

    def manifests(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], bytes]: ...

    def tarballs(self, integrities: Iterable[str]) -> dict[str, bytes]: ...

    def save(
        self,
        packages: Iterable[NewPackage] = (),
        tarballs: Mapping[str, bytes] | None = None,
        *,
        now: float | None = None,
    ) -> None:
        """Write what a run learned (versions and tarballs: insert only, never replaced)."""

    def stats(self) -> StoreStats: ...

    def clear(self) -> None: ...
