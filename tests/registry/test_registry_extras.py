"""Cache/data dirs, the bounded gunzip stream, mid-run cache failure, the fake registry's shape."""

from __future__ import annotations

import gzip
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from fakeregistry import FakeRegistry, build_tarball, sri_sha512

from npmguard import paths
from npmguard.registry.http import make_session
from npmguard.registry.npmrc import NpmConfig
from npmguard.registry.tarball import TarballError, _BoundedGunzip, read_tarball


def test_dirs_from_env_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("NPMGUARD_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("NPMGUARD_CONFIG_DIR", str(tmp_path / "e"))
    assert paths.cache_dir() == tmp_path / "c"
    assert paths.cache_dir(tmp_path / "flag") == tmp_path / "flag"
    assert paths.data_dir() == tmp_path / "d"
    assert paths.config_dir() == tmp_path / "e"
    for var in ("NPMGUARD_CACHE_DIR", "NPMGUARD_DATA_DIR", "NPMGUARD_CONFIG_DIR"):
        monkeypatch.delenv(var)
    assert paths.cache_dir().name == "npmguard"
    assert "npmguard" in str(paths.data_dir()) and "npmguard" in str(paths.config_dir())
    assert not (tmp_path / "c").exists()  # resolving a path creates nothing


def test_bounded_gunzip_stops_a_bomb_and_reads_multi_member_gzip() -> None:
    stream = _BoundedGunzip(gzip.compress(b"\0" * (2 * 1024 * 1024)), 1024 * 1024, "bomb@1")
    with pytest.raises(TarballError, match=r"^bomb@1: unpacks to more than 1 MB"):
        while stream.read(65536):
            pass
    two = _BoundedGunzip(gzip.compress(b"a" * 10) + gzip.compress(b"b" * 10) + b"\0" * 8, 100, "x")
    assert two.read() == b"a" * 10 + b"b" * 10


def test_tarball_with_trailing_zero_padding() -> None:
    data = build_tarball({"package/package.json": "{}"}) + b"\0" * 1024
    assert read_tarball(data).files == ("package.json",)


def test_cache_breaking_mid_run_warns_once(
    fake_registry: FakeRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    session = make_session(NpmConfig(registry=fake_registry.url), tmp_path)
    assert session.cache_enabled and session.cache_path == tmp_path / "http.sqlite"

    def broken(*args: Any, **kwargs: Any) -> requests.Response:
        raise sqlite3.DatabaseError("database disk image is malformed")

    session._cached.get = broken  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING, logger="npmguard"):
        for _ in range(3):
            assert session.get(fake_registry.url + "left-pad").status_code == 200
    assert not session.cache_enabled
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_fake_registry_shapes(fake_registry: FakeRegistry) -> None:
    reg = fake_registry
    reg.add_version("@s/p", "1.0.0", published="2021-05-01T10:00:00Z", attestations=True)
    reg.add_version("@s/p", "1.1.0", tag="next", maintainers=["bob"])
    session = requests.Session()
    for path in ("@s%2fp", "@s/p", "@s%2Fp"):
        doc = session.get(reg.url + path).json()
        assert doc["name"] == "@s/p"
    assert doc["dist-tags"] == {"latest": "1.0.0", "next": "1.1.0"}
    assert doc["time"]["1.0.0"] == "2021-05-01T10:00:00.000Z"
    v1 = doc["versions"]["1.0.0"]
    assert v1["dist"]["attestations"]["provenance"]["predicateType"].startswith("https://slsa")
    assert "attestations" not in doc["versions"]["1.1.0"]["dist"]
    assert {m["name"] for m in doc["maintainers"]} == {"alice", "bob"}
    tgz = session.get(v1["dist"]["tarball"]).content
    assert sri_sha512(tgz) == v1["dist"]["integrity"]
    assert v1["dist"]["fileCount"] == 2

    reg.remove_version("@s/p", "1.1.0")
    assert "1.1.0" not in session.get(reg.url + "@s%2fp").json()["versions"]
    reg.unpublish("@s/p")
    gone = session.get(reg.url + "@s%2fp").json()
    assert "versions" not in gone and gone["time"]["unpublished"]["versions"] == ["1.0.0"]
    assert session.get(reg.url + "nope").status_code == 404
    assert [r.method for r in reg.requests] == ["GET"] * len(reg.requests)
