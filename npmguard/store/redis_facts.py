"""The facts half of the team cache: package pictures, manifests and tarball facts in Redis.

Keys, all under ``npmguard:facts:<format>:`` (``<format>`` is the codec's
:data:`~npmguard.reputation.codec.FORMAT`, so an npmguard that encodes facts differently
never reads another's entries):

- ``pkg:<registry><name>``: the package picture (or the registry's 404), expiring when it
  goes stale (fetch time + TTL);
- ``ver:<registry><name>``: a hash, version -> manifest facts; kept for good (published
  versions never change), written only where absent;
- ``tar:<integrity>``: what a tarball holds; kept for good, written only where absent;
- ``lease:<pkg|tar>:...``: a fetch in progress, so that runners starting cold at once fetch
  each package document from the registry once between them (see :meth:`RedisFacts.claim`).

Values are envelopes (:func:`npmguard.store.redis.pack`) carrying the integrity and registry
the facts were derived from and who wrote them. The connection, its timeouts and what a
failure costs are :class:`npmguard.store.redis.SharedCache`'s.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from npmguard.store.base import NewPackage, StoredPackage, integrity_conflicts
from npmguard.store.redis import Envelope, SharedCache, pack, unpack, writer_name

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

T = TypeVar("T")

LEASE_MS = 30_000  # a claim lapses this long after its holder stops renewing it (it died)
WAIT_SECONDS = 600.0  # longest wait for a live runner's fetch before fetching ourselves
_CHUNK = 256  # keys per pipelined batch


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# Claim each free key atomically: KEYS are (entry, lease) pairs; the answer per pair is
# 0 (the entry is there), 1 (claimed by us: fetch it), 2 (another runner is fetching it).
_CLAIM = """
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then out[#out + 1] = 0
  elseif redis.call('SET', KEYS[i + 1], ARGV[1], 'NX', 'PX', ARGV[2]) then out[#out + 1] = 1
  else out[#out + 1] = 2 end
end
return out
"""
_RENEW = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return 0
"""
_RELEASE = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class _Write:
    """One pipelined write: ``set`` (with an expiry), ``setnx``, ``hset`` or ``hsetnx``."""

    op: str
    key: str
    value: bytes
    field: str = ""
    expire_ms: int = 0

    def apply(self, pipe: Any) -> None:
        if self.op == "set":
            pipe.set(self.key, self.value, px=self.expire_ms)
        elif self.op == "setnx":
            pipe.set(self.key, self.value, nx=True)
        elif self.op == "hset":
            pipe.hset(self.key, self.field, self.value)
        else:
            pipe.hsetnx(self.key, self.field, self.value)


@dataclass(frozen=True, slots=True)
class SharedManifest:
    blob: bytes
    integrity: str | None


@dataclass(frozen=True, slots=True)
class SharedStats:
    location: str
    bytes: int | None  # Redis's used_memory (the whole server), None when unknown
    packages: int
    versions: int
    tarballs: int
    writable: bool


class RedisFacts:
    """The facts half of the team layer (see the module docs); reads answer nothing once
    the layer is off."""

    def __init__(
        self,
        cache: SharedCache,
        *,
        format: int,
        ttl: float,
        writer: str | None = None,
        lease_ms: int = LEASE_MS,
        integrity_of: Callable[[bytes], str | None] | None = None,
    ) -> None:
        self.cache = cache
        self.integrity_of = integrity_of
        self.format = format
        self.ttl = ttl
        self.writer = writer or writer_name()
        self.prefix = f"npmguard:facts:{format}:"
        self._lease_ms = lease_ms
        self._token = uuid.uuid4().hex
        self._held: set[str] = set()  # lease keys this process holds
        self._lock = threading.Lock()
        self._renewing: threading.Event | None = None  # set: stop renewing
        self.disputed: dict[tuple[str, str, str], str | None] = {}  # key -> shared integrity

    @property
    def location(self) -> str:
        return self.cache.location

    def pkg_key(self, registry: str, name: str) -> str:
        return f"{self.prefix}pkg:{registry}{name}"

    def ver_key(self, registry: str, name: str) -> str:
        return f"{self.prefix}ver:{registry}{name}"

    def tar_key(self, integrity: str) -> str:
        return f"{self.prefix}tar:{integrity}"

    def lease_key(self, entry: str) -> str:
        return f"{self.prefix}lease:{entry[len(self.prefix) :]}"

    # -- reading ----------------------------------------------------------------------------

    def packages(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredPackage]:
        found = self.entries([self.pkg_key(r, n) for r, n in keys])
        out: dict[tuple[str, str], StoredPackage] = {}
        for (registry, name), blob in zip(keys, found, strict=True):
            row = self.package_row(registry, name, blob)
            if row is not None:
                out[(registry, name)] = row
        return out

    def package_row(self, registry: str, name: str, blob: bytes | None) -> StoredPackage | None:
        """The package row a ``pkg:`` entry holds (None: absent, or not to be trusted)."""
        env = unpack(blob, self.format)
        if env is None or env.status not in ("ok", "not-found") or env.fetched_at is None:
            return None
        if env.source not in (None, registry):  # facts about another registry's package
            return None
        picture = env.payload if env.status == "ok" else None
        if env.status == "ok" and not picture:
            return None
        return StoredPackage(registry, name, env.status, float(env.fetched_at), picture)

    def manifests(
        self,
        keys: Iterable[tuple[str, str, str]],
        expect: Mapping[tuple[str, str, str], str | None] | None = None,
    ) -> dict[tuple[str, str, str], SharedManifest]:
        """Manifests for the keys, less those whose integrity disagrees with ``expect``
        (remembered in :attr:`disputed`: the registry's answer replaces them)."""
        by_name: dict[tuple[str, str], list[str]] = {}
        for registry, name, version in keys:
            by_name.setdefault((registry, name), []).append(version)
        names = list(by_name)

        def read(client: redis.Redis) -> list[list[bytes | None]]:
            out: list[list[bytes | None]] = []
            for chunk in _chunks(names):
                pipe = client.pipeline(transaction=False)
                for registry, name in chunk:
                    pipe.hmget(self.ver_key(registry, name), by_name[(registry, name)])
                out += pipe.execute()
            return out

        nothing: list[list[bytes | None]] = []
        replies = self.cache.call("read manifests", read, nothing)
        found: dict[tuple[str, str, str], SharedManifest] = {}
        for (registry, name), blobs in zip(names, replies, strict=False):
            for version, blob in zip(by_name[(registry, name)], blobs, strict=True):
                env = unpack(blob, self.format)
                if env is None or env.source not in (None, registry):
                    continue
                key = (registry, name, version)
                integrity = self._derived(name, version, env)
                if integrity is False:
                    continue
                if expect is not None and integrity_conflicts(expect.get(key), integrity):
                    self.disputed[key] = integrity
                    log.info(
                        "%s@%s: the team cache's facts are for %s, not the lockfile's %s; "
                        "asking the registry",
                        name,
                        version,
                        integrity,
                        expect.get(key),
                    )
                    continue
                found[key] = SharedManifest(env.payload, integrity)
        return found

    def _derived(self, name: str, version: str, env: Envelope) -> str | Literal[False] | None:
        """The integrity a shared manifest describes, read from the manifest itself when
        ``integrity_of`` is given (so the envelope cannot claim other bytes than its facts
        do); False for an entry that is damaged or whose envelope and facts disagree."""
        if self.integrity_of is None:
            return env.integrity
        try:
            actual = self.integrity_of(env.payload)
            damaged = False
        except (ValueError, KeyError, TypeError, zlib.error):
            actual, damaged = None, True
        if damaged or integrity_conflicts(actual, env.integrity):
            log.info("%s@%s: a damaged or inconsistent team-cache entry; ignored", name, version)
            return False
        return actual

    def tarballs(self, integrities: Sequence[str]) -> dict[str, bytes]:
        found = self.entries([self.tar_key(i) for i in integrities])
        out: dict[str, bytes] = {}
        for integrity, blob in zip(integrities, found, strict=True):
            env = unpack(blob, self.format)
            # the facts must say they were read from bytes with this very integrity
            if env is not None and env.integrity == integrity:
                out[integrity] = env.payload
        return out

    def entries(self, keys: Sequence[str]) -> list[bytes | None]:
        """The raw values of ``keys`` (None where absent, or all None when the layer is off)."""
        if not keys:
            return []

        def read(client: redis.Redis) -> list[bytes | None]:
            out: list[Any] = []
            for chunk in _chunks(keys):
                out += client.mget(chunk)
            return out

        return self.cache.call("read facts", read, [None] * len(keys))

    # -- claiming fetches (several cold runners at once) ------------------------------------

    def claim(self, entries: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
        """Split missing entry keys into (present now, ours to fetch, claimed by others).

        A claim is a lease that a thread of this process renews until :meth:`release` drops
        it (once the fetched facts are saved); a process that dies lets its leases lapse
        within :data:`LEASE_MS`. A client that may not write claims nothing and fetches
        itself."""
        if not entries or not (self.cache.available and self.cache.writable):
            return [], list(entries), []
        states: list[int] = []

        def run(client: redis.Redis) -> None:
            for chunk in _chunks(entries):
                keys = [k for e in chunk for k in (e, self.lease_key(e))]
                answer = client.eval(_CLAIM, len(keys), *keys, self._token, self._lease_ms)
                states.extend(int(s) for s in answer)  # type: ignore[union-attr]

        self.cache.write("claim fetches", run)
        split: tuple[list[str], list[str], list[str]] = ([], [], [])
        for i, entry in enumerate(entries):
            if i < len(states):
                split[states[i]].append(entry)
                if states[i] == 1:
                    with self._lock:
                        self._held.add(self.lease_key(entry))
            else:  # not claimed (the layer went off): fetch it ourselves
                split[1].append(entry)
        if split[1] and self._renewing is None:
            self._renew_in_background()
        return split

    def _renew_in_background(self) -> None:
        """Keep this process's leases alive while it fetches (however slow the registry)."""
        stop = self._renewing = threading.Event()

        def renew() -> None:
            while not stop.wait(self._lease_ms / 3000):
                with self._lock:
                    held = sorted(self._held)
                for chunk in _chunks(held):
                    ok = self.cache.write(
                        "renew claims",
                        lambda c, chunk=chunk: c.eval(  # type: ignore[misc]
                            _RENEW, len(chunk), *chunk, self._token, self._lease_ms
                        ),
                    )
                    if not ok:
                        return

        threading.Thread(target=renew, name="npmguard-claims", daemon=True).start()

    def wait(
        self, entries: Sequence[str], deadline: float, now: Callable[[], float] = time.monotonic
    ) -> dict[str, bytes]:
        """Wait for other runners' fetches of ``entries`` to be saved: the entries that
        appeared (the rest were given up: their lease went or the deadline passed)."""
        waiting = list(entries)
        got: dict[str, bytes] = {}
        pause = 0.05
        while waiting and now() < deadline and self.cache.available:
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)
            leases = [self.lease_key(e) for e in waiting]

            def read(
                client: redis.Redis, keys: list[str] = waiting, leases: list[str] = leases
            ) -> tuple[list[Any], list[Any]]:
                return client.mget(keys), client.mget(leases)  # type: ignore[return-value]

            none: tuple[list[Any], list[Any]] = ([], [])
            values, held = self.cache.call("wait for other runners", read, none)
            still: list[str] = []
            for entry, value, lease in zip(waiting, values, held, strict=False):
                if value is not None:
                    got[entry] = value
                elif lease is not None:
                    still.append(entry)
            waiting = still
        return got

    def release(self, entries: Iterable[str] | None = None) -> None:
        """Drop the leases this process holds (after saving, or on the way out): all of
        them, or those of ``entries`` only (a batch saved while other fetches go on)."""
        with self._lock:
            if entries is None:
                held = sorted(self._held)
            else:
                held = sorted(self._held & {self.lease_key(e) for e in entries})
            self._held.difference_update(held)
            idle = not self._held
        if idle and self._renewing is not None:
            self._renewing.set()
            self._renewing = None
        for chunk in _chunks(held):
            self.cache.write(
                "release claims",
                lambda c, chunk=chunk: c.eval(_RELEASE, len(chunk), *chunk, self._token),  # type: ignore[misc]
            )

    # -- writing ----------------------------------------------------------------------------

    def save(
        self,
        packages: Sequence[NewPackage],
        tarballs: Mapping[str, bytes],
        *,
        now: float,
    ) -> None:
        """Share what this machine fetched from the registry (entries read from the team
        cache are never written back to it)."""
        writes: list[_Write] = []
        for pkg in packages:
            if pkg.origin == "registry":
                writes.extend(self._package_writes(pkg, now))
        for integrity, blob in tarballs.items():
            value = pack(Envelope(self.format, blob, integrity=integrity, writer=self.writer))
            writes.append(_Write("setnx", self.tar_key(integrity), value))
        if not writes:
            return

        def run(client: redis.Redis) -> None:
            for chunk in _chunks(writes):
                pipe = client.pipeline(transaction=True)  # a picture and its manifests at once
                for write in chunk:
                    write.apply(pipe)
                pipe.execute()

        self.cache.write("share facts", run)

    def _package_writes(self, pkg: NewPackage, now: float) -> list[_Write]:
        writes: list[_Write] = []
        ver = self.ver_key(pkg.registry, pkg.name)
        for version, blob in pkg.manifests.items():
            integrity = pkg.integrities.get(version)
            value = pack(
                Envelope(
                    self.format, blob, integrity=integrity, source=pkg.registry, writer=self.writer
                )
            )
            key = (pkg.registry, pkg.name, version)
            if key in self.disputed and integrity_conflicts(self.disputed[key], integrity):
                log.warning(
                    "%s@%s: the team cache held facts for other bytes (%s); replaced them "
                    "with the registry's (%s)",
                    pkg.name,
                    version,
                    self.disputed[key],
                    integrity,
                )
                writes.append(_Write("hset", ver, value, version))
            else:
                writes.append(_Write("hsetnx", ver, value, version))
        if pkg.status is not None:
            stamp = pkg.fetched_at or now
            left = stamp + self.ttl - now  # `now`: the time of this save
            if left > 1:  # a picture already stale is not worth sharing
                value = pack(
                    Envelope(
                        self.format,
                        pkg.picture or b"",
                        pkg.status,
                        stamp,
                        source=pkg.registry,
                        writer=self.writer,
                    )
                )
                at = self.pkg_key(pkg.registry, pkg.name)
                writes.append(_Write("set", at, value, expire_ms=int(left * 1000)))
        return writes

    # -- maintenance ------------------------------------------------------------------------

    def stats(self) -> SharedStats | None:
        """What the team cache holds (None when it cannot be read)."""
        from redis.exceptions import NoPermissionError

        def run(client: redis.Redis) -> SharedStats:
            counts = {"pkg": 0, "ver": 0, "tar": 0}
            versions = 0
            for kind in counts:
                for key in client.scan_iter(match=f"{self.prefix}{kind}:*", count=1000):
                    counts[kind] += 1
                    if kind == "ver":
                        versions += int(client.hlen(key))
            try:
                memory = client.info("memory").get("used_memory")
            except NoPermissionError:  # INFO is not in every ACL
                memory = None
            return SharedStats(
                self.location,
                int(memory) if memory is not None else None,
                counts["pkg"],
                versions,
                counts["tar"],
                self.cache.writable,
            )

        return self.cache.call("read its size", run, None)
