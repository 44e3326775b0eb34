"""The facts cache in two layers: this machine's SQLite file first, the team's Redis second.

Reads go local -> Redis -> (the caller fetches from the registry what neither holds); what
Redis answers is written back to the local file, and what the registry answered is written
to both. The local file is the whole truth for this machine: with Redis down, slow or full,
a run goes on with it and the registry (one warning), and nothing is lost locally.

Package pictures the local file holds fresh are never asked of Redis; a stale or missing
one is taken from Redis when Redis holds it fresh. Runners that start cold at the same time
claim what they fetch (:meth:`npmguard.store.redis_facts.RedisFacts.claim`): a package
another live runner is fetching is waited for (while its claim is renewed, at most
:data:`~npmguard.store.redis_facts.WAIT_SECONDS`), so each package document is fetched from
the registry about once between them.

Trust: a manifest read from Redis whose integrity disagrees with the lockfile is left out
(the registry is asked, and its answer replaces the shared one when the shared one was
wrong); a tarball entry must name the integrity it is stored under. Entries written back to
the local file keep their origin ("shared"), so the same check applies to them later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from npmguard.store.base import FactsBackend, NewPackage, StoredPackage, StoreStats
from npmguard.store.redis_facts import WAIT_SECONDS, RedisFacts, SharedStats


class LayeredStore:
    """:class:`~npmguard.store.base.FactsBackend` over a local store and a shared layer."""

    def __init__(
        self,
        local: FactsBackend,
        shared: RedisFacts,
        *,
        ttl: float,
        now: Callable[[], float] = time.time,
        wait: float = WAIT_SECONDS,
    ) -> None:
        self.local = local
        self.shared = shared
        self.ttl = ttl
        self._now = now
        self._wait = wait
        self._pending: list[NewPackage] = []  # read from Redis, to be written locally
        self._pending_tarballs: dict[str, bytes] = {}

    @property
    def path(self) -> Path:
        return self.local.path

    @property
    def location(self) -> str:
        return f"{self.local.location} + {self.shared.location}"

    # -- reading ----------------------------------------------------------------------------

    def packages(
        self, registry_names: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredPackage]:
        keys = list(dict.fromkeys(registry_names))
        rows = self.local.packages(keys)
        now = self._now()
        want = [k for k in keys if k not in rows or rows[k].age(now) > self.ttl]
        if not want or not self.shared.cache.available:
            return rows
        found = self.shared.packages(want)
        missing = [k for k in want if k not in found]
        if missing:
            found.update(self._claim_packages(missing))
        for key, row in found.items():
            if key not in rows or row.fetched_at > rows[key].fetched_at:
                rows[key] = row
                self._pending.append(
                    NewPackage(
                        row.registry,
                        row.name,
                        row.status,
                        row.picture,
                        {},
                        origin="shared",
                        fetched_at=row.fetched_at,
                    )
                )
        return rows

    def _claim_packages(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StoredPackage]:
        """Claim the fetches nobody runs; wait for those another runner runs."""
        shared = self.shared
        by_entry = {shared.pkg_key(r, n): (r, n) for r, n in keys}
        present, _ours, others = shared.claim(list(by_entry))
        blobs = dict(zip(present, shared.entries(present), strict=True))
        if others:
            blobs.update(shared.wait(others, time.monotonic() + self._wait))
        out: dict[tuple[str, str], StoredPackage] = {}
        for entry, blob in blobs.items():
            registry, name = by_entry[entry]
            row = shared.package_row(registry, name, blob)
            if row is not None:
                out[(registry, name)] = row
        return out

    def manifests(
        self,
        keys: Iterable[tuple[str, str, str]],
        *,
        expect: Mapping[tuple[str, str, str], str | None] | None = None,
    ) -> dict[tuple[str, str, str], bytes]:
        wanted = list(dict.fromkeys(keys))
        out = self.local.manifests(wanted, expect=expect)
        missing = [k for k in wanted if k not in out]
        if not missing or not self.shared.cache.available:
            return out
        blobs: dict[tuple[str, str], dict[str, bytes]] = {}
        integrities: dict[tuple[str, str], dict[str, str | None]] = {}
        for key, found in self.shared.manifests(missing, expect).items():
            registry, name, version = key
            out[key] = found.blob
            blobs.setdefault((registry, name), {})[version] = found.blob
            integrities.setdefault((registry, name), {})[version] = found.integrity
        self._pending.extend(
            NewPackage(r, n, None, None, m, integrities[(r, n)], origin="shared")
            for (r, n), m in blobs.items()
        )
        return out

    def tarballs(self, integrities: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(integrities))
        out = self.local.tarballs(wanted)
        missing = [i for i in wanted if i not in out]
        if not missing or not self.shared.cache.available:
            return out
        found = self.shared.tarballs(missing)
        still = [i for i in missing if i not in found]
        if still:
            shared = self.shared
            by_entry = {shared.tar_key(i): i for i in still}
            present, _ours, others = shared.claim(list(by_entry))
            got = shared.tarballs([by_entry[e] for e in present])
            if others:
                waited = shared.wait(others, time.monotonic() + self._wait)
                entries = [by_entry[e] for e in waited]
                got.update(shared.tarballs(entries))
            found.update(got)
        out.update(found)
        self._pending_tarballs.update(found)
        return out

    # -- writing ----------------------------------------------------------------------------

    def save(
        self,
        packages: Iterable[NewPackage] = (),
        tarballs: Mapping[str, bytes] | None = None,
        *,
        now: float | None = None,
        more: bool = False,
    ) -> None:
        """Write to the local file (with what was read from Redis), then share what was
        fetched, then drop this process's claims (``more``: only those on what this save
        wrote; the run is still fetching the rest)."""
        stamp = self._now() if now is None else now
        pkgs = list(packages)
        self._flush(pkgs, tarballs or {}, stamp)
        try:
            self.shared.save(pkgs, tarballs or {}, now=stamp)
        finally:
            if more:
                shared = self.shared
                self.shared.release(
                    [shared.pkg_key(p.registry, p.name) for p in pkgs if p.status is not None]
                    + [shared.tar_key(i) for i in tarballs or {}]
                )
            else:
                self.shared.release()

    def _flush(self, pkgs: list[NewPackage], tarballs: Mapping[str, bytes], stamp: float) -> None:
        # the registry's answers go last: for the same package they win over Redis's
        pending, self._pending = self._pending, []
        pending_tarballs, self._pending_tarballs = self._pending_tarballs, {}
        if pending or pkgs or pending_tarballs or tarballs:
            self.local.save([*pending, *pkgs], {**pending_tarballs, **tarballs}, now=stamp)

    def forget(
        self, versions: Iterable[tuple[str, str, str]] = (), tarballs: Iterable[str] = ()
    ) -> None:
        """Drop rows that could not be decoded from the local file, and from what Redis
        answered this run (not written back); the registry's answer takes their place."""
        keys, integrities = set(versions), set(tarballs)
        self.local.forget(versions=keys, tarballs=integrities)
        kept: list[NewPackage] = []
        for pkg in self._pending:
            manifests = {
                v: b for v, b in pkg.manifests.items() if (pkg.registry, pkg.name, v) not in keys
            }
            if manifests or pkg.status is not None:
                kept.append(replace(pkg, manifests=manifests))
        self._pending = kept
        for integrity in integrities:
            self._pending_tarballs.pop(integrity, None)

    def stats(self) -> StoreStats:
        return self.local.stats()

    def shared_stats(self) -> SharedStats | None:
        return self.shared.stats()

    def clear(self) -> None:
        """Empty the local file (the team cache is the team's: see ``docs/team-cache.md``)."""
        self._pending, self._pending_tarballs = [], {}
        self.local.clear()

    def __enter__(self) -> LayeredStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write back what was read from Redis, drop claims, close both layers."""
        try:
            self._flush([], {}, self._now())
            self.shared.release()
        finally:
            self.local.close()
            self.shared.cache.close()
