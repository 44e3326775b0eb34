"""The facts source the engine asks: the facts store first, the registry for what is missing.

Warm path: every package picture is fresh (younger than the TTL) and every locked version's
manifest is stored, so facts come from SQLite alone: no packument is parsed, the HTTP stack
is never imported, and versions stay columns until a rule asks for one
(:class:`~npmguard.versions.VersionList`). Cold path: the missing or stale package
documents are fetched concurrently, each parsed and reduced to compact facts as it arrives
(never all held at once) by worker processes when there are many
(:mod:`npmguard.reputation.workers`), else by one thread; written in a transaction every
:data:`SAVE_EVERY` packages while the rest download.
Tarballs are fetched only when a rule
needs their content (``Need.TARBALL``), checked against the lockfile's integrity, read in
memory, and their facts kept for good under that integrity.

Failures: a registry that cannot be reached, or fails (an error status, an answer cut short,
too big or slower than ``fetch-timeout``, something that is not a package document: see
``docs/limits.md``), falls back to whatever is cached, however old, with a warning. With
nothing cached it is an exit-3 ``RegistryError``, unless the policy says
``on-unreachable = "warn"``: then those packages' facts are unknown and a warning says so. A
tarball that cannot be downloaded is the same; one that cannot be *read* (over a limit, a
bomb, not a tar, other bytes than the locked ones) is a fact about the package
(:class:`~npmguard.facts.ContentProblem`), reported by ``content-unknown`` and
``integrity-mismatch``.
``--offline`` never touches the network: packages with nothing cached get unknown facts, and a
cache with nothing for any of them is the same exit-3 error.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from npmguard.errors import RegistryError
from npmguard.facts import (
    ContentProblem,
    Facts,
    FactsStatus,
    ManifestFacts,
    NameLookup,
    Need,
    PackageFacts,
    RegistryLookup,
    TarballFacts,
    VersionInfo,
)
from npmguard.gcpolicy import collecting
from npmguard.jsontext import loads
from npmguard.model import LockedPackage
from npmguard.reputation import codec
from npmguard.reputation.picture import PackagePicture
from npmguard.reputation.store import DEFAULT_TTL, NewPackage, StoredPackage
from npmguard.store.base import FactsBackend
from npmguard.versions import VersionList

if TYPE_CHECKING:
    from concurrent.futures import Future

    from npmguard.progress import Observer
    from npmguard.registry.client import RegistryClient
    from npmguard.reputation.tarballs import TarballFetcher
    from npmguard.reputation.workers import ParserPool, Reduced

log = logging.getLogger(__name__)

OFFLINE_MISSING = "not in cache (offline)"
TARBALL_WORKERS = 8
# package documents in flight; measured on fullstack-1122 (2 cores, medians of 3 pairs, cold
# ÷ floor): 16 -> 1.52, 32 -> 1.55 and more memory, 48 -> 1.67; parsing, not the network, is
# what the rest of the run waits for
PACKUMENT_WORKERS = 16


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One package document's outcome, reduced in the worker thread."""

    status: str  # "ok" | "not-found" | "refused" | "error"
    picture: PackagePicture | None = None
    picture_blob: bytes | None = None
    manifests: Mapping[str, ManifestFacts] = field(default_factory=dict)
    manifest_blobs: Mapping[str, bytes] = field(default_factory=dict)
    error: str | None = None
    unreachable: bool = False


@dataclass
class _Known:
    """What this run knows about one package name."""

    registry: str
    status: str  # "ok" | "not-found" | "refused" | "unknown"
    picture: PackagePicture | None = None
    present: Collection[str] = ()  # the listed version strings
    fetched_at: float | None = None
    from_cache: bool = True
    error: str | None = None
    unreachable: bool = False


