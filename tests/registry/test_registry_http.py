"""The HTTP session: retries, timeouts, the cache (revalidation, offline, corruption)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry

from npmguard.registry.http import NotCachedError, UnreachableError, make_session
from npmguard.registry.npmrc import NpmConfig


def _config(url: str, **values: object) -> NpmConfig:
    return NpmConfig(registry=url, values={"registry": url, **values})


def test_retries_twice_on_503_then_succeeds(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    fake_registry.fail(times=2, status=503)
    session = make_session(_config(fake_registry.url), tmp_path)
    response = session.get(fake_registry.url + "left-pad")
    assert response.status_code == 200
    assert [r.path for r in fake_registry.requests] == ["/left-pad"] * 3


def test_429_with_retry_after_zero(fake_registry: FakeRegistry) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    fake_registry.fail(times=1, status=429, retry_after=0)
    session = make_session(_config(fake_registry.url), None)
    started = time.monotonic()
    assert session.get(fake_registry.url + "left-pad").status_code == 200
    assert time.monotonic() - started < 2
    assert len(fake_registry.requests) == 2


def test_gives_up_after_fetch_retries(fake_registry: FakeRegistry) -> None:
    fake_registry.fail(times=10, status=503)
    session = make_session(_config(fake_registry.url, **{"fetch-retries": "1"}), None)
    assert session.get(fake_registry.url + "x").status_code == 503
    assert len(fake_registry.requests) == 2


def test_read_timeout_is_unreachable(fake_registry: FakeRegistry) -> None:
    fake_registry.add_version("slow", "1.0.0")
    fake_registry.delay(2.0)
    config = _config(fake_registry.url, **{"fetch-timeout": "200", "fetch-retries": "0"})
    started = time.monotonic()
    # the socket's read timeout or the attempt's deadline, whichever notices first
    with pytest.raises(
        UnreachableError,
        match=r"^127\.0\.0\.1: (registry unreachable|no complete answer within 0\.2 s)",
    ):
        make_session(config, None).get(fake_registry.url + "slow")
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_unreachable_with_a_hint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(UnreachableError) as info:
        make_session(_config(url, **{"fetch-retries": "0"}), None).get(url + "x")
    assert "--offline" in info.value.hint


def test_revalidates_with_etag_and_serves_offline(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    fake_registry.max_age = 0
    fake_registry.add_version("left-pad", "1.3.0")
    url = fake_registry.url + "left-pad"
    session = make_session(_config(fake_registry.url), tmp_path)
    first = session.get(url)
    assert first.status_code == 200 and not first.from_cache  # type: ignore[attr-defined]
    second = session.get(url)
    assert second.status_code == 200 and second.from_cache  # type: ignore[attr-defined]
    assert second.json()["name"] == "left-pad"
    assert fake_registry.requests[1].headers.get("if-none-match")
    assert (tmp_path / "http.sqlite").is_file()
    session.close()

    fake_registry.clear_log()
    offline = make_session(_config(fake_registry.url), tmp_path, offline=True)
    assert offline.get(url).json()["name"] == "left-pad"
    with pytest.raises(NotCachedError, match="not in the cache"):
        offline.get(fake_registry.url + "never-fetched")
    with pytest.raises(NotCachedError):  # tarballs are never cached
        offline.get(fake_registry.tarball_url("left-pad", "1.3.0"), use_cache=False)
    assert fake_registry.requests == []  # offline means no request at all


def test_fresh_response_is_not_refetched(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    fake_registry.add_version("left-pad", "1.3.0")  # max-age=300
    session = make_session(_config(fake_registry.url), tmp_path)
    session.get(fake_registry.url + "left-pad")
    assert session.get(fake_registry.url + "left-pad").from_cache  # type: ignore[attr-defined]
    assert len(fake_registry.requests) == 1
    session.get(fake_registry.url + "left-pad", refresh=True)
    assert len(fake_registry.requests) == 2


def test_tarballs_bypass_the_cache(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    session = make_session(_config(fake_registry.url), tmp_path)
    tgz = fake_registry.tarball_url("left-pad", "1.3.0")
    for _ in range(2):
        session.get(tgz, use_cache=False, stream=True).close()
    assert len(fake_registry.requests) == 2


def test_corrupt_cache_warns_once_and_continues(
    fake_registry: FakeRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    (tmp_path / "http.sqlite").write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="npmguard"):
        session = make_session(_config(fake_registry.url), tmp_path)
        assert session.get(fake_registry.url + "left-pad").status_code == 200
        assert session.get(fake_registry.url + "left-pad").status_code == 200
    assert not session.cache_enabled
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "HTTP cache" in warnings[0].getMessage()


def test_user_agent_and_accept(fake_registry: FakeRegistry) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    make_session(_config(fake_registry.url), None).get(fake_registry.url + "left-pad")
    headers = fake_registry.requests[0].headers
    assert headers["user-agent"].startswith("npmguard/")
    assert headers["accept"] == "application/json"
