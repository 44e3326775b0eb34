"""The facts store contract on both layers (the SQLite file alone, and SQLite + a real Redis),
then what only the team layer does: sharing, expiry, versioned entries, trust."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redisserver import RedisServer

from npmguard.reputation.store import FactsStore
from npmguard.store.base import FactsBackend, NewPackage
from npmguard.store.layered import LayeredStore
from npmguard.store.redis import ENVELOPE, Envelope, SharedCache, pack, unpack
from npmguard.store.redis_facts import RedisFacts

REG = "https://registry.example/"
TTL = 3600.0
FORMAT = 4
GOOD = "sha512-R29vZA=="
OTHER = "sha512-QmFk"


def pkg(
    name: str,
    picture: bytes = b"pic",
    manifests: dict[str, bytes] | None = None,
    integrities: dict[str, str | None] | None = None,
) -> NewPackage:
    return NewPackage(REG, name, "ok", picture, manifests or {}, integrities or {})


def layered(folder: Path, server: RedisServer, now: float = 1000.0, **kw: Any) -> LayeredStore:
    cache = SharedCache.from_environment(server.url, {"NPMGUARD_CACHE_PASSWORD": "test-secret-0"})
    shared = RedisFacts(cache, format=kw.pop("format", FORMAT), ttl=TTL)
    return LayeredStore(FactsStore.in_dir(folder), shared, ttl=TTL, now=lambda: now, **kw)


@pytest.fixture(params=["sqlite", "sqlite+redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FactsBackend]:
    if request.param == "sqlite":
        store: FactsBackend = FactsStore.in_dir(tmp_path)
    else:
        store = layered(tmp_path, request.getfixturevalue("redis_server"))
    yield store
    store.close()


# -- the contract, on both layers -----------------------------------------------------------


def test_save_and_read_back(backend: FactsBackend) -> None:
    backend.save(
        [pkg("a", b"A", {"1.0.0": b"m1"}), NewPackage(REG, "gone", "not-found", None, {})],
        {"sha512-x": b"T"},
        now=1000.0,
    )
    rows = backend.packages([(REG, "a"), (REG, "gone"), (REG, "missing")])
    assert set(rows) == {(REG, "a"), (REG, "gone")}
    assert rows[(REG, "a")].picture == b"A" and rows[(REG, "a")].fetched_at == 1000.0
    assert rows[(REG, "gone")].status == "not-found"
    assert backend.manifests([(REG, "a", "1.0.0"), (REG, "a", "2.0.0")]) == {
        (REG, "a", "1.0.0"): b"m1"
    }
    assert backend.tarballs(["sha512-x", "sha512-y"]) == {"sha512-x": b"T"}


def test_pictures_refresh_versions_and_tarballs_are_kept(backend: FactsBackend) -> None:
    backend.save([pkg("a", b"old", {"1.0.0": b"first"})], {"sha512-x": b"T1"}, now=1.0)
    backend.save([pkg("a", b"new", {"1.0.0": b"second"})], {"sha512-x": b"T2"}, now=2.0)
    row = backend.packages([(REG, "a")])[(REG, "a")]
    assert (row.picture, row.fetched_at) == (b"new", 2.0)
    assert backend.manifests([(REG, "a", "1.0.0")])[(REG, "a", "1.0.0")] == b"first"
    assert backend.tarballs(["sha512-x"]) == {"sha512-x": b"T1"}


def test_many_names(backend: FactsBackend) -> None:
    names = [f"p{i}" for i in range(700)]
    backend.save([pkg(n, manifests={"1.0.0": b"m"}) for n in names], now=1000.0)
    assert len(backend.packages((REG, n) for n in names)) == 700
    assert len(backend.manifests((REG, n, "1.0.0") for n in names)) == 700


def test_a_registry_manifest_is_served_whatever_the_lockfile_says(backend: FactsBackend) -> None:
    """This machine's own fetch is the registry's word: the lockfile-integrity rule compares
    against it (only team-cache entries are held to the lockfile)."""
    backend.save([pkg("a", manifests={"1.0.0": b"m"}, integrities={"1.0.0": GOOD})], now=1000.0)
    key = (REG, "a", "1.0.0")
    assert backend.manifests([key], expect={key: OTHER}) == {key: b"m"}


# -- the team layer -------------------------------------------------------------------------


def test_a_second_machine_reads_what_the_first_fetched(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with layered(tmp_path / "ci-1", redis_server) as first:
        first.save(
            [pkg("a", b"A", {"1.0.0": b"m1"}, {"1.0.0": GOOD})], {"sha512-x": b"T"}, now=1000.0
        )
    with layered(tmp_path / "ci-2", redis_server, now=1010.0) as second:
        rows = second.packages([(REG, "a")])
        assert rows[(REG, "a")].picture == b"A"
        assert rows[(REG, "a")].fetched_at == 1000.0  # the age it had in the team cache
        key = (REG, "a", "1.0.0")
        assert second.manifests([key], expect={key: GOOD}) == {key: b"m1"}
        assert second.tarballs(["sha512-x"]) == {"sha512-x": b"T"}
    # written back: the second machine's own file now answers alone, and knows the origin
    with FactsStore.in_dir(tmp_path / "ci-2") as local:
        assert local.packages([(REG, "a")])[(REG, "a")].fetched_at == 1000.0
        assert local.tarballs(["sha512-x"]) == {"sha512-x": b"T"}
        row = local._db.execute("SELECT integrity, origin FROM version").fetchone()
        assert row == (GOOD, "shared")


def test_fresh_local_pictures_are_not_asked_of_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with layered(tmp_path, redis_server) as store:
        store.save([pkg("a", b"A")], now=1000.0)
        redis_server.admin().flushall()
        assert store.packages([(REG, "a")])[(REG, "a")].picture == b"A"


def test_pictures_expire_in_redis_with_their_ttl(tmp_path: Path, redis_server: RedisServer) -> None:
    import time

    now = time.time()
    with layered(tmp_path, redis_server, now=now) as store:
        fresh = NewPackage(REG, "fresh", "ok", b"p", {}, fetched_at=now - 600)
        stale = NewPackage(REG, "stale", "ok", b"p", {}, fetched_at=now - TTL - 5)
        store.save([fresh, stale], now=now)  # the stale one is not shared at all
        key = store.shared.pkg_key(REG, "fresh")
        left = redis_server.admin().pttl(key) / 1000
        assert TTL - 600 - 5 < left <= TTL - 600
        assert redis_server.admin().exists(store.shared.pkg_key(REG, "stale")) == 0
        store.save([pkg("v", manifests={"1.0.0": b"m"})], now=now)
        assert redis_server.admin().ttl(store.shared.ver_key(REG, "v")) == -1  # kept for good


def test_entries_of_another_format_or_envelope_are_never_read(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with layered(tmp_path / "new", redis_server, format=FORMAT + 1) as newer:
        newer.save([pkg("a", b"from a newer npmguard", {"1.0.0": b"m"})], {"sha512-x": b"T"})
    admin = redis_server.admin()
    older = layered(tmp_path / "old", redis_server)
    # a newer envelope written where this version reads: ignored too
    admin.set(
        older.shared.pkg_key(REG, "b"),
        b"NG" + bytes([ENVELOPE + 1]) + b"\x00\x02{}whatever",
    )
    admin.set(older.shared.pkg_key(REG, "c"), b"not an envelope at all")
    with older:
        assert older.packages([(REG, "a"), (REG, "b"), (REG, "c")]) == {}
        assert older.manifests([(REG, "a", "1.0.0")]) == {}
        assert older.tarballs(["sha512-x"]) == {}
    assert any(k.startswith(b"npmguard:facts:5:") for k in admin.scan_iter())


def test_envelope_round_trip_and_refusals() -> None:
    env = Envelope(4, b"payload", "ok", 12.5, GOOD, REG, "ci-7")
    assert unpack(pack(env), 4) == env
    assert unpack(pack(env), 5) is None
    assert unpack(None, 4) is None and unpack(b"NG", 4) is None


# -- trust ----------------------------------------------------------------------------------


def test_a_shared_manifest_that_disagrees_with_the_lockfile_is_not_used(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = (REG, "a", "1.0.0")
    with layered(tmp_path / "poisoner", redis_server) as poisoner:
        poisoner.save([pkg("a", manifests={"1.0.0": b"evil"}, integrities={"1.0.0": OTHER})])
    with layered(tmp_path / "dev", redis_server) as dev:
        assert dev.manifests([key], expect={key: GOOD}) == {}  # the registry gets asked
        # the registry's answer (agreeing with the lockfile) replaces the poisoned entry
        with caplog.at_level(logging.WARNING):
            dev.save([pkg("a", manifests={"1.0.0": b"real"}, integrities={"1.0.0": GOOD})])
        assert "held facts for other bytes" in caplog.text
    with layered(tmp_path / "next", redis_server) as following:
        assert following.manifests([key], expect={key: GOOD}) == {key: b"real"}


def test_an_entry_written_back_from_redis_is_still_held_to_the_lockfile(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    key = (REG, "a", "1.0.0")
    with layered(tmp_path / "ci", redis_server) as ci:
        ci.save([pkg("a", manifests={"1.0.0": b"m"}, integrities={"1.0.0": GOOD})])
    with layered(tmp_path / "dev", redis_server) as dev:
        assert dev.manifests([key]) == {key: b"m"}  # no lockfile integrity: nothing to compare
    with FactsStore.in_dir(tmp_path / "dev") as local:  # later, another lockfile, offline
        assert local.manifests([key], expect={key: OTHER}) == {}
        assert local.manifests([key], expect={key: GOOD}) == {key: b"m"}


def test_tarball_facts_must_name_the_integrity_they_are_stored_under(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    store = layered(tmp_path, redis_server)
    forged = pack(Envelope(FORMAT, b"forged", integrity=OTHER))
    redis_server.admin().set(store.shared.tar_key(GOOD), forged)
    with store:
        assert store.tarballs([GOOD]) == {}


def test_the_team_cache_is_never_cleared_from_a_machine(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with layered(tmp_path, redis_server) as store:
        store.save([pkg("a")])
        store.clear()
        assert store.stats().packages == 0
        assert redis_server.admin().exists(store.shared.pkg_key(REG, "a")) == 1
        shared = store.shared_stats()
        assert shared is not None and shared.packages == 1 and shared.writable