class ReputationSource:
    """The facts provider for ``Need.PACKUMENT`` and ``Need.TARBALL``, backed by a facts
    store: the SQLite file, or the team's layered one (``facts_for(packages, needs)`` is the
    same answer as a mapping).

    ``names`` (the popular-names data) decides which tarballs are worth reading (see
    :func:`content_matters`); without it every package counts as not established.
    ``progress`` is advanced while documents and tarballs download, never closed here.
    """

    serves = frozenset({Need.PACKUMENT, Need.TARBALL})

    def __init__(
        self,
        store: FactsBackend,
        client: RegistryClient | None = None,
        *,
        config: RegistryLookup | None = None,
        client_factory: Callable[[], RegistryClient] | None = None,
        offline: bool = False,
        refresh: bool = False,
        ttl: float = DEFAULT_TTL,
        progress: Observer | None = None,
        on_unreachable: str = "fail",
        now: Callable[[], float] = time.time,
        all_tarballs: bool = False,
        names: NameLookup | None = None,
    ) -> None:
        if config is None and client is None:
            raise ValueError("ReputationSource needs a client or a config")
        self.store = store
        self._client = client
        self._client_factory = client_factory
        self.config: RegistryLookup
        if config is not None:
            self.config = config
        else:
            assert client is not None
            self.config = client.config.registries()
        self.offline = offline
        self.refresh = refresh
        self.ttl = ttl
        self._progress = progress
        self.on_unreachable = on_unreachable
        self.all_tarballs = all_tarballs
        self.names = names
        self._now = now
        self.fetched: list[str] = []  # names fetched by the last call (for tests and explain)
        self._stored_manifests: dict[tuple[str, str, str], ManifestFacts] = {}
        self._down: dict[str, str] = {}  # registry -> why it could not be reached (this run)
        self._fresh_manifests: dict[tuple[str, str, str], ManifestFacts] = {}
        self._said: set[str] = set()
        self._prefetch: _Prefetch | None = None  # tarballs started while documents arrive

    @property
    def client(self) -> RegistryClient:
        if self._client is None:
            if self._client_factory is None:
                raise RuntimeError("no registry client and no way to make one")
            self._client = self._client_factory()
        return self._client

    def close(self) -> None:
        self.store.close()

    # -- the FactsProvider protocol ------------------------------------------------------------

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        return Facts(packages=self.facts_for(packages, needs))

    def facts_for(
        self, packages: Sequence[LockedPackage], needs: frozenset[Need]
    ) -> Mapping[str, PackageFacts]:
        wanted_pkgs = [p for p in packages if p.on_registry]
        if not wanted_pkgs or not needs & {Need.PACKUMENT, Need.TARBALL}:
            return {}
        versions: dict[str, set[str]] = {}
        locked: dict[tuple[str, str], str | None] = {}  # the lockfile's integrity
        for pkg in wanted_pkgs:
            versions.setdefault(pkg.name, set()).add(pkg.version)
            locked[(pkg.name, pkg.version)] = pkg.integrity
        self._prefetch = None
        if Need.TARBALL in needs and not self.offline:
            self._prefetch = _Prefetch(self, wanted_pkgs)
        try:
            known = self._packages(versions, locked)
            manifests = self._manifests(known, versions)
            tarballs: dict[str, TarballFacts | ContentProblem] = {}
            if Need.TARBALL in needs:
                tarballs = self._tarballs(wanted_pkgs, known, manifests)
        finally:
            if self._prefetch is not None:
                self._prefetch.close()
                self._prefetch = None
        return {
            pkg.key: self._facts(pkg, known[pkg.name], manifests, tarballs) for pkg in wanted_pkgs
        }

    # -- package pictures ----------------------------------------------------------------------

    def _packages(
        self, versions: Mapping[str, set[str]], locked: Mapping[tuple[str, str], str | None]
    ) -> dict[str, _Known]:
        registry = {name: self.config.registry_for(name) for name in versions}
        rows = self.store.packages((registry[n], n) for n in versions)
        # decoded here, so a damaged row counts as missing: dropped, fetched again and
        # written anew (a row silently ignored would drop integrity-mismatch for good)
        self._stored_manifests = {}
        damaged: list[tuple[str, str, str]] = []
        for key, blob in self.store.manifests(
            ((registry[n], n, v) for n, vs in versions.items() for v in vs),
            expect={(registry[n], n, v): i for (n, v), i in locked.items()},
        ).items():
            manifest = _decoded(codec.decode_manifest, blob, f"{key[1]}@{key[2]}")
            if manifest is None:
                damaged.append(key)
            else:
                self._stored_manifests[key] = manifest
        if damaged and not self.offline:
            self.store.forget(versions=damaged)
        now = self._now()
        known: dict[str, _Known] = {}
        to_fetch: list[str] = []
        for name in versions:
            row = rows.get((registry[name], name))
            try:
                known[name] = self._from_row(registry[name], row)
            except (zlib.error, ValueError, KeyError, TypeError, AttributeError) as e:
                # a damaged row: fetched again, and the new row replaces it (REPLACE)
                log.warning("%s: cached facts are unreadable (%s); fetching them again", name, e)
                row = None
                known[name] = self._from_row(registry[name], None)
            if self.offline:
                continue
            item = known[name]
            stale = row is None or self.refresh or row.age(now) > self.ttl
            lacking = any(
                v in item.present and (item.registry, name, v) not in self._stored_manifests
                for v in versions[name]
            )
            if stale or lacking:
                to_fetch.append(name)
        self.fetched = to_fetch
        if to_fetch:
            with collecting():  # downloads make cycles (responses, futures and callbacks)
                self._fetch(to_fetch, versions, known, rows)
        self._check_unknown(known)
        return known

    def _from_row(self, registry: str, row: StoredPackage | None) -> _Known:
        if row is None:
            error = OFFLINE_MISSING if self.offline else "not fetched"
            return _Known(registry, "unknown", error=error)
        if row.status != "ok" or row.picture is None:
            return _Known(registry, "not-found", fetched_at=row.fetched_at)
        picture = codec.decode_picture(row.name, row.picture)
        present = _names(picture.versions)
        return _Known(registry, "ok", picture, present, row.fetched_at)

    def _fetch(
        self,
        names: list[str],
        versions: Mapping[str, set[str]],
        known: dict[str, _Known],
        rows: Mapping[tuple[str, str], StoredPackage],
    ) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor  # as HTTP: cold runs only

        from npmguard.reputation.tarballs import ByteBudget

        _check_registries({self.config.registry_for(n): n for n in names})
        progress = self._progress
        done = 0
        lock = threading.Lock()
        client = self.client

        # Parsing holds the GIL: with many documents it goes to worker processes (the
        # download threads keep this one), else to one parser thread, which keeps the parsed
        # documents (a 21 MB one is ~70 MB as objects) in one malloc arena: with a parser per
        # download thread, glibc keeps an arena per thread and peak memory grows by half.
        # A download thread hands its body over and starts the next download at once; it
        # waits only when the bodies not yet parsed pass PARSE_BACKLOG bytes.
        parser = _parser_pool(len(names), self.store.path.parent)
        backlog = ByteBudget(PARSE_BACKLOG)
        prefetch = self._prefetch
        if prefetch is not None:
            prefetch.prepare()
        _limit_malloc_arenas()

        def parse(name: str, body: bytes | bytearray, wanted: tuple[str, ...]) -> Future[_Fetched]:
            taken = backlog.acquire(len(body))
            reduced = parser.submit(name, body, wanted)
            out: Future[_Fetched] = Future()

            def finish(future: Future[Reduced]) -> None:
                backlog.release(taken)
                try:
                    got = _from_blobs(name, future.result())
                    if prefetch is not None and got.status == "ok":
                        prefetch.start(name, got.manifests)
                except BaseException as e:  # the caller raises it, as a result would be
                    out.set_exception(e)
                    return
                out.set_result(got)

            reduced.add_done_callback(finish)
            return out

        def one(name: str) -> _Fetched | Future[_Fetched]:
            nonlocal done
            got = self._fetch_one(client, name, versions.get(name, ()), parse)
            with lock:
                done += 1
                if progress is not None:
                    progress.advance(done, len(names), "package documents")
            return got

        now = self._now()
        new: list[NewPackage] = []
        stale_used: list[str] = []
        refused: dict[str, _Fetched] = {}

        def settle(name: str, got: _Fetched) -> None:
            """What one document's outcome tells ``known``, and the rows it adds: written
            every SAVE_EVERY packages, so the encoded rows (~4 KB a package) do not pile up
            until the last document."""
            item = known[name]
            if got.status == "ok" and got.picture is not None:
                present = _names(got.picture.versions)
                known[name] = _Known(item.registry, "ok", got.picture, present, now, False)
                for version, manifest in got.manifests.items():
                    self._fresh_manifests[(item.registry, name, version)] = manifest
                integrities = {v: m.dist_integrity for v, m in got.manifests.items()}
                new.append(
                    NewPackage(
                        item.registry, name, "ok", got.picture_blob, got.manifest_blobs, integrities
                    )
                )
            elif got.status == "not-found":
                known[name] = _Known(item.registry, "not-found", fetched_at=now, from_cache=False)
                new.append(NewPackage(item.registry, name, "not-found", None, {}))
            elif got.status == "refused":
                refused[name] = got
            elif (item.registry, name) in rows:
                stale_used.append(name)  # keep the older facts: better than none
            else:
                item.error = got.error or "registry error"
                item.unreachable = got.unreachable
            if len(new) >= SAVE_EVERY:
                self.store.save(new, now=now, more=True)
                new.clear()

        # outcomes are settled as they come (parsed documents in the order they finish)
        parsed: deque[str] = deque()  # names whose document was parsed (appended by callbacks)

        def noting(name: str) -> Callable[[Future[_Fetched]], None]:
            def note(_: Future[_Fetched]) -> None:
                parsed.append(name)

            return note

        try:
            with ThreadPoolExecutor(max_workers=min(PACKUMENT_WORKERS, len(names))) as pool:
                waiting: dict[str, Future[_Fetched]] = {}
                for name, got in zip(names, pool.map(one, names), strict=True):
                    if isinstance(got, Future):
                        waiting[name] = got
                        got.add_done_callback(noting(name))
                    else:
                        settle(name, got)
                    while parsed:
                        ready = parsed.popleft()
                        settle(ready, waiting.pop(ready).result())
            for name, future in waiting.items():  # parsed after the last download
                settle(name, future.result())
        finally:
            parser.close()
        self._refusals(refused, known, now)
        if stale_used:  # named in the lockfile's order, whatever order they were parsed in
            order = {n: i for i, n in enumerate(names)}
            stale_used.sort(key=order.__getitem__)
            log.warning(
                "the registry did not answer for %d package(s) (%s); using cached facts",
                len(stale_used),
                ", ".join(stale_used[:3]) + (" ..." if len(stale_used) > 3 else ""),
            )
        self.store.save(new, now=now)

    def _fetch_one(
        self,
        client: RegistryClient,
        name: str,
        wanted: Iterable[str],
        parse: Callable[[str, bytes | bytearray, tuple[str, ...]], Future[_Fetched]],
    ) -> _Fetched | Future[_Fetched]:
        """GET one package document (no HTTP body cache: the compact facts are what is kept)
        and hand its bytes to ``parse``, whose future is returned. Every way the registry
        can fail (unreachable, an error status, a body cut short, too big or too slow) comes
        back as an "error" to which the policy's ``on-unreachable`` applies (see
        :meth:`_check_unknown`)."""
        from npmguard.limits import ERROR_BODY_BYTES, PACKUMENT_BYTES
        from npmguard.registry.bounded import read_body
        from npmguard.registry.client import escape_name
        from npmguard.registry.faults import UnreachableError
        from npmguard.urls import host_of, redact

        registry = self.config.registry_for(name)
        down = self._down.get(registry)
        if down is not None:
            return _Fetched("error", error=down, unreachable=True)
        url = registry + escape_name(name)
        try:
            response = client.session.get(url, use_cache=False, registry=registry, stream=True)
            status = response.status_code
            if status == 200:
                body = read_body(response, PACKUMENT_BYTES, "package document")
                return parse(name, body, tuple(wanted))
            try:  # read the (short) answer: the message, and the connection stays reusable
                answer = bytes(read_body(response, ERROR_BODY_BYTES, f"HTTP {status}"))
            except RegistryError:
                answer = b""
        except UnreachableError as e:  # also an attempt that outlived fetch-timeout
            self._down.setdefault(registry, str(e))
            return _Fetched("error", error=str(e), unreachable=True)
        except RegistryError as e:  # cut short, too big, a URL npm could not fetch
            return _Fetched("error", error=str(e))
        if status == 404:
            return _Fetched("not-found")
        if status == 403:  # a refusal of this package, or of every one: see _refusals
            return _Fetched("refused", error=_refusal_message(answer))
        why = f"HTTP {status} from {redact(registry)}"
        if status == 401:
            why += f": access denied; check the credentials for {host_of(url)} in .npmrc"
        elif status == 429 or status >= 500:
            why += " (after retrying)"
        return _Fetched("error", error=why)

    def _refusals(
        self, refused: Mapping[str, _Fetched], known: dict[str, _Known], now: float
    ) -> None:
        """403 answers (rw-21). A registry that serves other packages and refuses these (a
        curating registry: Artifactory curation, Nexus firewall) refuses *them*: a fact about
        each, reported by the ``registry-refused`` rule. A registry that refused every
        package asked of it says nothing about any one: that is access, and the facts stay
        unknown with the credentials hint. Refusals are not stored: a policy can change."""
        from npmguard.urls import host_of, redact

        served = {k.registry for k in known.values() if k.status in ("ok", "not-found")}
        for name, got in refused.items():
            item = known[name]
            if item.registry in served:
                known[name] = _Known(
                    item.registry, "refused", fetched_at=now, from_cache=False, error=got.error
                )
            else:
                item.error = (
                    f"HTTP 403 from {redact(item.registry)} ({got.error}): access denied to "
                    f"every package asked; check the credentials for {host_of(item.registry)} "
                    "in .npmrc"
                )

    def _check_unknown(self, known: Mapping[str, _Known]) -> None:
        """Packages the registry gave nothing for, and nothing cached: offline, a warning (or
        exit 3 when that is every package); online, a registry fault, which fails the run
        unless the policy says ``on-unreachable = "warn"``: unknown never passes as clean
        without a word, and an error page never counts as an answer."""
        missing = [n for n, k in known.items() if k.status == "unknown"]
        if not missing:
            return
        names = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        if self.offline:
            if len(missing) < len(known):
                self._warn(
                    f"{len(missing)} package(s) have nothing cached and --offline is set "
                    f"({names}): their registry facts are unknown"
                )
                return
            error = RegistryError(
                f"{names}: nothing cached for {len(missing)} package(s) and --offline is set",
                hint="run once without --offline to fill the cache (or point --cache-dir / "
                "NPMGUARD_CACHE_DIR at a filled one)",
            )
        else:
            first = known[next((n for n in missing if known[n].unreachable), missing[0])]
            error = RegistryError(
                f"{names}: {first.error or 'registry unreachable'}; nothing cached for "
                f"{len(missing)} package(s)",
                hint=(
                    "check the network and the registry/proxy settings in .npmrc, "
                    if first.unreachable
                    else "the registry answered with an error or an unusable document; "
                )
                + "run again later, run with --offline to check with what is cached, or set "
                'on-unreachable = "warn" in the policy',
            )
        if self.on_unreachable == "warn":
            self._warn(f"{error}; their registry facts are unknown (on-unreachable = warn)")
            return
        raise error

    def _warn(self, message: str) -> None:
        """A warning, said once per run however often the same packages are asked about."""
        if message not in self._said:
            self._said.add(message)
            log.warning("%s", message)

    # -- manifests and tarballs ----------------------------------------------------------------

    def _manifests(
        self, known: Mapping[str, _Known], versions: Mapping[str, set[str]]
    ) -> dict[tuple[str, str], ManifestFacts]:
        fresh = self._fresh_manifests
        out: dict[tuple[str, str], ManifestFacts] = {}
        for name, vs in versions.items():
            registry = known[name].registry
            for v in vs:
                manifest = fresh.get((registry, name, v)) or self._stored_manifests.get(
                    (registry, name, v)
                )
                if manifest is not None:
                    out[(name, v)] = manifest
        self._fresh_manifests = {}
        return out

    def _tarballs(
        self,
        packages: Iterable[LockedPackage],
        known: Mapping[str, _Known],
        manifests: Mapping[tuple[str, str], ManifestFacts],
    ) -> dict[str, TarballFacts | ContentProblem]:
        """Tarball facts (or why they could not be read) by name@version, from the store or
        fetched (online only)."""
        packages = tuple(packages)
        names = (  # the popularity of every name, looked up at once
            _Downloads(self.names, {p.name for p in packages if p.on_registry})
            if self.names is not None
            else None
        )
        targets: dict[str, tuple[LockedPackage, str, str | None]] = {}
        for pkg in packages:
            manifest = manifests.get((pkg.name, pkg.version))
            if known[pkg.name].status != "ok" or manifest is None:
                continue
            found = self.tarball_target(pkg, manifest, names)
            if found is not None:
                targets[pkg.key] = (pkg, *found)
        stored = self.store.tarballs(t[1] for t in targets.values())
        out: dict[str, TarballFacts | ContentProblem] = {}
        damaged_tarballs: list[str] = []
        for key, target in targets.items():
            blob = stored.get(target[1])
            decoded = _decoded(codec.decode_tarball_row, blob, key) if blob is not None else None
            if decoded is not None:
                out[key] = decoded
            elif blob is not None:
                damaged_tarballs.append(target[1])
        if damaged_tarballs and not self.offline:
            self.store.forget(tarballs=damaged_tarballs)
        self._rescan(out, targets)
        missing = [t for key, t in targets.items() if key not in out and t[2]]
        if missing and not self.offline:
            out.update(self._fetch_tarballs(missing))
        return out

    def _rescan(
        self,
        found: dict[str, TarballFacts | ContentProblem],
        targets: Mapping[str, tuple[LockedPackage, str, str | None]],
    ) -> None:
        """Tarball rows whose install-script scan an older scanner made (another
        :func:`~npmguard.scriptscan.scanner_key`: the rule would scan them again on every
        run) are scanned once now and written back in place: the same facts, this scanner's
        scan."""
        fresh: dict[str, bytes] = {}
        for key, (_, integrity, _) in targets.items():
            facts = found.get(key)
            if isinstance(facts, TarballFacts) and facts.install_scan is None:
                fresh[integrity] = codec.encode_tarball(facts)
                found[key] = codec.decode_tarball_row(fresh[integrity])
        if fresh:
            self.store.forget(tarballs=fresh)
            self.store.save(tarballs=fresh)

    def tarball_target(
        self, pkg: LockedPackage, manifest: ManifestFacts, names: _Popularity | None
    ) -> tuple[str, str | None] | None:
        """(integrity, URL) of ``pkg``'s tarball when its content is worth reading (see
        :func:`content_matters`, ``--all-tarballs``), else None."""
        integrity = pkg.integrity or manifest.dist_integrity
        if not integrity or not (self.all_tarballs or content_matters(pkg, manifest, names)):
            return None
        if _conflicts(pkg.integrity, manifest.dist_integrity):
            return None  # integrity-mismatch blocks it; the bytes could never be verified
        url = pkg.resolved if (pkg.resolved or "").startswith(("https:", "http:")) else None
        # where npm downloads it: replace-registry-host applies to either URL
        url = url or manifest.dist_tarball
        return integrity, self.config.fetched_from(url) if url else None

    def _fetch_tarballs(
        self, targets: Sequence[tuple[LockedPackage, str, str | None]]
    ) -> dict[str, TarballFacts | ContentProblem]:
        """Download and read ``targets`` (those already started while package documents
        arrived are waited for, not fetched again). Content that cannot be read is a problem
        of the package (kept under its integrity when the bytes were verified); a failed
        download is a registry fault, which fails the run unless ``on-unreachable = "warn"``."""
        from npmguard.reputation.tarballs import TarballFetcher

        prefetch = self._prefetch
        own = None
        if prefetch is not None:
            fetcher = prefetch.fetcher()
        else:
            fetcher = own = TarballFetcher(self.client, TARBALL_WORKERS)
        _limit_malloc_arenas()
        futures = [fetcher.submit(p.name, p.key, i, u or "") for p, i, u in targets]
        out: dict[str, TarballFacts | ContentProblem] = {}
        blobs: dict[str, bytes] = {}
        faults: list[tuple[str, str]] = []
        progress = self._progress
        try:
            for done, (target, future) in enumerate(zip(targets, futures, strict=True), 1):
                got = future.result()
                if progress is not None:
                    progress.advance(done, len(targets), "tarballs")
                key = target[0].key
                if got.facts is not None:
                    out[key] = got.facts
                    blobs[target[1]] = codec.encode_tarball(got.facts)
                    continue
                assert got.problem is not None
                out[key] = got.problem
                if got.keep:
                    blobs[target[1]] = codec.encode_problem(got.problem)
                if got.problem.kind == "download":
                    faults.append((key, got.problem.reason))
                else:
                    log.warning("%s", got.problem.reason)
        finally:
            if own is not None:
                own.close()
        self.store.save(tarballs=blobs, now=self._now())
        if faults:
            self._tarball_faults(faults)
        return out

    def _tarball_faults(self, faults: Sequence[tuple[str, str]]) -> None:
        names = ", ".join(k for k, _ in faults[:3]) + (" ..." if len(faults) > 3 else "")
        error = RegistryError(
            f"{names}: {faults[0][1]}; {len(faults)} tarball(s) could not be downloaded",
            hint="their content (install scripts, spam signs) cannot be judged; run again "
            'later, or set on-unreachable = "warn" in the policy to go on without it',
        )
        if self.on_unreachable != "warn":
            raise error
        self._warn(f"{error}; their content is unknown (on-unreachable = warn)")

    # -- assembling ----------------------------------------------------------------------------

    def _facts(
        self,
        pkg: LockedPackage,
        item: _Known,
        manifests: Mapping[tuple[str, str], ManifestFacts],
        tarballs: Mapping[str, TarballFacts | ContentProblem],
    ) -> PackageFacts:
        fetched_at = (
            None
            if item.fetched_at is None
            else datetime.fromtimestamp(item.fetched_at, timezone.utc)
        )
        if item.status == "not-found":
            return PackageFacts(
                pkg.name,
                pkg.version,
                FactsStatus.NOT_FOUND,
                registry=item.registry,
                fetched_at=fetched_at,
                from_cache=item.from_cache,
                error="the registry answered 404",
            )
        if item.status == "refused":
            return PackageFacts(
                pkg.name,
                pkg.version,
                FactsStatus.REFUSED,
                registry=item.registry,
                fetched_at=fetched_at,
                from_cache=False,
                error=item.error,
            )
        picture = item.picture
        tarball = tarballs.get(pkg.key)
        if item.status != "ok" or picture is None:
            return PackageFacts(
                pkg.name, pkg.version, FactsStatus.UNKNOWN, registry=item.registry, error=item.error
            )
        return PackageFacts(
            pkg.name,
            pkg.version,
            FactsStatus.KNOWN,
            registry=item.registry,
            versions=picture.versions,
            dist_tags=picture.dist_tags,
            created=picture.created,
            modified=picture.modified,
            unpublished=picture.unpublished,
            maintainers=picture.maintainers,
            package_deprecated=picture.package_deprecated,
            version_present=pkg.version in item.present,
            version_removed=None if picture.removed is None else pkg.version in picture.removed,
            manifest=manifests.get((pkg.name, pkg.version)),
            tarball=tarball if isinstance(tarball, TarballFacts) else None,
            content_problem=tarball if isinstance(tarball, ContentProblem) else None,
            fetched_at=fetched_at,
            from_cache=item.from_cache,
        )


