"""End to end through the CLI against the loopback registry: the known-bad rules, cold, warm
and offline checks, ``cache info/clear`` and ``explain``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry, build_tarball, sri_sha512

from npmguard.cli import main

BLOCKING = {
    "crossenv": "security-holder",
    "event-stream": "version-missing",
    "flatmap-stream": "removed-package",
    "gone-pkg": "removed-package",
    "tampered": "integrity-mismatch",
}


def _entry(reg: FakeRegistry, name: str, version: str, integrity: str) -> dict[str, Any]:
    return {
        "version": version,
        "resolved": f"{reg.url}{name}/-/{name}-{version}.tgz",
        "integrity": integrity,
    }


@pytest.fixture
def project(fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    reg = fake_registry
    files = {"index.js": "module.exports = function pad(s) { return s; };\n"}
    locks: dict[str, dict[str, Any]] = {}
    left = reg.add_version("left-pad", "1.3.0", files=files, published="2018-04-09T00:00:00Z")
    locks["left-pad"] = _entry(reg, "left-pad", "1.3.0", left.integrity)
    holder = reg.add_version(
        "crossenv",
        "0.0.2-security",
        description="security holding package",
        manifest={"repository": "npm/security-holder"},
        files={"README.md": "This package name is not currently in use.\n"},
        published="2017-08-01T00:00:00Z",
    )
    locks["crossenv"] = _entry(reg, "crossenv", "0.0.2-security", holder.integrity)
    for v, when in (("3.3.5", "2018-02-01"), ("3.3.6", "2018-09-09"), ("4.0.0", "2018-09-10")):
        got = reg.add_version("event-stream", v, files=files, published=f"{when}T00:00:00Z")
        if v == "3.3.6":
            locks["event-stream"] = _entry(reg, "event-stream", v, got.integrity)
    reg.remove_version("event-stream", "3.3.6")
    reg.set_packument(
        "flatmap-stream",
        {"_id": "flatmap-stream", "name": "flatmap-stream", "dist-tags": {}, "versions": {}},
    )
    locks["flatmap-stream"] = _entry(reg, "flatmap-stream", "0.1.1", "sha512-" + "A" * 86 + "==")
    locks["gone-pkg"] = _entry(reg, "gone-pkg", "1.0.0", "sha512-" + "B" * 86 + "==")  # 404
    reg.add_version("tampered", "1.0.0", files=files, published="2019-01-01T00:00:00Z")
    other = sri_sha512(build_tarball({"package/index.js": "evil()"}))
    locks["tampered"] = _entry(reg, "tampered", "1.0.0", other)

    lockfile = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {
                "name": "app",
                "version": "1.0.0",
                "dependencies": {n: e["version"] for n, e in locks.items()},
            },
            **{f"node_modules/{n}": e for n, e in locks.items()},
        },
    }
    (tmp_path / "package-lock.json").write_text(json.dumps(lockfile, indent=2))
    (tmp_path / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    monkeypatch.setenv("npm_config_registry", reg.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "package-lock.json"


def _check(lock: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
    code = main(["check", str(lock), "--format", "json", "-q", *extra])
    return code, json.loads(capsys.readouterr().out)


def _verdicts(report: Any) -> dict[str, str]:
    return {p["name"]: p["verdict"] for p in report["packages"]}


def test_known_bad_cold_warm_offline(
    project: Path, fake_registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    # offline with nothing cached: exit 3 and say what to do
    assert main(["check", str(project), "--offline", "-q"]) == 3
    err = capsys.readouterr().err
    assert "nothing cached" in err and "--offline" in err and "without --offline" in err
    assert fake_registry.requests == []

    code, cold = _check(project, capsys)
    assert code == 1
    by_rule = {(f["package"], f["rule"]) for f in cold["findings"] if f["level"] == "block"}
    for name, rule in BLOCKING.items():
        assert (name, rule) in by_rule, (name, rule)
    verdicts = _verdicts(cold)
    assert verdicts["left-pad"] != "block"
    assert {n for n, v in verdicts.items() if v == "block"} == set(BLOCKING)
    for f in cold["findings"]:
        if f["rule"] in BLOCKING.values():
            assert f["evidence"] and f["hint"], f
    missing = next(f for f in cold["findings"] if f["rule"] == "version-missing")
    assert "event-stream@3.3.5" in missing["hint"]
    assert {"label": "nearest version above", "value": "4.0.0", "source": "registry"} in missing[
        "evidence"
    ]

    fake_registry.clear_log()
    code, warm = _check(project, capsys)
    assert code == 1 and _verdicts(warm) == verdicts
    assert fake_registry.requests == []  # every fact came from the store

    code, offline = _check(project, capsys, "--offline")
    assert code == 1 and _verdicts(offline) == verdicts
    assert fake_registry.requests == []

    code, refreshed = _check(project, capsys, "--refresh")
    assert code == 1 and _verdicts(refreshed) == verdicts
    assert {r.path for r in fake_registry.requests} >= {"/left-pad", "/crossenv"}


def test_cache_info_clear_and_explain(
    project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["cache", "info"]) == 0
    assert "facts:    empty" in capsys.readouterr().out
    _check(project, capsys)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "6 packages" in out and "KB per package" in out

    assert main(["explain", "event-stream@3.3.6", "--lockfile", str(project), "--offline"]) == 0
    out = capsys.readouterr().out
    assert "event-stream@3.3.6  verdict: block" in out
    assert "version present:         no" in out
    assert "block version-missing" in out and "nearest version below: 3.3.5" in out
    assert "(read from the cache)" in out

    # not in the lockfile: a one-package tree, the latest version
    assert main(["explain", "left-pad", "--offline", "--lockfile", str(tmp_path / "x.json")]) == 2
    capsys.readouterr()
    assert main(["explain", "crossenv"]) == 0
    out = capsys.readouterr().out
    assert "crossenv@0.0.2-security  verdict: block" in out
    assert "description: security holding package" in out
    assert "repository: npm/security-holder" in out

    assert main(["cache", "clear"]) == 0
    capsys.readouterr()
    assert main(["check", str(project), "--offline", "-q"]) == 3


def test_policy_warn_on_unreachable(
    project: Path, fake_registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.parent / "npmguard.toml").write_text('[settings]\non-unreachable = "warn"\n')
    code = main(["check", str(project), "--offline", "--format", "json"])
    captured = capsys.readouterr()
    assert "on-unreachable = warn" in captured.err and "nothing cached" in captured.err
    report = json.loads(captured.out)
    # registry facts unknown: only what the lockfile alone shows blocks (the placeholder
    # version), and without the registry's confirmation
    assert code == 1
    assert {n for n, v in _verdicts(report).items() if v == "block"} == {"crossenv"}
    holder = next(f for f in report["findings"] if f["rule"] == "security-holder")
    assert "confirmed" not in holder["message"]
