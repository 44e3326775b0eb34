"""Helpers for the hook tests: small v3 lockfiles and scratch git repositories."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

REGISTRY = "https://registry.npmjs.org/"


def fake_integrity(seed: str) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()


def lockfile_text(
    deps: Mapping[str, str],
    *,
    integrity: Mapping[str, str] | None = None,
    registry: str = REGISTRY,
    nested: Mapping[str, str] | None = None,
) -> str:
    """A v3 package-lock.json with ``deps`` (name -> version) at the top level and ``nested``
    (``parent/child`` -> version) under ``node_modules/parent/node_modules/child``."""
    integrity = integrity or {}
    packages: dict[str, object] = {
        "": {"name": "app", "version": "1.0.0", "dependencies": {n: v for n, v in deps.items()}}
    }

    def entry(name: str, version: str) -> dict[str, object]:
        base = name.rsplit("/", 1)[-1]
        return {
            "version": version,
            "resolved": f"{registry}{name}/-/{base}-{version}.tgz",
            "integrity": integrity.get(f"{name}@{version}", fake_integrity(f"{name}@{version}")),
        }

    for name, version in deps.items():
        packages[f"node_modules/{name}"] = entry(name, version)
    for path, version in (nested or {}).items():
        parent, child = path.split("/", 1)
        packages[f"node_modules/{parent}/node_modules/{child}"] = entry(child, version)
    doc = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True}
    doc["packages"] = packages
    return json.dumps(doc, indent=2) + "\n"


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for git that ignores the user's git config and identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "npm_config_"))}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    env.update(extra or {})
    return env


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=git_env(env),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def init_repo(repo: Path) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    return repo


def commit_all(repo: Path, message: str = "change") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")
