"""The real npm and Node as oracles: what they read, for differential tests.

Every helper runs Node or npm once for a whole batch of inputs and returns plain data, so a
test compares npmguard's reading with npm's in one subprocess call. npm runs with a throwaway
user config and cache (never the user's ``~/.npmrc``) and no network: ``npm ls
--package-lock-only`` reads only the lockfile, ``npm ci`` talks to loopback registries only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE = shutil.which("node")
NPM = shutil.which("npm")
needs_node = pytest.mark.skipif(NODE is None, reason="Node is not on PATH")
needs_npm = pytest.mark.skipif(NPM is None, reason="the real npm CLI is not on PATH")


def npm_module(name: str) -> Path | None:
    """A package bundled with npm (``ssri``, ``semver``): npm's own copy, or None."""
    candidates = [Path("/usr/lib/node_modules/npm/node_modules") / name]
    if NPM is not None:  # <prefix>/lib/node_modules/npm/bin/npm-cli.js
        real = Path(NPM).resolve()
        candidates += [parent / "node_modules" / name for parent in real.parents[:3]]
    return next((c for c in candidates if (c / "package.json").is_file()), None)


def run_node(script: str, data: Any) -> Any:
    """Run ``script`` with ``data`` as JSON on stdin; its stdout parsed as JSON."""
    assert NODE is not None
    result = subprocess.run(
        [NODE, "-e", script],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


_URL_SCRIPT = """
const inputs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const keys = ['href', 'protocol', 'username', 'password', 'hostname', 'port', 'pathname',
              'search', 'hash'];
console.log(JSON.stringify(inputs.map((s) => {
  try { const u = new URL(s); return Object.fromEntries(keys.map((k) => [k, u[k]])); }
  catch { return null; }
})));
"""


def node_urls(inputs: list[str]) -> list[dict[str, str] | None]:
    """``new URL(s)``'s parts for each input, or None where Node throws."""
    result: list[dict[str, str] | None] = run_node(_URL_SCRIPT, inputs)
    return result


def npm_env(tmp: Path, *npmrc_lines: str) -> dict[str, str]:
    """An environment where npm reads only ``tmp/home/.npmrc`` (``npmrc_lines``) as user
    config, caches under ``tmp``, and stays quiet."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".npmrc").write_text("".join(f"{line}\n" for line in npmrc_lines))
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.pop("CI", None)
    env.update(
        HOME=str(home),
        npm_config_userconfig=str(home / ".npmrc"),
        npm_config_cache=str(tmp / "npm-cache"),
        npm_config_update_notifier="false",
        npm_config_audit="false",
        npm_config_fund="false",
        npm_config_loglevel="error",
    )
    return env


def npm(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


def npm_ls(project: Path, env: dict[str, str]) -> dict[str, Any]:
    """``npm ls --all --json --long --package-lock-only`` in ``project`` (problems allowed)."""
    got = npm(project, env, "ls", "--all", "--json", "--long", "--package-lock-only")
    tree: dict[str, Any] = json.loads(got.stdout)
    return tree


def npm_ls_nodes(tree: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """Every node ``npm ls --long`` printed, by location relative to the project
    (``node_modules/a/node_modules/b``; workspace folders as ``packages/w``)."""
    out: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("dependencies", {}).values():
            if "path" in child:
                out.setdefault(Path(os.path.relpath(child["path"], root)).as_posix(), child)
            walk(child)

    walk(tree)
    return out
