"""One loopback registry for the wrapper's command tests, shared by the session.

Nothing publishes to it after it starts, so tests may share it; a test that needs a release
to appear later uses a registry of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from wrapper_support import MARKER_SCRIPT, Project, make_project


def _bin(name: str, says: str) -> dict[str, str]:
    return {f"{name}.js": f"#!/usr/bin/env node\nconsole.log({says!r}, ...process.argv.slice(2))\n"}


def build_registry() -> FakeRegistry:
    reg = FakeRegistry(max_age=0)
    reg.add_version("left-pad", "1.3.0", files={"index.js": "module.exports = (s) => s;\n"})
    # rw-11: debug pins ms 2.1.2; an override moves it to 2.1.3
    reg.add_version("ms", "2.1.2")
    reg.add_version("ms", "2.1.3")
    reg.add_version("debug", "4.3.4", dependencies={"ms": "2.1.2"})
    reg.add_version(
        "evil-pkg",
        "0.0.1-security",
        description="security holding package",
        manifest={"repository": {"type": "git", "url": "npm/security-holder"}},
        scripts={"postinstall": MARKER_SCRIPT},
        bin={"evil-pkg": "evil-pkg.js"},
        files=_bin("evil-pkg", "evil ran"),
    )
    reg.add_version("with-script", "1.0.0", scripts={"postinstall": MARKER_SCRIPT})
    reg.add_version("approved-script", "1.0.0", scripts={"postinstall": MARKER_SCRIPT})
    # rw-06: npx runs cowsay; --package=left-pad after it is cowsay's argument
    reg.add_version("cowsay", "1.0.0", bin={"cowsay": "cowsay.js"}, files=_bin("cowsay", "moo"))
    # npx -p pkg-a -p pkg-b a-bin: both are installed, pkg-b's postinstall must be approved
    reg.add_version("pkg-a", "1.0.0", bin={"a-bin": "a.js"}, files=_bin("a", "a ran"))
    reg.add_version("pkg-b", "1.0.0", scripts={"postinstall": MARKER_SCRIPT})
    # npx tool@2.0.0 while tool@1.0.0 is installed in the project
    reg.add_version("tool", "1.0.0", bin={"tool": "tool.js"}, files=_bin("tool", "tool 1.0.0"))
    reg.add_version(
        "tool",
        "2.0.0",
        bin={"tool": "tool.js"},
        files=_bin("tool", "tool 2.0.0"),
        scripts={"postinstall": MARKER_SCRIPT},
    )
    # npm init foo / npm create foo run create-foo
    reg.add_version(
        "create-foo",
        "1.0.0",
        bin={"create-foo": "create.js"},
        files=_bin("create", "create-foo ran"),
        scripts={"postinstall": MARKER_SCRIPT},
    )
    # a bundled dependency's postinstall: npm runs it, allowScripts cannot approve it
    reg.add_version("bundled-leaf", "1.0.0")
    leaf = {"name": "bundled-leaf", "version": "1.0.0", "scripts": {"postinstall": MARKER_SCRIPT}}
    bundler = {
        "name": "bundler-ok",
        "version": "1.0.0",
        "dependencies": {"bundled-leaf": "1.0.0"},
        "bundleDependencies": ["bundled-leaf"],
    }
    reg.add_version(
        "bundler-ok",
        "1.0.0",
        dependencies={"bundled-leaf": "1.0.0"},
        manifest={"bundleDependencies": ["bundled-leaf"]},
        files={
            "package.json": json.dumps(bundler),
            "node_modules/bundled-leaf/package.json": json.dumps(leaf),
        },
    )
    reg.add_version("dup-leaf", "1.0.0")
    reg.add_version("dup-leaf", "1.1.0")
    reg.add_version("dup-a", "1.0.0", dependencies={"dup-leaf": "^1.0.0"})
    return reg


@pytest.fixture(scope="session")
def shared_registry() -> Iterator[FakeRegistry]:
    reg = build_registry()
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def proj(tmp_path: Path, shared_registry: FakeRegistry) -> Project:
    return make_project(tmp_path, shared_registry.url)