T = TypeVar("T")

PROCESS_MIN = 64  # documents to fetch before parsing moves to worker processes
WARM_NAMES = True  # have a worker build the popular-names store meanwhile (none built yet)
SAVE_EVERY = 256  # fetched packages whose rows are written together, while the rest download
PARSE_BACKLOG = 48 * 1024 * 1024  # downloaded bytes waiting to be parsed before downloads wait


class _Popularity(Protocol):
    def downloads(self, name: str) -> int | None: ...


class _ManyPopularities(Protocol):
    def downloads_of(self, names: Iterable[str]) -> Mapping[str, int | None]: ...


class _Downloads:
    """Monthly downloads of some names, looked up at once in the calling thread (the names
    store's connection stays in the thread that opened it)."""

    def __init__(self, names: _ManyPopularities, wanted: Iterable[str]) -> None:
        self._by_name = names.downloads_of(wanted)

    def downloads(self, name: str) -> int | None:
        return self._by_name.get(name)


class _Prefetch:
    """Tarballs started as soon as a fetched package document shows they are needed (see
    :meth:`ReputationSource.tarball_target`), while the other documents still arrive; the
    tarball stage then waits for them instead of starting them. Only packages whose lockfile
    entry names an integrity, and only tarballs not in the store."""

    def __init__(self, source: ReputationSource, packages: Iterable[LockedPackage]) -> None:
        self._source = source
        self._by_name: dict[str, list[LockedPackage]] = {}
        for pkg in packages:
            if pkg.integrity:
                self._by_name.setdefault(pkg.name, []).append(pkg)
        self._stored: Collection[str] = ()
        self._names: _Popularity | None = None
        self._ready = False
        self._fetcher: TarballFetcher | None = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """In the calling thread, before the downloads start: what is stored already, and
        the downloads of every name (the store's connection is this thread's)."""
        integrities = [p.integrity for ps in self._by_name.values() for p in ps if p.integrity]
        self._stored = frozenset(self._source.store.tarballs(integrities))
        if self._source.names is not None:
            self._names = _Downloads(self._source.names, self._by_name)
        self._ready = True

    def fetcher(self) -> TarballFetcher:
        with self._lock:
            if self._fetcher is None:
                from npmguard.reputation.tarballs import TarballFetcher

                self._fetcher = TarballFetcher(self._source.client, TARBALL_WORKERS)
            return self._fetcher

    def start(self, name: str, manifests: Mapping[str, ManifestFacts]) -> None:
        """``name``'s document was read (any thread): start the tarballs it needs."""
        if not self._ready:
            return
        for pkg in self._by_name.get(name, ()):
            manifest = manifests.get(pkg.version)
            target = (
                None
                if manifest is None
                else self._source.tarball_target(pkg, manifest, self._names)
            )
            if target is not None and target[1] and target[0] not in self._stored:
                self.fetcher().submit(pkg.name, pkg.key, target[0], target[1])

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()


