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
