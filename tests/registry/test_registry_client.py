"""The registry client against loopback registries: packuments, tarballs, token isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry, sri_sha512

from npmguard.registry.client import (
    PackumentResponse,
    RegistryClient,
    escape_name,
    unreachable_error,
)
from npmguard.registry.http import make_session
from npmguard.registry.npmrc import load_npm_config
from npmguard.registry.tarball import IntegrityError, TarballError, read_tarball

TOKEN = "npm_s3cretTOKENforB"


def _client(tmp_path: Path, npmrc: str, *, offline: bool = False) -> RegistryClient:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "package.json").write_text("{}")
    (project / ".npmrc").write_text(npmrc)
    env = {
        "npm_config_userconfig": str(tmp_path / "no-user-npmrc"),
        "npm_config_globalconfig": str(tmp_path / "no-global-npmrc"),
        "B_TOKEN": TOKEN,
    }
    config = load_npm_config(project, env=env)
    return RegistryClient(config, make_session(config, tmp_path / "cache", offline=offline))


@pytest.fixture
def second_registry() -> Iterator[FakeRegistry]:
    registry = FakeRegistry(token=TOKEN)
    with registry.serve():
        yield registry


def test_escape_name() -> None:
    assert escape_name("left-pad") == "left-pad"
    assert escape_name("@scope/name") == "@scope%2fname"


def test_packument_statuses(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    fake_registry.add_version("left-pad", "1.3.0", publisher="stevemao", scripts={"test": "tape"})
    fake_registry.add_version("@scope/name", "2.0.0", deprecated="use other")
    fake_registry.set_packument("broken", {"name": "broken"})
    client = _client(tmp_path, f"registry={fake_registry.url}")

    ok = client.get_packument("left-pad")
    assert ok.ok and ok.data is not None and ok.raw_size > 100
    doc = ok.data
    assert doc["dist-tags"] == {"latest": "1.3.0"}
    v = doc["versions"]["1.3.0"]
    assert v["_npmUser"]["name"] == "stevemao" and v["scripts"] == {"test": "tape"}
    assert v["dist"]["tarball"] == fake_registry.url + "left-pad/-/left-pad-1.3.0.tgz"
    assert set(doc["time"]) == {"created", "modified", "1.3.0"}

    scoped = client.get_packument("@scope/name")
    assert scoped.ok and scoped.data is not None
    assert scoped.data["versions"]["2.0.0"]["deprecated"] == "use other"
    assert fake_registry.requests[-1].path.lower() == "/@scope%2fname"  # urllib3 upper-cases %2f

    missing = client.get_packument("nope")
    assert missing.status == "not-found" and missing.http_status == 404 and missing.data is None
    assert client.get_packument("broken").ok


def test_http_errors_are_responses(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    fake_registry.fail(times=99, status=500)
    client = _client(tmp_path, f"registry={fake_registry.url}\nfetch-retries=0")
    result = client.get_packument("left-pad")
    assert result.status == "error" and result.http_status == 500 and not result.unreachable
    assert unreachable_error([result]) is None


def test_fetch_many_with_progress(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    names = [f"pkg-{i}" for i in range(40)]
    for name in names:
        fake_registry.add_version(name, "1.0.0")
    seen: list[tuple[int, int]] = []

    class Progress:
        def advance(self, done: int, total: int, message: str = "") -> None:
            seen.append((done, total))

    client = _client(tmp_path, f"registry={fake_registry.url}")
    results = client.fetch_many([*names, "missing", names[0]], max_workers=8, progress=Progress())
    assert list(results) == [*names, "missing"]
    assert all(results[n].ok for n in names) and results["missing"].status == "not-found"
    assert sorted(seen) == [(i, 41) for i in range(1, 42)]


def test_unreachable_registry_fails_fast_and_explains(tmp_path: Path) -> None:
    registry = FakeRegistry()
    url = registry.start()
    registry.stop()  # the port is closed now
    client = _client(tmp_path, f"registry={url}\nfetch-retries=0")
    results = client.fetch_many([f"p{i}" for i in range(10)], max_workers=2)
    assert all(r.unreachable for r in results.values())
    error = unreachable_error(results.values())
    assert error is not None and error.exit_code == 3
    assert str(error).startswith("p0, p1, p2 ...: 127.0.0.1: registry unreachable")
    assert "--offline" in error.hint


def test_offline_with_empty_cache(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    online = _client(tmp_path, f"registry={fake_registry.url}")
    assert online.get_packument("left-pad").ok
    online.session.close()
    offline = _client(tmp_path, f"registry={fake_registry.url}", offline=True)
    results = offline.fetch_many(["left-pad", "other"])
    assert results["left-pad"].ok and results["left-pad"].from_cache
    assert results["other"].not_cached and results["other"].status == "error"
    error = unreachable_error(results.values())
    assert error is not None and "--offline" in str(error)


def test_tarball_fetch_checks_integrity(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    entry = fake_registry.add_version("left-pad", "1.3.0", files={"index.js": "x", "tea.yaml": "y"})
    client = _client(tmp_path, f"registry={fake_registry.url}")
    url = fake_registry.tarball_url("left-pad", "1.3.0")
    data = client.get_tarball(url, entry.integrity, name="left-pad@1.3.0")
    assert read_tarball(data, integrity=entry.integrity).has_tea_yaml
    with pytest.raises(IntegrityError, match=r"^left-pad@1\.3\.0: integrity mismatch"):
        client.get_tarball(url, sri_sha512(b"other bytes"), name="left-pad@1.3.0")
    client.tarball_limit = 100
    with pytest.raises(TarballError, match="over the 0 MB limit"):
        client.get_tarball(url, entry.integrity)


def test_packument_integrity_differs_from_tarball(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    fake_registry.add_version("x", "1.0.0", integrity=sri_sha512(b"lies"))
    client = _client(tmp_path, f"registry={fake_registry.url}")
    doc = client.get_packument("x").data
    assert doc is not None
    dist = doc["versions"]["1.0.0"]["dist"]
    with pytest.raises(IntegrityError):
        client.get_tarball(dist["tarball"], dist["integrity"], name="x@1.0.0")


def test_token_only_reaches_its_own_registry(
    fake_registry: FakeRegistry, second_registry: FakeRegistry, tmp_path: Path
) -> None:
    """Server A (public) and server B (scope @private, needs a token) on two ports: A must
    never see B's token, even when B's packument points its tarball at A, or B redirects."""
    a, b = fake_registry, second_registry
    host_b = b.url.removeprefix("http:")
    a.add_version("left-pad", "1.3.0")
    a_entry = a.add_version("@private/moved", "1.0.0")
    b.add_version("@private/lib", "1.0.0")
    b.add_version(
        "@private/elsewhere",
        "1.0.0",
        files={"index.js": "x"},
        tarball_url=a.tarball_url("@private/moved", "1.0.0"),
        integrity=a_entry.integrity,
    )
    b.redirect("@private/redirected", a.url + "@private%2fmoved")
    client = _client(
        tmp_path,
        f"registry={a.url}\n@private:registry={b.url}\n{host_b}:_authToken=${{B_TOKEN}}\n",
    )
    assert TOKEN not in repr(client.config)

    results = client.fetch_many(
        ["left-pad", "@private/lib", "@private/elsewhere", "@private/moved"]
    )
    assert results["left-pad"].ok and results["@private/lib"].ok
    assert results["@private/elsewhere"].ok
    assert results["@private/moved"].registry == b.url  # scoped: asked of B, where it is absent
    doc = results["@private/elsewhere"].data
    assert doc is not None
    dist = doc["versions"]["1.0.0"]["dist"]
    assert dist["tarball"].startswith(a.url)
    client.get_tarball(dist["tarball"], dist["integrity"], name="@private/elsewhere@1.0.0")
    client.get_tarball(
        b.tarball_url("@private/lib", "1.0.0"),
        b.packages["@private/lib"].versions["1.0.0"].integrity,
        name="@private/lib@1.0.0",
    )
    redirected = client.session.get(b.url + "@private%2fredirected", registry=b.url)
    assert redirected.status_code == 200 and redirected.json()["name"] == "@private/moved"

    assert len(a.requests) == 3  # left-pad, the tarball, the redirect target
    assert all(r.authorization is None for r in a.requests), a.requests
    assert b.requests and all(r.authorization == f"Bearer {TOKEN}" for r in b.requests)
    assert all(r.headers.get("authorization") is None for r in a.requests)


def test_token_is_not_written_to_the_cache(second_registry: FakeRegistry, tmp_path: Path) -> None:
    b = second_registry
    b.add_version("@private/lib", "1.0.0")
    host_b = b.url.removeprefix("http:")
    client = _client(tmp_path, f"@private:registry={b.url}\n{host_b}:_authToken=${{B_TOKEN}}\n")
    assert client.get_packument("@private/lib").ok
    assert client.get_packument("@private/lib").from_cache
    client.session.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir() if p.is_file())
    assert b"@private/lib" in stored
    assert TOKEN.encode() not in stored


def test_map_packuments_keeps_only_what_extract_returns(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    for i in range(5):
        fake_registry.add_version(f"m{i}", f"1.{i}.0")
    client = _client(tmp_path, f"registry={fake_registry.url}")

    def latest(response: PackumentResponse) -> str | None:
        return response.data["dist-tags"]["latest"] if response.data else response.status

    result = client.map_packuments(["m0", "m1", "m4", "zz"], latest, max_workers=3)
    assert result == {"m0": "1.0.0", "m1": "1.1.0", "m4": "1.4.0", "zz": "not-found"}
    assert client.map_packuments([], latest) == {}