def _check_registries(registries: Mapping[str, str]) -> None:
    """Refuse (exit 2) a registry URL that Node cannot parse or npm could not fetch
    (``registry=http://127.0.0.1:99999/``): npm stops on it too, and no package's facts could
    ever be fetched from it. ``registries`` maps each URL to a package name that uses it."""
    from npmguard.errors import UsageError
    from npmguard.urls import is_http_url, parse_url, redact

    for registry, name in registries.items():
        if not is_http_url(parse_url(registry)):
            raise UsageError(
                f"{redact(registry)}: the registry .npmrc names for {name} is not an http(s) "
                "URL npm can fetch",
                hint="fix registry= (or @scope:registry=) in .npmrc; npm refuses this URL too",
            )


def _refusal_message(answer: bytes) -> str:
    """What a registry says when it refuses a package: ``error``/``message``/``reason`` of a
    JSON body, else the first line of the text, shortened; never more than 300 characters."""
    text = answer[:4096].decode("utf-8", errors="replace").strip()
    try:
        doc = loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        for key in ("error", "message", "reason", "detail"):
            if isinstance(doc.get(key), str) and doc[key].strip():
                text = doc[key].strip()
                break
    line = " ".join(text.split())[:300]
    return line or "HTTP 403, no message"


def _from_blobs(name: str, reduced: Reduced) -> _Fetched:
    status, error, picture_blob, manifest_blobs = reduced
    if status != "ok" or picture_blob is None:
        return _Fetched("error", error=error)
    return _Fetched(
        "ok",
        picture=codec.decode_picture(name, picture_blob),
        picture_blob=picture_blob,
        manifests={v: codec.decode_manifest(b) for v, b in manifest_blobs.items()},
        manifest_blobs=manifest_blobs,
    )


