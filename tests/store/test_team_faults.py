"""The team layer when Redis is down, slow, full, read-only or refuses the login, and with
several processes sharing one Redis. Each is one warning at most; the local file keeps all."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redisserver import BINARY, PASSWORD, SKIP_REASON, RedisServer

from npmguard.reputation.store import FactsStore
from npmguard.store.base import NewPackage
from npmguard.store.layered import LayeredStore
from npmguard.store.redis import SharedCache
from npmguard.store.redis_facts import RedisFacts

REG = "https://registry.example/"
TTL = 3600.0
needs_redis = pytest.mark.skipif(BINARY is None, reason=SKIP_REASON)


def pkg(name: str) -> NewPackage:
    return NewPackage(REG, name, "ok", b"pic-" + name.encode(), {"1.0.0": b"m"})


def store(folder: Path, url: str, **kw: object) -> LayeredStore:
    cache = SharedCache(url, password=kw.pop("password", PASSWORD), **kw)  # type: ignore[arg-type]
    return LayeredStore(FactsStore.in_dir(folder), RedisFacts(cache, format=4, ttl=TTL), ttl=TTL)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def use_everything(s: LayeredStore, names: list[str]) -> None:
    s.packages((REG, n) for n in names)
    s.manifests((REG, n, "1.0.0") for n in names)
    s.tarballs(["sha512-x"])
    s.save([pkg(n) for n in names], {"sha512-x": b"T"})


def test_redis_down_from_the_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), store(tmp_path, f"redis://127.0.0.1:{port}/0") as s:
        use_everything(s, ["a", "b"])
        use_everything(s, ["c"])
    assert time.monotonic() - started < 3
    said = warnings(caplog)
    assert len(said) == 1 and "going on with the local cache and the registry" in said[0]
    with FactsStore.in_dir(tmp_path) as local:  # nothing lost locally
        assert len(local.packages([(REG, "a"), (REG, "b"), (REG, "c")])) == 3


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A server that accepts connections and never answers: a Redis that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_slow_redis_costs_one_bounded_timeout(
    tmp_path: Path, blackhole: str, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), store(tmp_path, blackhole, timeout=0.5) as s:
        use_everything(s, ["a", "b"])
    assert time.monotonic() - started < 2.5  # one timeout, no retries, then the layer is off
    said = warnings(caplog)
    assert len(said) == 1 and "TimeoutError" in said[0]


@needs_redis
def test_redis_stopped_mid_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with RedisServer() as server, caplog.at_level(logging.WARNING):
        with store(tmp_path / "ci", server.url) as ci:
            ci.save([pkg("a")])
        with store(tmp_path / "dev", server.url) as dev:
            assert (REG, "a") in dev.packages([(REG, "a")])
            server.stop()
            assert dev.packages([(REG, "b")]) == {}
            use_everything(dev, ["c", "d"])
        assert len(warnings(caplog)) == 1
    with FactsStore.in_dir(tmp_path / "dev") as local:  # what Redis gave and the run fetched
        assert len(local.packages([(REG, "a"), (REG, "c"), (REG, "d")])) == 3


def test_a_wrong_password_is_one_warning(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), store(tmp_path, redis_server.url, password="x") as s:
        use_everything(s, ["a"])
    said = warnings(caplog)
    assert len(said) == 1 and "login was refused" in said[0]


def test_a_full_redis_keeps_reading_and_stops_writing(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    admin = redis_server.admin()
    with store(tmp_path / "ci", redis_server.url) as ci:
        ci.save([pkg("a")])
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", admin.info("memory")["used_memory"] - 1024)
    try:
        with caplog.at_level(logging.WARNING), store(tmp_path / "dev", redis_server.url) as dev:
            assert (REG, "a") in dev.packages([(REG, "a")])
            dev.save([pkg(f"n{i}") for i in range(20)])
            dev.save([pkg("more")])
            assert (REG, "a") in dev.packages([(REG, "a")])
            assert not dev.shared.cache.writable
    finally:
        admin.config_set("maxmemory", 0)
    said = warnings(caplog)
    assert len(said) == 1 and "full" in said[0]
    with FactsStore.in_dir(tmp_path / "dev") as local:
        assert len(local.packages([(REG, "n0"), (REG, "more")])) == 2


# The ACL recipe docs/team-cache.md gives: CI writes, developers read.
WRITER = "on >w-secret ~npmguard:* resetchannels -@all +@read +@write +@connection +eval +info"
READER = "on >r-secret ~npmguard:* resetchannels -@all +@read +@connection +info"


def test_a_read_only_client_reads_and_never_writes(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    admin = redis_server.admin()
    admin.execute_command("ACL", "SETUSER", "ci-writer", *WRITER.split())
    admin.execute_command("ACL", "SETUSER", "developer", *READER.split())
    writer = SharedCache(redis_server.url, username="ci-writer", password="w-secret")
    with LayeredStore(
        FactsStore.in_dir(tmp_path / "ci"), RedisFacts(writer, format=4, ttl=TTL), ttl=TTL
    ) as ci:
        ci.packages([(REG, "a")])  # claims the fetch
        ci.save([pkg("a")])
    reader = SharedCache(redis_server.url, username="developer", password="r-secret")
    before = admin.dbsize()
    with (
        caplog.at_level(logging.WARNING),
        LayeredStore(
            FactsStore.in_dir(tmp_path / "dev"), RedisFacts(reader, format=4, ttl=TTL), ttl=TTL
        ) as dev,
    ):
        assert (REG, "a") in dev.packages([(REG, "a"), (REG, "b")])  # "b": no claim either
        dev.save([pkg("b")])
        assert dev.shared.cache.available and not dev.shared.cache.writable
    assert warnings(caplog) == [] and admin.dbsize() == before
    with FactsStore.in_dir(tmp_path / "dev") as local:
        assert len(local.packages([(REG, "a"), (REG, "b")])) == 2


RUNNER = """
import sys, time
from pathlib import Path
import redis
from npmguard.reputation.store import FactsStore
from npmguard.store.base import NewPackage
from npmguard.store.layered import LayeredStore
from npmguard.store.redis import SharedCache
from npmguard.store.redis_facts import RedisFacts

