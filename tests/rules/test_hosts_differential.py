"""Which server ``npm ci`` really downloads each entry from, against what npmguard reads.

Three loopback registries: A is the configured default registry, C the registry of the
``@sc`` scope, B an attacker's. The lockfile's entries write their ``resolved`` URLs in the
shapes parsers disagree on (rw-13), lock scoped packages to the wrong registry (rw-09), or name
another version's tarball (rw-02). Every entry is optional, so npm goes on past the ones it
cannot install; the registries' request logs say where each download went. npmguard must
predict that server for every entry npm fetched, and ``lock-host`` must fire exactly for the
entries npm fetched from a server other than the one it uses for that name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from npmoracle import needs_npm, npm, npm_env

from npmguard.cli import main
from npmguard.registry.npmrc import load_npm_config
from npmguard.urls import parse_url

pytestmark = [needs_npm, pytest.mark.npm]


def _port(reg: FakeRegistry) -> int:
    parsed = parse_url(reg.url)
    assert parsed is not None and parsed.port is not None
    return parsed.port


@pytest.fixture
def registries() -> Iterator[dict[str, FakeRegistry]]:
    started = {name: FakeRegistry() for name in "ABC"}
    for reg in started.values():
        reg.start()
    yield started
    for reg in started.values():
        reg.stop()


def _resolved(a: int, b: int) -> dict[str, str | None]:
    """Package name -> ``resolved``; None: no ``resolved`` (npm asks the registry)."""
    return {
        "p-plain": f"http://127.0.0.1:{a}/p-plain/-/p-plain-1.0.0.tgz",
        "p-backslash": f"http://127.0.0.1:{b}\\@127.0.0.1:{a}/p-backslash/-/p-backslash-1.0.0.tgz",
        "p-slashes": f"http:\\\\127.0.0.1:{b}\\p-slashes\\-\\p-slashes-1.0.0.tgz",
        "p-two-ats": f"http://x@127.0.0.1:{a}@127.0.0.1:{b}/p-two-ats/-/p-two-ats-1.0.0.tgz",
        "p-upper": f"HTTP://127.0.0.1:{b}/p-upper/-/p-upper-1.0.0.tgz",
        "p-short-ip": f"http://127.1:{b}/p-short-ip/-/p-short-ip-1.0.0.tgz",
        "p-hex-ip": f"http://0x7f.0.0.1:{b}/p-hex-ip/-/p-hex-ip-1.0.0.tgz",
        "p-tab": f"http://127.0.0.1:\t{b}/p-tab/-/p-tab-1.0.0.tgz",
        "p-newline": f"http://127.0.0.1:{a}\n/p-newline/-/p-newline-1.0.0.tgz",
        "p-fragment": f"http://127.0.0.1:{a}#@127.0.0.1:{b}/p-fragment/-/p-fragment-1.0.0.tgz",
        # replace-registry-host (default npmjs): npm fetches this from the configured registry
        "p-npmjs": "https://registry.npmjs.org/p-npmjs/-/p-npmjs-1.0.0.tgz",
        # rw-02: the entry says 1.0.0, the URL names 1.0.1
        "p-other-version": f"http://127.0.0.1:{a}/p-other-version/-/p-other-version-1.0.1.tgz",
        # rw-09: the scope's registry is C; the lockfile says A (or B)
        "@sc/q-default": f"http://127.0.0.1:{a}/@sc/q-default/-/q-default-1.0.0.tgz",
        "@sc/q-evil": f"http://127.0.0.1:{b}/@sc/q-evil/-/q-evil-1.0.0.tgz",
        "@sc/q-none": None,
        # npm reads a leading space as a file path and fetches nothing; Node's URL parser
        # trims it: npmguard judges the URL (the stricter reading)
        "p-space": f" http://127.0.0.1:{b}/p-space/-/p-space-1.0.0.tgz",
    }


def _project(tmp_path: Path, regs: dict[str, FakeRegistry]) -> tuple[Path, dict[str, str | None]]:
    resolved = _resolved(_port(regs["A"]), _port(regs["B"]))
    for name in resolved:
        for reg in regs.values():
            reg.add_version(name, "1.0.0")
            reg.add_version(name, "1.0.1", tag=None)
    deps = dict.fromkeys(resolved, "1.0.0")
    packages: dict[str, object] = {
        "": {"name": "app", "version": "1.0.0", "optionalDependencies": deps}
    }
    for name, url in resolved.items():
        entry: dict[str, object] = {"version": "1.0.0", "optional": True}
        if url is not None:
            entry["resolved"] = url
        packages[f"node_modules/{name}"] = entry
    root = tmp_path / "proj"
    root.mkdir()
    (root / "package.json").write_text(
        json.dumps({"name": "app", "version": "1.0.0", "optionalDependencies": deps})
    )
    lock = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True}
    (root / "package-lock.json").write_text(json.dumps({**lock, "packages": packages}, indent=2))
    (root / ".npmrc").write_text(f"registry={regs['A'].url}\n@sc:registry={regs['C'].url}\n")
    return root, resolved


def test_npmguard_predicts_the_server_npm_downloads_from(
    registries: dict[str, FakeRegistry],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rw-13, rw-09, rw-02 and their kinds: npm's real downloads are the oracle."""
    root, resolved = _project(tmp_path, registries)
    env = npm_env(tmp_path)
    done = npm(root, env, "ci", "--ignore-scripts")
    assert done.returncode == 0, done.stderr

    for key in list(os.environ):
        if key.lower().startswith("npm_config_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "home" / ".npmrc"))
    regs = load_npm_config(root).registries()
    by_port = {_port(reg): server for server, reg in registries.items()}
    predicted: dict[tuple[str, str], str] = {}  # (server, path requested) -> package
    server_of: dict[str, str] = {}
    for name, url in resolved.items():
        fetched = regs.fetched_from(url) if url else regs.registry_for(name)
        parsed = parse_url(fetched) if fetched else None
        assert parsed is not None and parsed.port is not None
        server_of[name] = by_port[parsed.port]
        if url is None:  # the packument, then the tarball it names
            predicted[(server_of[name], "/" + name.replace("/", "%2f"))] = name
            predicted[(server_of[name], f"/{name}/-/{name.rsplit('/', 1)[-1]}-1.0.0.tgz")] = name
        else:
            predicted[(server_of[name], parsed.pathname)] = name
    npm_requests = {(server, r.path) for server, reg in registries.items() for r in reg.requests}
    # every download npm made went where npmguard said it would
    assert npm_requests - set(predicted) == set()
    fetched_by_npm = {predicted[r] for r in npm_requests}
    # npm reads these two as file paths (a leading space, a newline) and downloads nothing;
    # npmguard judges the URL Node would parse: the stricter reading
    assert set(resolved) - fetched_by_npm == {"p-space", "p-newline"}
    assert (
        "A",
        "/p-other-version/-/p-other-version-1.0.1.tgz",
    ) in npm_requests  # rw-02: npm downloads the URL's version

    code = main(
        ["check", "--lockfile-only", "--format", "json", "-q", str(root / "package-lock.json")]
    )
    report = json.loads(capsys.readouterr().out)
    flagged = {f["package"] for f in report["findings"] if f["rule"] == "lock-host"}
    wrong = {n for n, s in server_of.items() if s != ("C" if n.startswith("@sc/") else "A")}
    assert flagged == wrong
    assert wrong == {
        "p-backslash",
        "p-slashes",
        "p-two-ats",
        "p-upper",
        "p-short-ip",
        "p-hex-ip",
        "p-tab",
        "@sc/q-default",
        "@sc/q-evil",
        "p-space",
    }
    versions = {f["package"] for f in report["findings"] if f["rule"] == "lock-version-mismatch"}
    assert versions == {"p-other-version"}
    assert code == 1