class _ThreadParser:
    """One parser thread (few documents, or one core): see ``_fetch``."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="npmguard-parse")

    def submit(
        self, name: str, body: bytes | bytearray, wanted: tuple[str, ...]
    ) -> Future[Reduced]:
        from npmguard.reputation.workers import reduce_document

        return self._pool.submit(reduce_document, name, body, wanted)

    def warm_names(self, directory: Path) -> None:
        pass

    def close(self) -> None:
        self._pool.shutdown()


def _parser_pool(documents: int, names_dir: Path) -> _ThreadParser | ParserPool:
    """Worker processes for many documents (one per core, at most two: the download threads
    need this process's core too), else one thread. Where no names store is ready (none
    shipped, none built yet), one worker builds it first."""
    cores = os.cpu_count() or 1
    if documents >= PROCESS_MIN and cores > 1:
        from npmguard.names.store import store_ready
        from npmguard.reputation.workers import (  # subprocess: cold runs only
            ParserPool,
            reduce_document,
        )

        pool = ParserPool(min(2, cores), reduce_document)
        if WARM_NAMES and not store_ready(names_dir):
            pool.warm_names(names_dir)
        return pool
    return _ThreadParser()


def _names(versions: Sequence[VersionInfo]) -> Collection[str]:
    if isinstance(versions, VersionList):
        return versions.names  # asked once or twice per package: no set worth building
    return frozenset(i.version for i in versions)


# Packages with at least this many downloads a month (shipped popularity data) are not spam:
# their tarballs are read only when they run install scripts (see ``content_matters``).
ESTABLISHED_DOWNLOADS = 100_000
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


def content_matters(
    pkg: LockedPackage, manifest: ManifestFacts, names: _Popularity | None = None
) -> bool:
    """Whether the tarball's content can change a verdict, so it is worth downloading.

    Content rules look for two things: spam (tea.yaml, no code, autopublish loops, clones),
    which never reaches an established package's download counts, and what install scripts
    run, which matters for every package that has them. So a tarball is read when the
    package runs install scripts, bundles dependencies (npm runs the bundled copies' install
    scripts too, and only the tarball holds them), or is not established (few or unknown
    downloads).
    ``--all-tarballs`` reads every one.
    """
    if pkg.has_install_script or manifest.gyp_file or manifest.bundle_dependencies:
        return True
    if any(name in manifest.scripts for name in INSTALL_SCRIPTS):
        return True
    monthly = names.downloads(pkg.name) if names is not None else None
    return (monthly or 0) < ESTABLISHED_DOWNLOADS


def _decoded(decode: Callable[[bytes], T], blob: bytes, what: str) -> T | None:
    """A stored value, or None when the row is damaged: it is then fetched again (online)
    and the new row replaces it."""
    try:
        return decode(blob)
    except (zlib.error, ValueError, KeyError, TypeError, AttributeError) as e:
        log.warning("%s: cached facts are unreadable (%s); fetching them again", what, e)
        return None


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the download threads start (``MALLOC_ARENA_MAX``).

    glibc gives each thread its own arena and keeps freed memory there; sixteen threads each
    downloading multi-MB documents in 10 KB chunks hold ~100 MB more at peak than two arenas
    do (measured on the 1,122-package benchmark: 265 MB -> 185 MB), at no cost in speed since
    the work is bound by the GIL anyway. Elsewhere (musl, macOS, Windows) this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = getattr(libc, "mallopt", None)
        if mallopt is not None:
            mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def _conflicts(locked: str | None, registry: str | None) -> bool:
    """Whether two SSRI strings name different bytes under an algorithm they share."""
    from npmguard.integrity import Integrity

    return Integrity.parse(locked).conflicts(Integrity.parse(registry))
