"""Against the real registry npm is configured for (run with --network)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from npmguard.registry.client import RegistryClient
from npmguard.registry.http import make_session
from npmguard.registry.npmrc import load_npm_config
from npmguard.urls import normalise_registry


@pytest.mark.network
def test_left_pad_from_the_configured_registry(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not on PATH")
    expected = subprocess.run(
        [npm, "config", "get", "registry"], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.strip()
    config = load_npm_config(tmp_path)
    assert config.registry == normalise_registry(expected)
    client = RegistryClient(config, make_session(config, tmp_path / "cache"))
    result = client.get_packument("left-pad")
    assert result.ok and result.data is not None, result.error
    dist = result.data["versions"]["1.3.0"]["dist"]
    assert dist["integrity"].startswith("sha512-")
    data = client.get_tarball(dist["tarball"], dist["integrity"], name="left-pad@1.3.0")
    assert len(data) > 1000
    assert client.get_packument("left-pad").from_cache
