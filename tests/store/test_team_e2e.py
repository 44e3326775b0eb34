"""``npmguard check`` on two machines sharing one team cache (a real Redis, the loopback
registry): the second fetches nothing, a poisoned entry never decides a verdict, Redis down is
one warning and the same verdict, and the policy refuses a committed password."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry, build_tarball, sri_sha512
from redisserver import BINARY, SKIP_REASON, RedisServer

from npmguard.cli import main
from npmguard.reputation import codec
from npmguard.store.redis import pack, unpack

NAMES: list[Path] = []


@pytest.fixture
def project(
    fake_registry: FakeRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    names_index: Path,
) -> Path:
    NAMES[:] = [names_index]
    default_cache = Path(os.environ["NPMGUARD_CACHE_DIR"])  # a test's own (conftest)
    default_cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(names_index, default_cache / names_index.name)
    reg = fake_registry
    packages: dict[str, dict[str, Any]] = {}
    for name in ("left-pad", "right-pad", "up-pad"):
        got = reg.add_version(name, "1.0.0", published="2019-01-01T00:00:00Z")
        packages[f"node_modules/{name}"] = {
            "version": "1.0.0",
            "resolved": f"{reg.url}{name}/-/{name}-1.0.0.tgz",
            "integrity": got.integrity,
        }
    lock = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "packages": {"": {"name": "app", "version": "1.0.0"}, **packages},
    }
    root = tmp_path / "app"
    root.mkdir()
    (root / "package-lock.json").write_text(json.dumps(lock))
    (root / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    monkeypatch.setenv("npm_config_registry", reg.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    return root


STDERR: list[str] = []


@pytest.fixture(scope="module")
def names_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The popular-names index built once (each machine would build its own, slowly)."""
    from npmguard.names.store import open_store

    folder = tmp_path_factory.mktemp("names")
    open_store(folder, prebuilt=False).close()
    [built] = folder.glob("names-*.sqlite")
    return built


