"""Review 7: what the progressive save of a cold run (rows written every SAVE_EVERY packages
while the rest download) must keep from the single save it replaced."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from redisserver import PASSWORD, RedisServer
from test_source import PACKUMENT, REG, Config, FakeClient, demo_doc, locked

import npmguard.reputation.source as source_module
from npmguard.reputation.source import ReputationSource
from npmguard.reputation.store import FILE_NAME, FactsStore
from npmguard.store.layered import LayeredStore
from npmguard.store.redis import SharedCache
from npmguard.store.redis_facts import RedisFacts


def docs(count: int) -> dict[str, dict[str, Any]]:
    out = {}
    for i in range(count):
        doc = demo_doc()
        doc["name"] = f"demo-{i}"
        out[f"demo-{i}"] = doc
    return out


def test_a_batch_saved_keeps_the_team_claims_on_what_still_downloads(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent cold runners claim what they fetch so that each document is fetched about
    once between them (docs/team-cache.md); a claim lives until its package is saved. A
    batch written mid-run must not drop the claims on the packages still downloading, or a
    second runner waiting on them gives up and fetches them again."""
    monkeypatch.setattr(source_module, "SAVE_EVERY", 3)
    count = 12
    shared = RedisFacts(SharedCache(redis_server.url, password=PASSWORD), format=4, ttl=3600.0)
    store = LayeredStore(FactsStore.in_dir(tmp_path), shared, ttl=3600.0, now=lambda: 1000.0)
    admin = redis_server.admin()
    saved: set[str] = set()
    lost: list[str] = []
    save = LayeredStore.save

    def watching(self: LayeredStore, packages: Any = (), *args: Any, **kw: Any) -> None:
        packages = list(packages)
        save(self, packages, *args, **kw)
        saved.update(p.name for p in packages)
        for i in range(count):  # every package not saved yet is still claimed
            name = f"demo-{i}"
            lease = shared.lease_key(shared.pkg_key(REG, name))
            if name not in saved and not admin.exists(lease):
                lost.append(name)

    monkeypatch.setattr(LayeredStore, "save", watching)
    src = ReputationSource(store, FakeClient(docs(count)), config=Config(), now=lambda: 1000.0)  # type: ignore[arg-type]
    try:
        src.facts_for([locked(f"demo-{i}", "2.0.0") for i in range(count)], PACKUMENT)
    finally:
        src.close()
    assert len(saved) == count
    assert lost == []  # claims dropped while their packages were still being fetched


def test_a_locked_cache_is_one_warning_for_a_cold_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holding the facts cache's write lock costs a run one warning (and one
    busy wait), as the single save did, not one per SAVE_EVERY packages."""
    monkeypatch.setattr(source_module, "SAVE_EVERY", 3)
    count = 15
    store = FactsStore(tmp_path / FILE_NAME, busy=0.2)
    holder = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    src = ReputationSource(store, FakeClient(docs(count)), config=Config(), now=lambda: 1000.0)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.WARNING):
            facts = src.facts_for([locked(f"demo-{i}", "2.0.0") for i in range(count)], PACKUMENT)
    finally:
        src.close()
        holder.execute("ROLLBACK")
        holder.close()
    assert len(facts) == count  # the run's answer does not depend on the cache write
    unsaved = [r for r in caplog.records if "could not save new facts" in r.getMessage()]
    assert len(unsaved) == 1, [r.getMessage() for r in unsaved]
