"""The store protocols: what the facts providers need from a store, whatever its back end.

:class:`Store` is the part every store shares (where it lives, closing it).
:class:`FactsBackend` is the facts cache's interface: package pictures with their fetch
time, per-version manifests and per-integrity tarball facts, each an encoded blob
(:mod:`npmguard.reputation.codec`), written in one batch per run. The SQLite file
(:class:`npmguard.reputation.store.FactsStore`) implements it, and so does the team layer
(:class:`npmguard.store.layered.LayeredStore`: the SQLite file first, then a shared Redis).

Every manifest carries the dist integrity it describes and its origin ("registry": fetched
by this machine; "shared": read from the team cache), so a shared entry that disagrees with
the lockfile is never used (see :meth:`FactsBackend.manifests`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    """What a fetch learned about one package, to be written in one batch.

    ``status`` None writes only the manifests (the package row is left as it is).
    ``integrities`` is each manifest's dist integrity (SSRI), recorded beside it.
    ``origin`` is "registry" (fetched by this machine) or "shared" (read from the team
    cache). ``fetched_at`` (seconds since the epoch) overrides the batch's ``now``: a picture
    read from the team cache keeps the age it had there.
    """

    registry: str
    name: str
    status: str | None
    picture: bytes | None
    manifests: Mapping[str, bytes]  # version -> encoded ManifestFacts
    integrities: Mapping[str, str | None] = field(default_factory=dict)
    origin: str = "registry"
    fetched_at: float | None = None


@dataclass(frozen=True, slots=True)
class StoreStats:
    path: Path
    bytes: int  # the database file and its WAL
    packages: int
    versions: int
    tarballs: int


class FactsBackend(Store, Protocol):
    """The facts cache (see the module docs). Keys are (registry URL, name[, version])."""

    @property
    def path(self) -> Path:
        """The local SQLite file (the first layer)."""

    def packages(
        self, registry_names: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredPackage]: ...

    def manifests(
        self,
        keys: Iterable[tuple[str, str, str]],
        *,
        expect: Mapping[tuple[str, str, str], str | None] | None = None,
    ) -> dict[tuple[str, str, str], bytes]:
        """Encoded manifests for the keys that are stored. ``expect`` gives the lockfile's
        integrity per key: a manifest from the team cache whose recorded integrity disagrees
        with it (:func:`integrity_conflicts`) is left out, so it is fetched from the registry
        again and no finding rests on it."""

    def tarballs(self, integrities: Iterable[str]) -> dict[str, bytes]: ...

    def save(
        self,
        packages: Iterable[NewPackage] = (),
        tarballs: Mapping[str, bytes] | None = None,
        *,
        now: float | None = None,
        more: bool = False,
    ) -> None:
        """Write what a run learned (versions and tarballs: insert only, never replaced).
        ``more``: a batch of a run that is still fetching (the team layer keeps its claims
        on what is not saved yet)."""

    def forget(
        self, versions: Iterable[tuple[str, str, str]] = (), tarballs: Iterable[str] = ()
    ) -> None:
        """Drop version rows (registry, name, version) and tarball rows (integrity) that
        could not be decoded, so the facts fetched again take their place."""

    def stats(self) -> StoreStats: ...

    def clear(self) -> None: ...


def _hashes(integrity: str | None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for token in (integrity or "").split():
        algo, _, digest = token.partition("-")
        if digest:
            out.setdefault(algo.lower(), set()).add(digest.split("?", 1)[0])
    return out


def integrity_conflicts(a: str | None, b: str | None) -> bool:
    """Whether two SSRI strings name different bytes under a hash algorithm they share
    (unknown on either side is no conflict)."""
    x, y = _hashes(a), _hashes(b)
    return any(not (x[algo] & y[algo]) for algo in x.keys() & y.keys())