def check(root: Path, machine: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The JSON report; what the run said on stderr goes to ``STDERR[-1]``."""
    capsys.readouterr()
    cache = root.parent / machine
    if not cache.exists():
        cache.mkdir()
        shutil.copy(NAMES[0], cache / NAMES[0].name)
    code = main(
        [
            "check",
            str(root / "package-lock.json"),
            "--format",
            "json",
            "--cache-dir",
            str(root.parent / machine),
        ]
    )
    assert code in (0, 1)
    said = capsys.readouterr()
    STDERR.append(said.err)
    report: dict[str, Any] = json.loads(said.out)
    return report


def findings(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["package"], f["rule"]) for f in report["findings"])


def packument_requests(reg: FakeRegistry) -> list[str]:
    return [r.path for r in reg.requests if not r.path.endswith(".tgz")]


def test_a_second_machine_fetches_nothing(
    project: Path,
    fake_registry: FakeRegistry,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_URL", redis_server.url)
    first = check(project, "ci-1", capsys)
    assert len(packument_requests(fake_registry)) == 3
    fake_registry.clear_log()
    second = check(project, "ci-2", capsys)
    assert fake_registry.requests == []  # no package document, no tarball
    assert findings(first) == findings(second) and first["verdict"] == second["verdict"]
    assert main(["cache", "info", "--cache-dir", str(project.parent / "ci-2")]) == 0
    out = capsys.readouterr().out
    assert f"team:     {redis_server.url} (read and write): 3 packages, 3 versions" in out


def test_a_poisoned_entry_never_decides_a_verdict(
    project: Path,
    fake_registry: FakeRegistry,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_URL", redis_server.url)
    clean = check(project, "ci-1", capsys)
    assert "integrity-mismatch" not in {rule for _, rule in findings(clean)}
    # someone with write access says left-pad@1.0.0 is other bytes, consistently
    admin = redis_server.admin()
    [key] = [k for k in admin.scan_iter(match="npmguard:facts:*:ver:*left-pad")]
    env = unpack(admin.hget(key, "1.0.0"), codec.FORMAT)
    assert env is not None
    other = sri_sha512(build_tarball({"package/index.js": "evil()"}))
    forged = replace(codec.decode_manifest(env.payload), dist_integrity=other)
    admin.hset(
        key, "1.0.0", pack(replace(env, payload=codec.encode_manifest(forged), integrity=other))
    )
    fake_registry.clear_log()
    second = check(project, "dev-1", capsys)
    assert findings(second) == findings(clean)  # no integrity-mismatch from the poison
    assert packument_requests(fake_registry) == ["/left-pad"]  # the registry was asked
    assert "held facts for other bytes" in STDERR[-1]
    repaired = unpack(admin.hget(key, "1.0.0"), codec.FORMAT)
    assert repaired is not None and repaired.integrity == env.integrity  # put right


@pytest.mark.skipif(BINARY is None, reason=SKIP_REASON)
def test_redis_down_is_one_warning_and_the_same_verdict(
    project: Path,
    fake_registry: FakeRegistry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with RedisServer() as server:
        monkeypatch.setenv("NPMGUARD_CACHE_URL", server.url_with_password)
        before = check(project, "ci-1", capsys)
    after = check(project, "ci-2", capsys)  # the server is gone
    assert STDERR[-1].count("team cache") == 1, STDERR[-1]
    assert findings(before) == findings(after) and before["verdict"] == after["verdict"]
    assert len(packument_requests(fake_registry)) == 6  # both fetched from the registry


def test_redis_down_warns_once_on_stderr(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_URL", "redis://127.0.0.1:1/0")
    check(project, "dev", capsys)
    assert STDERR[-1].count("team cache") == 1, STDERR[-1]


def test_a_password_in_the_policy_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text(
        '[settings]\ncache-url = "redis://ci:hunter2@cache.example:6379/0"\n'
    )
    assert main(["check", str(project / "package-lock.json"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "npmguard.toml:2" in err and "NPMGUARD_CACHE_PASSWORD" in err
    assert "hunter2" not in err


def test_a_bad_cache_url_in_the_environment_is_a_usage_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_URL", "memcached://cache.example:11211")
    assert main(["check", str(project / "package-lock.json"), "-q"]) == 2
    assert "not a redis:// or rediss:// URL" in capsys.readouterr().err


def test_the_policy_names_the_team_cache(
    project: Path, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """cache-url from the policy (the password from the environment, as the fixture sets)."""
    (project / "npmguard.toml").write_text(f'[settings]\ncache-url = "{redis_server.url}"\n')
    check(project, "ci-1", capsys)
    assert len(list(redis_server.admin().scan_iter(match="npmguard:facts:*:pkg:*"))) == 3
    assert main(["policy", "show", "--policy", str(project / "npmguard.toml")]) == 0
    assert redis_server.url in capsys.readouterr().out


def test_the_names_index_is_built_once_for_the_team(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from npmguard import app
    from npmguard.names import store as names_store
    from npmguard.names.snapshot import snapshot_key
    from npmguard.store.redis import SharedCache

    built: list[Path] = []

    def build(directory: Path) -> Any:  # stands in for the seconds-long build
        path = names_store.store_path(directory, snapshot_key())
        path.write_bytes(b"index bytes " * 1000)
        built.append(path)
        return type("Closed", (), {"close": lambda self: None})()

    monkeypatch.setattr(names_store, "open_store", build)
    monkeypatch.setattr(names_store, "prebuilt_path", lambda: None)  # an install without it
    for machine in ("ci-1", "ci-2", "ci-3"):
        (tmp_path / machine).mkdir()
        app._shared_names_index(
            SharedCache(redis_server.url, password="test-secret-0"), tmp_path / machine
        )
    assert len(built) == 1  # ci-2 and ci-3 took the team's copy
    name = built[0].name
    assert (tmp_path / "ci-3" / name).read_bytes() == built[0].read_bytes()
