"""Helpers for the wrapper tests: a throwaway npm project pointed at a loopback registry."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

NPM = shutil.which("npm")
needs_npm = pytest.mark.skipif(NPM is None, reason="the real npm CLI is not on PATH")

# A postinstall that leaves a marker file next to the project when it runs.
MARKER_SCRIPT = (
    "node -e \"require('fs').writeFileSync(require('path').join(process.env.INIT_CWD,"
    "'MARKER-'+process.env.npm_package_name.replace('/','_')),'ran')\""
)


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    registry_url: str
    extra_npmrc: list[str] = field(default_factory=list)

    def write_package_json(self, data: dict[str, Any]) -> None:
        (self.root / "package.json").write_text(json.dumps(data, indent=2) + "\n")

    def write_npmrc(self, *lines: str) -> None:
        body = [f"registry={self.registry_url}", *self.extra_npmrc, *lines]
        (self.root / ".npmrc").write_text("\n".join(body) + "\n")

    def write_policy(self, text: str) -> None:
        (self.root / "npmguard.toml").write_text(text)

    def guard(
        self, *args: str, input: str | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """``npmguard npm ARGS`` in the project, stdin not a terminal."""
        return subprocess.run(
            [sys.executable, "-m", "npmguard", "npm", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )

    def npm(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert NPM is not None
        return subprocess.run(
            [NPM, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=180
        )

    def snapshot(self) -> dict[str, str]:
        """Hashes of every file under the project (node_modules included)."""
        out = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(self.root).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
        return out

    def markers(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("MARKER-*"))

    def lock(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "package-lock.json").read_text())
        return data


def make_project(tmp_path: Path, registry_url: str) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".npmrc").write_text("")
    env = dict(os.environ)
    for key in list(env):
        if key.lower().startswith("npm_config_") or key in ("CI",):
            del env[key]
    env.update(
        {
            "HOME": str(home),
            "npm_config_userconfig": str(home / ".npmrc"),
            "npm_config_cache": str(tmp_path / "npm-cache"),
            "npm_config_update_notifier": "false",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
            "npm_config_loglevel": "error",
        }
    )
    project = Project(root=root, env=env, registry_url=registry_url)
    project.write_package_json({"name": "proj", "version": "1.0.0", "private": True})
    project.write_npmrc()
    return project
