"""``npmguard explain NAME[@VERSION|RANGE|TAG]`` with no lockfile: which version it explains,
and clear errors for packages the registry does not have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main


@pytest.fixture
def registry(
    fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FakeRegistry:
    reg = fake_registry
    for version in ("1.0.0", "1.2.0", "2.0.0"):
        reg.add_version("pad", version)
    reg.add_version("pad", "3.0.0-beta.1", tag="next")
    monkeypatch.setenv("npm_config_registry", reg.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.chdir(tmp_path)  # no package-lock.json here
    return reg


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("pad", "pad@2.0.0"),
        ("pad@^1", "pad@1.2.0"),
        ("pad@1.0.x", "pad@1.0.0"),
        ("pad@next", "pad@3.0.0-beta.1"),
        ("pad@1.0.0", "pad@1.0.0"),
    ],
)
def test_version_range_and_tag(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str], spec: str, shown: str
) -> None:
    assert main(["explain", spec]) == 0
    assert capsys.readouterr().out.startswith(f"{shown}  verdict: ok")


def test_missing_package_is_a_clear_error(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "no-such-pkg"]) == 2
    err = capsys.readouterr().err
    assert f"no-such-pkg: no such package on {registry.url} (it answered 404)" in err
    assert "latest version" not in err


def test_range_nothing_matches(registry: FakeRegistry, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "pad@^9"]) == 2
    assert "pad@^9: no version on the registry is in that range (latest: 2.0.0)" in (
        capsys.readouterr().err
    )


def test_gone_version_is_explained_without_lockfile_noise(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["explain", "pad@1.1.0"])
    out = capsys.readouterr().out
    assert out.startswith("pad@1.1.0  verdict: block")
    assert "version-missing" in out
    # no lockfile was read: nothing about a lockfile's integrity or resolved URL
    assert "lock-no-integrity" not in out and "lock-" not in out


def test_package_not_in_the_lockfile_says_so(
    registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = {"lockfileVersion": 3, "packages": {"": {"name": "app", "version": "1.0.0"}}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    assert main(["explain", "pad@^1"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("pad@1.2.0  verdict: ok")
    assert "pad@^1 is not in" in err and "package-lock.json" in err


def test_a_version_never_published_is_not_called_removed(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["explain", "pad@99.0.0"])
    out = capsys.readouterr().out
    assert "pad@99.0.0 is not on the registry (never published, or removed)" in out
    assert "removed from the registry" not in out
    # no lockfile is involved: the version came from the command line
    assert "version: 99.0.0  [command line]" in out
    assert "[lockfile]" not in out and "locked version" not in out


def test_a_version_the_time_map_lists_was_removed(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = registry.packument("pad")
    assert doc is not None and "1.2.0" in doc["time"]
    del doc["versions"]["1.2.0"]  # pulled; npm keeps its publish time
    registry.set_packument("pad", doc)
    main(["explain", "pad@1.2.0"])
    out = capsys.readouterr().out
    assert "pad@1.2.0 was removed from the registry; 3 other versions remain" in out
    main(["explain", "pad@1.2.0", "--offline"])  # the same, from the facts cache
    assert "pad@1.2.0 was removed from the registry" in capsys.readouterr().out
