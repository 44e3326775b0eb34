"""What ``npm ci --omit=...`` installs, against what npmguard keeps in scope (rw-16).

npm resolves a small tree from a loopback registry (``npm install --package-lock-only``), so
the lockfile's flags are npm's own: a production dependency with an optional peer that is
also a dev dependency (``devOptional``, the rw-16 shape), a package both a dev and an optional
dependency need (``devOptional`` again), dev-only, optional-only and peer packages. Then
``npm ci`` runs with each ``--omit`` combination and what lands in ``node_modules`` is the
oracle for :meth:`Occurrence.omitted_by`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from npmoracle import needs_npm, npm, npm_env

from npmguard.lockfile.npm import parse
from npmguard.model import Omit

pytestmark = [needs_npm, pytest.mark.npm]


def _publish(reg: FakeRegistry) -> None:
    reg.add_version(
        "prod-a",
        "1.0.0",
        dependencies={"shared": "^1.0.0"},
        manifest={
            "peerDependencies": {"peer-opt": "^1.0.0", "peer-req": "^1.0.0"},
            "peerDependenciesMeta": {"peer-opt": {"optional": True}},
        },
    )
    reg.add_version(
        "dev-a", "1.0.0", dependencies={"shared": "^1.0.0", "dev-only": "^1.0.0", "both": "^1.0.0"}
    )
    reg.add_version("opt-a", "1.0.0", dependencies={"opt-child": "^1.0.0", "both": "^1.0.0"})
    for name in ("shared", "dev-only", "opt-child", "both", "peer-opt", "peer-req"):
        reg.add_version(name, "1.0.0")


@pytest.fixture
def project(fake_registry: FakeRegistry, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    _publish(fake_registry)
    root = tmp_path / "proj"
    root.mkdir()
    manifest = {
        "name": "app",
        "version": "1.0.0",
        "dependencies": {"prod-a": "^1.0.0"},
        "devDependencies": {"dev-a": "^1.0.0", "peer-opt": "^1.0.0"},
        "optionalDependencies": {"opt-a": "^1.0.0"},
    }
    (root / "package.json").write_text(json.dumps(manifest))
    (root / ".npmrc").write_text(f"registry={fake_registry.url}\n")
    env = npm_env(tmp_path)
    done = npm(root, env, "install", "--package-lock-only", "--ignore-scripts")
    assert done.returncode == 0, done.stderr
    return root, env


def _installed(root: Path) -> set[str]:
    return {
        p.parent.relative_to(root).as_posix()
        for p in (root / "node_modules").glob("**/package.json")
        if p.parent.parent.name == "node_modules" and p.parent.name != ".bin"
    }


@pytest.mark.parametrize(
    "omit",
    [(), ("dev",), ("optional",), ("peer",), ("dev", "optional"), ("dev", "optional", "peer")],
    ids=lambda o: "+".join(o) or "nothing",
)
def test_npm_ci_installs_what_npmguard_keeps(
    project: tuple[Path, dict[str, str]], omit: tuple[str, ...]
) -> None:
    """rw-16: devOptional stays unless dev and optional are both omitted, as npm does it."""
    root, env = project
    lock = parse((root / "package-lock.json").read_bytes(), root / "package-lock.json")
    flags = {o.path: o for p in lock.packages for o in p.occurrences}
    # the shapes this test is about are really in npm's lockfile
    assert flags["node_modules/peer-opt"].dev_optional and not flags["node_modules/peer-opt"].dev
    assert flags["node_modules/both"].dev_optional and not flags["node_modules/both"].optional
    assert flags["node_modules/dev-only"].dev and flags["node_modules/opt-child"].optional
    assert flags["node_modules/peer-req"].peer
    done = npm(root, env, "ci", "--ignore-scripts", *(f"--omit={o}" for o in omit))
    assert done.returncode == 0, done.stderr
    wanted = Omit(dev="dev" in omit, optional="optional" in omit, peer="peer" in omit)
    ours = {path for path, occ in flags.items() if not occ.omitted_by(wanted)}
    assert ours == _installed(root)
