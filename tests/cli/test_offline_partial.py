"""``--offline`` with a partly warm cache: packages with no registry facts are counted as
not checked, not as ok, and ``explain`` says which rules could not judge a package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main


@pytest.fixture
def project(fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache warm for cached-a and cached-b; uncached-c is in the lockfile only later."""
    for name in ("cached-a", "cached-b", "uncached-c"):
        fake_registry.add_version(name, "1.0.0", published="2019-01-01T00:00:00Z")
    monkeypatch.setenv("npm_config_registry", fake_registry.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.chdir(tmp_path)
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps(fake_registry.lockfile(["cached-a", "cached-b"])))
    assert main(["check", "-q"]) == 0  # warms the cache
    lock.write_text(json.dumps(fake_registry.lockfile(["cached-a", "cached-b", "uncached-c"])))
    return tmp_path


def test_uncached_packages_are_counted_as_not_checked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["check", "--offline"]) == 0
    out = capsys.readouterr().out
    summary = out.strip().splitlines()[-1]
    assert "3 packages, 0 blocked, 0 warned, 2 ok, 1 not checked;" in summary
    assert "ok: 2 packages" in out and "1 not checked" in out
    assert main(["check", "--offline", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["ok"] == 3 and data["summary"]["not_checked"] == 1


def test_explain_names_the_rules_that_could_not_judge_a_package(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["explain", "--offline", "uncached-c"]) == 0
    out = capsys.readouterr().out
    part = out[out.index("not checked (") :]
    assert part.startswith("not checked (") and "no registry facts" in part
    assert "rules: " in part and "too-new" in part
    assert main(["explain", "--offline", "cached-a"]) == 0
    out = capsys.readouterr().out
    assert "no registry facts" not in out
