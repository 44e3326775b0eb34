"""Tarball downloads for the facts source: byte budget, size cap, integrity before reading."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry

from npmguard.errors import NpmguardError
from npmguard.registry.client import RegistryClient
from npmguard.registry.http import make_session
from npmguard.registry.npmrc import load_npm_config
from npmguard.reputation.tarballs import ByteBudget, fetch_and_read


def test_budget_makes_big_items_wait() -> None:
    budget = ByteBudget(100)
    order: list[str] = []
    with budget.take(60):
        waiter = threading.Thread(target=lambda: _take(budget, 60, order))
        waiter.start()
        time.sleep(0.05)
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]
    with budget.take(1000):  # bigger than the budget: takes all of it, alone
        assert budget.used == 100
    assert budget.used == 0 and budget.peak == 100


def _take(budget: ByteBudget, size: int, order: list[str]) -> None:
    with budget.take(size):
        order.append("second")


@pytest.fixture
def client(
    fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RegistryClient:
    monkeypatch.setenv("npm_config_registry", fake_registry.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "none"))
    config = load_npm_config(tmp_path)
    return RegistryClient(config, make_session(config, None), tarball_limit=64 * 1024)


def test_fetch_verify_read(client: RegistryClient, fake_registry: FakeRegistry) -> None:
    entry = fake_registry.add_version("left-pad", "1.3.0")
    url = fake_registry.tarball_url("left-pad", "1.3.0")
    got = fetch_and_read(client, url, entry.integrity, "left-pad", ByteBudget(), len)
    assert got == len(entry.tarball)
    wrong = "sha512-" + "A" * 86 + "=="
    seen: list[bytes] = []
    with pytest.raises(NpmguardError, match="integrity mismatch"):
        fetch_and_read(client, url, wrong, "left-pad", ByteBudget(), seen.append)
    assert seen == []  # nothing is read before the integrity check passes


def test_size_cap_and_http_errors(client: RegistryClient, fake_registry: FakeRegistry) -> None:
    import os

    big = fake_registry.add_version("big", "1.0.0", files={"blob.bin": os.urandom(200 * 1024)})
    url = fake_registry.tarball_url("big", "1.0.0")
    with pytest.raises(NpmguardError, match="tarball over the"):
        fetch_and_read(client, url, big.integrity, "big", ByteBudget(), len)
    with pytest.raises(NpmguardError, match="HTTP 404"):
        fetch_and_read(client, fake_registry.url + "nope.tgz", None, "nope", ByteBudget(), len)
