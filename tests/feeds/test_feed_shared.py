"""Feeds through the team cache (a real Redis): the security team imports once, every
machine brings it in, ``db info`` says where each source came from and how old it is."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from redisserver import BINARY, PASSWORD, SKIP_REASON, RedisServer

from npmguard.cli import main
from npmguard.feeds.provider import FeedProvider
from npmguard.feeds.shared import PREFIX, shared_sources, sync
from npmguard.feeds.store import open_feed_store
from npmguard.store.redis import SharedCache

ORG_RECORD = {
    "id": "MAL-ACME-0001",
    "modified": "2026-11-01T00:00:00Z",
    "published": "2026-11-01T00:00:00Z",
    "summary": "acme security team: do not use left-pod (typosquat with a stealer)",
    "affected": [{"package": {"ecosystem": "npm", "name": "left-pod"}, "versions": ["1.0.0"]}],
}


def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> Path:
    """Switch to another machine: its own data folder (where the feed store lives)."""
    data = tmp_path / name
    monkeypatch.setenv("NPMGUARD_DATA_DIR", str(data))
    return data / "feeds.sqlite"


def cache(server: RedisServer) -> SharedCache:
    return SharedCache(server.url, password=PASSWORD)


def test_imported_once_seen_everywhere(
    shared_data: Path,
    tmp_path: Path,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_URL", redis_server.url)
    monkeypatch.setenv("NPMGUARD_CACHE_WRITER", "security-ci")
    monkeypatch.chdir(tmp_path)
    org = tmp_path / "acme-osv"
    org.mkdir()
    (org / "MAL-ACME-0001.json").write_text(json.dumps(ORG_RECORD))

    machine(monkeypatch, tmp_path, "security-ci")
    samples = str(shared_data / "osv-samples" / "osv")
    assert main(["db", "update", "--from", samples]) == 0
    assert main(["db", "update", "--from", str(org)]) == 0
    assert "shared with the team cache" in capsys.readouterr().err
    assert {s.source for s in shared_sources(cache(redis_server))} == {
        str(Path(samples).resolve()),
        str(org.resolve()),
    }

    dev = machine(monkeypatch, tmp_path, "developer")
    capsys.readouterr()
    assert main(["db", "info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["records"] == 4  # the three samples and the organisation's own record
    assert {s["via"] for s in info["sources"]} == {redis_server.url.replace("redis://", "redis://")}
    assert {s["imported_by"] for s in info["sources"]} == {"security-ci"}
    assert all(s["age_seconds"] < 120 for s in info["sources"])
    assert len(info["team_cache"]["sources"]) == 2
    assert main(["db", "info"]) == 0
    text = capsys.readouterr().out
    assert "via       the team cache at" in text and "imported by security-ci" in text

    store = open_feed_store(dev)
    assert store is not None
    with store:
        [match] = store.match("left-pod", "1.0.0")
        assert match.record_id == "MAL-ACME-0001"


def test_a_machine_brings_a_source_again_only_when_it_changed(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_URL", redis_server.url)
    monkeypatch.chdir(tmp_path)
    org = tmp_path / "acme-osv"
    org.mkdir()
    (org / "MAL-ACME-0001.json").write_text(json.dumps(ORG_RECORD))
    machine(monkeypatch, tmp_path, "security-ci")
    assert main(["db", "update", "-q", "--from", str(org)]) == 0

    dev = tmp_path / "dev" / "feeds.sqlite"
    assert sync(cache(redis_server), dev) == [str(org.resolve())]
    assert sync(cache(redis_server), dev) == []  # same generation: nothing to do

    second = dict(ORG_RECORD, id="MAL-ACME-0002", modified="2026-11-02T00:00:00Z")
    second["affected"] = [
        {"package": {"ecosystem": "npm", "name": "right-pod"}, "versions": ["2.0.0"]}
    ]
    (org / "MAL-ACME-0002.json").write_text(json.dumps(second))
    (org / "MAL-ACME-0001.json").unlink()  # withdrawn from the folder: gone everywhere
    assert main(["db", "update", "-q", "--from", str(org)]) == 0
    assert len(list(redis_server.admin().scan_iter(match=PREFIX + "records:*"))) == 1
    provider = FeedProvider(dev, cache(redis_server))
    facts = provider.gather([], frozenset())
    assert facts.feed is not None
    assert [m.record_id for m in facts.feed.match("right-pod", "2.0.0")] == ["MAL-ACME-0002"]
    assert facts.feed.match("left-pod", "1.0.0") == []
    provider.close()


@pytest.mark.skipif(BINARY is None, reason=SKIP_REASON)
def test_redis_down_keeps_the_local_copy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    org = tmp_path / "acme-osv"
    org.mkdir()
    (org / "MAL-ACME-0001.json").write_text(json.dumps(ORG_RECORD))
    dev = tmp_path / "dev" / "feeds.sqlite"
    monkeypatch.chdir(tmp_path)
    with RedisServer() as server:
        monkeypatch.setenv("NPMGUARD_CACHE_URL", server.url)
        monkeypatch.setenv("NPMGUARD_CACHE_PASSWORD", PASSWORD)
        machine(monkeypatch, tmp_path, "security-ci")
        assert main(["db", "update", "-q", "--from", str(org)]) == 0
        assert sync(SharedCache(server.url, password=PASSWORD), dev) == [str(org.resolve())]
    logging.getLogger("npmguard").setLevel(logging.WARNING)  # main(-q) left it at ERROR
    capsys.readouterr()
    provider = FeedProvider(dev, SharedCache(server.url, password=PASSWORD))
    facts = provider.gather([], frozenset())
    assert facts.feed is not None and facts.feed.match("left-pod", "1.0.0") != []
    provider.close()
    assert capsys.readouterr().err.count("the team cache is not usable") == 1


def test_an_old_feed_store_gets_the_new_table(tmp_path: Path) -> None:
    """A version-2 feed store (before the team cache) is upgraded in place, never dropped."""
    import sqlite3

    from npmguard.feeds.store import create_feed_store

    path = tmp_path / "feeds.sqlite"
    create_feed_store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE shared")
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO sources (source, kind, imported_at, records, withdrawn, skipped, "
            "errors) VALUES ('x', 'json', '2026-01-01T00:00:00+00:00', 1, 0, 0, 0)"
        )
    db.close()
    store = open_feed_store(path)
    assert store is not None
    with store:
        assert [s.source for s in store.info().sources] == ["x"]
        assert store.shared_marks() == {}
    shutil.rmtree(tmp_path / "nothing", ignore_errors=True)
