"""Shared test set-up: the network marker and paths to the shared data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fakeregistry import FakeRegistry

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--network",
        action="store_true",
        default=False,
        help="also run tests marked `network` (they talk to the real npm registry)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--network"):
        return
    skip = pytest.mark.skip(reason="talks to the real registry: run with --network")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the user's real cache, data or config directories from a test."""
    base = tmp_path_factory.mktemp("npmguard-home")
    monkeypatch.setenv("NPMGUARD_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("NPMGUARD_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("NPMGUARD_CONFIG_DIR", str(base / "config"))


@pytest.fixture(autouse=True)
def _package_logger() -> Iterator[None]:
    """The CLI configures the package logger (its own handler, no propagation, -q's level);
    put it back after each test, so a later test's ``caplog`` sees npmguard's warnings."""
    import logging

    logger = logging.getLogger("npmguard")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    """A started loopback npm registry (see tests/fakeregistry.py); stopped afterwards."""
    from fakeregistry import FakeRegistry

    registry = FakeRegistry()
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope="session")
def _redis_session() -> Iterator[object]:
    from redisserver import BINARY, SKIP_REASON, RedisServer

    if BINARY is None:
        pytest.skip(SKIP_REASON)
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server(_redis_session: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A real redis-server with a password (one per session, emptied for each test);
    ``NPMGUARD_CACHE_PASSWORD`` is set to it, as a CI secret would be."""
    from redisserver import PASSWORD, RedisServer

    assert isinstance(_redis_session, RedisServer)
    _redis_session.admin().flushall()
    monkeypatch.setenv("NPMGUARD_CACHE_PASSWORD", PASSWORD)
    yield _redis_session


@pytest.fixture(scope="session")
def _built_names(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from npmguard.names.store import open_store

    folder = tmp_path_factory.mktemp("names-store")
    open_store(folder).close()
    return folder


@pytest.fixture
def names_cache(_built_names: Path) -> None:
    """The popular-names store, built once per session, copied into this test's cache dir
    (building it costs ~2 s: end-to-end tests that need no fresh build use this)."""
    import shutil

    target = Path(os.environ["NPMGUARD_CACHE_DIR"])
    target.mkdir(parents=True, exist_ok=True)
    for path in _built_names.glob("names-*.sqlite"):
        shutil.copyfile(path, target / path.name)


@pytest.fixture
def plain_npm_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """npm's defaults only: no user/global .npmrc, no npm_config_* from this machine."""
    for key in list(os.environ):
        if key.lower().startswith("npm_config_"):
            monkeypatch.delenv(key)
    empty = tmp_path / "empty-npmrc"
    empty.write_text("")
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(empty))
    monkeypatch.setenv("NPM_CONFIG_GLOBALCONFIG", str(empty))