url, password, folder, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
REG = "https://registry.example/"
admin = redis.Redis.from_url(url, password=password)
while not admin.exists("go"):
    time.sleep(0.005)
cache = SharedCache(url, password=password)
store = LayeredStore(FactsStore.in_dir(folder), RedisFacts(cache, format=4, ttl=3600), ttl=3600)
keys = [(REG, f"p{i}") for i in range(count)]
rows = store.packages(keys)
fetched = [n for r, n in keys if (r, n) not in rows]
for name in fetched:  # "the registry": counted, and slow enough for the others to wait
    admin.incr("fetches:" + name)
time.sleep(0.3)
store.save([NewPackage(REG, n, "ok", b"pic", {}) for n in fetched])
store.close()
with FactsStore.in_dir(folder) as local:
    assert len(local.packages(keys)) == count, "a runner ended without every package"
"""


def test_concurrent_cold_runners_fetch_each_package_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    count, runners = 60, 5
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RUNNER,
                redis_server.url,
                PASSWORD,
                str(tmp_path / f"r{i}"),
                str(count),
            ],
            env=env,
        )
        for i in range(runners)
    ]
    time.sleep(0.5)  # let them all start and wait at the gate
    redis_server.admin().set("go", 1)
    assert [p.wait(timeout=60) for p in procs] == [0] * runners
    admin = redis_server.admin()
    counts = [int(admin.get(f"fetches:p{i}") or 0) for i in range(count)]
    assert counts == [1] * count


def test_a_claim_lives_while_its_holder_does(redis_server: RedisServer) -> None:
    facts = RedisFacts(
        SharedCache(redis_server.url, password=PASSWORD), format=4, ttl=TTL, lease_ms=1000
    )
    entry = facts.pkg_key(REG, "slow")
    assert facts.claim([entry]) == ([], [entry], [])
    # more than two lease lengths: renewed meanwhile (a 300 ms lease lapsed once in CI when
    # the renewing thread was not scheduled for that long on two busy cores)
    time.sleep(2.5)
    lease = facts.lease_key(entry)
    assert redis_server.admin().exists(lease) == 1
    other = RedisFacts(SharedCache(redis_server.url, password=PASSWORD), format=4, ttl=TTL)
    assert other.claim([entry]) == ([], [], [entry])
    facts.release()
    assert redis_server.admin().exists(lease) == 0


def test_a_dead_holder_is_not_waited_for(redis_server: RedisServer) -> None:
    facts = RedisFacts(SharedCache(redis_server.url, password=PASSWORD), format=4, ttl=TTL)
    entry = facts.pkg_key(REG, "orphan")
    redis_server.admin().set(facts.lease_key(entry), "a runner that died", px=300)
    started = time.monotonic()
    assert facts.wait([entry], time.monotonic() + 30) == {}  # the lease lapsed: fetch it
    assert time.monotonic() - started < 2
