"""ReputationSource: warm from the store, cold from the registry, offline, unreachable."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from npmguard.errors import ExitCode, RegistryError
from npmguard.facts import FactsStatus, Need, TarballFacts
from npmguard.model import LockedPackage, Occurrence, SourceKind
from npmguard.registry.http import UnreachableError
from npmguard.reputation.source import OFFLINE_MISSING, ReputationSource
from npmguard.reputation.store import DEFAULT_TTL, FactsStore

REG = "https://registry.example/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reputation"
PACKUMENT = frozenset({Need.PACKUMENT})
TARBALL = b"tarball bytes"
TARBALL_SRI = "sha512-" + base64.b64encode(hashlib.sha512(TARBALL).digest()).decode()


class Config:
    def registry_for(self, package_name: str) -> str:
        return REG

    def fetched_from(self, resolved: str) -> str | None:
        return resolved

    def allowed_hosts(self, package_name: str) -> tuple[str, ...]:
        return ()


class FakeResponse:
    def __init__(self, status_code: int, content: bytes = b"") -> None:
        self.status_code = status_code
        self.content = content
        self.headers = {"Content-Length": str(len(content))}

    def iter_content(self, size: int) -> Iterator[bytes]:
        yield self.content

    def close(self) -> None:
        pass


class FakeSession:
    """The RegistrySession surface the source uses: GET, serving dicts by name."""

    def __init__(self, client: FakeClient) -> None:
        self.client = client

    def get(self, url: str, **kw: Any) -> FakeResponse:
        if url.endswith(".tgz"):
            self.client.tarballs.append(url)
            return FakeResponse(200, TARBALL)
        name = url.removeprefix(REG).replace("%2f", "/")
        self.client.asked.append(name)
        if self.client.down:
            raise UnreachableError("registry.example: registry unreachable: connection refused")
        if name in self.client.docs:
            return FakeResponse(200, json.dumps(self.client.docs[name]).encode())
        return FakeResponse(404)


class FakeClient:
    """The RegistryClient surface ReputationSource uses."""

    def __init__(self, docs: dict[str, dict[str, Any]], *, down: bool = False) -> None:
        self.config = Config()
        self.session = FakeSession(self)
        self.docs = docs
        self.down = down
        self.asked: list[str] = []
        self.tarballs: list[str] = []
        self.tarball_limit = 1024 * 1024


def locked(name: str, version: str, integrity: str | None = "sha512-AAAA") -> LockedPackage:
    occ = Occurrence(f"node_modules/{name}", name, f"{REG}{name}/-/{name}-{version}.tgz", integrity)
    return LockedPackage(name, version, SourceKind.REGISTRY, (occ,))


def demo_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / "public-full.json").read_text())
    return doc


def source(
    tmp_path: Path, client: FakeClient | None = None, *, now: float = 1000.0, **kw: Any
) -> ReputationSource:
    def no_client() -> Any:
        raise AssertionError("the registry was asked on a path that must not need it")

    return ReputationSource(
        FactsStore.in_dir(tmp_path),
        client,  # type: ignore[arg-type]
        config=Config(),
        client_factory=no_client,
        now=lambda: now,
        **kw,
    )


def test_cold_then_warm_gives_the_same_facts(tmp_path: Path) -> None:
    client = FakeClient({"demo-cli": demo_doc()})
    pkgs = [locked("demo-cli", "1.0.0"), locked("demo-cli", "2.0.0"), locked("nope", "1.0.0")]
    cold = source(tmp_path, client).facts_for(pkgs, PACKUMENT)
    assert client.asked == ["demo-cli", "nope"]
    warm_src = source(tmp_path, now=1000.0 + DEFAULT_TTL - 1)  # no client at all
    warm = warm_src.facts_for(pkgs, PACKUMENT)
    assert warm_src.fetched == []
    for key in cold:
        a, b = cold[key], warm[key]
        assert (a.status, a.versions, a.manifest, a.dist_tags, a.version_present) == (
            b.status,
            b.versions,
            b.manifest,
            b.dist_tags,
            b.version_present,
        )
        assert not a.from_cache and b.from_cache
    f = warm["demo-cli@2.0.0"]
    assert f.status is FactsStatus.KNOWN and f.version_present is True
    assert f.manifest is not None and f.manifest.publisher == "mallory"
    assert f.latest == "2.0.0" and f.maintainers == ("alice", "bob")
    assert warm["nope@1.0.0"].status is FactsStatus.NOT_FOUND


def test_stale_pictures_and_refresh_fetch_again(tmp_path: Path) -> None:
    client = FakeClient({"demo-cli": demo_doc()})
    pkgs = [locked("demo-cli", "1.0.0")]
    source(tmp_path, client).facts_for(pkgs, PACKUMENT)
    stale = source(tmp_path, client, now=1000.0 + DEFAULT_TTL + 1)
    stale.facts_for(pkgs, PACKUMENT)
    assert stale.fetched == ["demo-cli"]
    forced = source(tmp_path, client, now=1001.0, refresh=True)
    forced.facts_for(pkgs, PACKUMENT)
    assert forced.fetched == ["demo-cli"]
    assert client.asked == ["demo-cli"] * 3


def test_a_newly_locked_version_fetches_once_a_missing_one_never(tmp_path: Path) -> None:
    client = FakeClient({"demo-cli": demo_doc()})
    source(tmp_path, client).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    again = source(tmp_path, client, now=1001.0)
    again.facts_for([locked("demo-cli", "1.1.0")], PACKUMENT)  # in the picture, no manifest yet
    assert again.fetched == ["demo-cli"]
    warm = source(tmp_path, now=1002.0)
    facts = warm.facts_for([locked("demo-cli", "1.1.0"), locked("demo-cli", "3.3.6")], PACKUMENT)
    assert warm.fetched == []  # 3.3.6 is not in the picture: nothing more to learn
    assert facts["demo-cli@3.3.6"].version_present is False
    assert facts["demo-cli@1.1.0"].manifest is not None


def test_offline_with_an_empty_cache_is_exit_3(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as err:
        source(tmp_path, offline=True).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    assert err.value.exit_code is ExitCode.UNREACHABLE
    assert "--offline" in str(err.value) and "without --offline" in err.value.hint


def test_offline_partial_cache_marks_the_rest_unknown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source(tmp_path, FakeClient({"demo-cli": demo_doc()})).facts_for(
        [locked("demo-cli", "1.0.0")], PACKUMENT
    )
    with caplog.at_level(logging.WARNING):
        facts = source(tmp_path, offline=True, now=1e12).facts_for(
            [locked("demo-cli", "1.0.0"), locked("other", "1.0.0")], PACKUMENT
        )
    assert facts["demo-cli@1.0.0"].status is FactsStatus.KNOWN  # however old, offline
    assert facts["other@1.0.0"].status is FactsStatus.UNKNOWN
    assert facts["other@1.0.0"].error == OFFLINE_MISSING
    assert "nothing cached" in caplog.text


def test_offline_empty_cache_with_policy_warn(tmp_path: Path) -> None:
    facts = source(tmp_path, offline=True, on_unreachable="warn").facts_for(
        [locked("demo-cli", "1.0.0")], PACKUMENT
    )
    assert facts["demo-cli@1.0.0"].status is FactsStatus.UNKNOWN


def test_unreachable_registry(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    down = FakeClient({}, down=True)
    with pytest.raises(RegistryError) as err:
        source(tmp_path, down).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    assert "connection refused" in str(err.value) and "on-unreachable" in err.value.hint
    warned = source(tmp_path, down, on_unreachable="warn").facts_for(
        [locked("demo-cli", "1.0.0")], PACKUMENT
    )
    assert warned["demo-cli@1.0.0"].status is FactsStatus.UNKNOWN
    # with something cached, however stale, the cached facts are used
    source(tmp_path, FakeClient({"demo-cli": demo_doc()})).facts_for(
        [locked("demo-cli", "1.0.0")], PACKUMENT
    )
    with caplog.at_level(logging.WARNING):
        stale = source(tmp_path, down, now=1e12).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    assert stale["demo-cli@1.0.0"].status is FactsStatus.KNOWN
    assert "using cached facts" in caplog.text


def test_tarballs_only_when_needed_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import npmguard.registry.tarball as tarball

    read: list[bytes] = []

    def fake_read(data: bytes, **kw: Any) -> TarballFacts:
        read.append(data)
        return TarballFacts(
            files=("index.js",), unpacked_size=10, has_tea_yaml=False, has_code=True
        )

    monkeypatch.setattr(tarball, "read_tarball", fake_read)
    doc = demo_doc()
    for version in doc["versions"].values():
        version["dist"]["integrity"] = TARBALL_SRI
    client = FakeClient({"demo-cli": doc})
    pkgs = [locked("demo-cli", "1.0.0", TARBALL_SRI)]
    facts = source(tmp_path, client).facts_for(pkgs, PACKUMENT)
    assert client.tarballs == [] and facts["demo-cli@1.0.0"].tarball is None
    both = frozenset({Need.PACKUMENT, Need.TARBALL})
    facts = source(tmp_path, client, now=1001.0).facts_for(pkgs, both)
    assert client.tarballs == [f"{REG}demo-cli/-/demo-cli-1.0.0.tgz"] and read == [TARBALL]
    assert facts["demo-cli@1.0.0"].tarball is not None
    warm = source(tmp_path, now=1002.0).facts_for(pkgs, both)  # from the store, no client
    assert warm["demo-cli@1.0.0"].tarball == facts["demo-cli@1.0.0"].tarball
    offline = source(tmp_path, offline=True).facts_for([locked("demo-cli", "2.0.0")], both)
    assert offline["demo-cli@2.0.0"].tarball is None


def test_only_registry_packages_and_only_registry_needs(tmp_path: Path) -> None:
    git = LockedPackage(
        "g", "1.0.0", SourceKind.GIT, (Occurrence("node_modules/g", "g", None, None),)
    )
    src = source(tmp_path)
    assert src.facts_for([git], PACKUMENT) == {}
    assert src.facts_for([locked("demo-cli", "1.0.0")], frozenset({Need.FEED})) == {}


def test_warm_path_imports_no_http_stack(tmp_path: Path) -> None:
    source(tmp_path, FakeClient({"demo-cli": demo_doc()})).facts_for(
        [locked("demo-cli", "1.0.0")], PACKUMENT
    )
    code = f"""
import sys
from collections.abc import Iterator
from pathlib import Path
from npmguard.facts import Need
from npmguard.model import LockedPackage, Occurrence, SourceKind
from npmguard.reputation.source import ReputationSource
from npmguard.reputation.store import FactsStore
class C:
    def registry_for(self, name): return {REG!r}
    def fetched_from(self, resolved): return resolved
    def allowed_hosts(self, name): return ()
occ = Occurrence("node_modules/demo-cli", "demo-cli", None, None)
src = ReputationSource(FactsStore.in_dir(Path({str(tmp_path)!r})), config=C(), now=lambda: 1001.0)
f = src.facts_for([LockedPackage("demo-cli", "1.0.0", SourceKind.REGISTRY, (occ,))],
                  frozenset({{Need.PACKUMENT}}))
assert f["demo-cli@1.0.0"].manifest is not None
print(sorted(m for m in ("requests", "requests_cache", "urllib3", "rich") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_damaged_rows_are_fetched_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient({"demo-cli": demo_doc()})
    source(tmp_path, client).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    import sqlite3

    db = sqlite3.connect(tmp_path / "facts.sqlite")
    db.execute("UPDATE package SET picture = X'00ff'")
    db.execute("UPDATE version SET manifest = X'00ff'")
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING):
        src = source(tmp_path, client, now=1001.0)
        facts = src.facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    assert src.fetched == ["demo-cli"] and "unreadable" in caplog.text
    assert facts["demo-cli@1.0.0"].status is FactsStatus.KNOWN
    assert facts["demo-cli@1.0.0"].manifest is not None  # the fresh one


def test_http_errors_fail_closed_unless_the_policy_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An error answer is no answer: on-unreachable decides, as for a registry that is down
    (issue 13: a 503 or a body that is not JSON used to give a warning and an ok verdict)."""
    client = FakeClient({})
    monkeypatch.setattr(client.session, "get", lambda url, **kw: FakeResponse(503))
    with pytest.raises(RegistryError, match=f"demo-cli: HTTP 503 from {REG}") as err:
        source(tmp_path, client).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)
    assert err.value.exit_code == 3 and 'on-unreachable = "warn"' in err.value.hint
    with caplog.at_level(logging.WARNING):
        facts = source(tmp_path, client, on_unreachable="warn").facts_for(
            [locked("demo-cli", "1.0.0")], PACKUMENT
        )
    assert facts["demo-cli@1.0.0"].status is FactsStatus.UNKNOWN
    assert facts["demo-cli@1.0.0"].error is not None
    assert facts["demo-cli@1.0.0"].error.startswith(f"HTTP 503 from {REG}")
    assert "demo-cli: HTTP 503" in caplog.text and "on-unreachable = warn" in caplog.text
    monkeypatch.setattr(client.session, "get", lambda url, **kw: FakeResponse(200, b"{nope"))
    with pytest.raises(RegistryError, match="not a JSON package document"):
        source(tmp_path, client).facts_for([locked("demo-cli", "1.0.0")], PACKUMENT)


def test_tarballs_come_from_where_npm_downloads_them(tmp_path: Path) -> None:
    """A lockfile naming the public registry with another registry configured: npm
    (replace-registry-host=npmjs, its default) downloads from the configured one, and so does
    npmguard (found in review: it asked the public registry, which npm never contacts)."""
    from npmguard.facts import ManifestFacts
    from npmguard.registry.npmrc import Registries

    src = ReputationSource(
        FactsStore.in_dir(tmp_path), config=Registries(default=REG), all_tarballs=True
    )
    public = "https://registry.npmjs.org/demo-cli/-/demo-cli-1.0.0.tgz"
    pkg = LockedPackage(
        "demo-cli",
        "1.0.0",
        SourceKind.REGISTRY,
        (Occurrence("node_modules/demo-cli", "demo-cli", public, TARBALL_SRI),),
    )
    target = src.tarball_target(pkg, ManifestFacts(dist_integrity=TARBALL_SRI), None)
    assert target == (TARBALL_SRI, f"{REG}demo-cli/-/demo-cli-1.0.0.tgz")
    never = Registries(default=REG, replace_host="never")
    src = ReputationSource(FactsStore.in_dir(tmp_path), config=never, all_tarballs=True)
    assert src.tarball_target(pkg, ManifestFacts(dist_integrity=TARBALL_SRI), None) == (
        TARBALL_SRI,
        public,
    )


def test_rows_are_written_while_documents_still_arrive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold run writes its rows every SAVE_EVERY packages (the encoded rows do not pile up
    until the last document); every row is there at the end and reads back the same."""
    import npmguard.reputation.source as source_module

    monkeypatch.setattr(source_module, "SAVE_EVERY", 7)
    docs = {}
    for i in range(30):
        doc = demo_doc()
        doc["name"] = f"demo-{i}"
        docs[f"demo-{i}"] = doc
    client = FakeClient(docs)
    pkgs = [locked(f"demo-{i}", "2.0.0") for i in range(30)] + [locked("gone", "1.0.0")]
    batches: list[int] = []
    save = FactsStore.save

    def counting(self: FactsStore, packages: Any = (), *args: Any, **kw: Any) -> None:
        packages = list(packages)
        batches.append(len(packages))
        save(self, packages, *args, **kw)

    monkeypatch.setattr(FactsStore, "save", counting)
    cold = source(tmp_path, client).facts_for(pkgs, PACKUMENT)
    assert len(batches) >= 4 and sum(batches) == 31  # 30 documents and one 404
    assert max(batches) <= 7  # however many documents were parsed at once
    warm_src = source(tmp_path, now=1000.0 + DEFAULT_TTL - 1)
    warm = warm_src.facts_for(pkgs, PACKUMENT)
    assert warm_src.fetched == []
    assert {k: (f.status, f.versions, f.manifest) for k, f in cold.items()} == {
        k: (f.status, f.versions, f.manifest) for k, f in warm.items()
    }
    assert warm["gone@1.0.0"].status is FactsStatus.NOT_FOUND


def test_a_scan_made_by_an_older_scanner_is_made_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tarball row whose install-script scan another scanner made (an upgrade changed
    ``scanner_key``) is scanned again on the next warm run and written back, so later runs
    read the stored scan instead of scanning on every run."""
    import npmguard.registry.tarball as tarball
    from npmguard.reputation import codec

    monkeypatch.setattr(
        tarball,
        "read_tarball",
        lambda data, **kw: TarballFacts(
            files=("package.json", "install.js"),
            unpacked_size=10,
            has_tea_yaml=False,
            has_code=True,
            texts={"package.json": '{"scripts": {"postinstall": "node install.js"}}'},
        ),
    )
    doc = demo_doc()
    for version in doc["versions"].values():
        version["dist"]["integrity"] = TARBALL_SRI
    pkgs = [locked("demo-cli", "1.0.0", TARBALL_SRI)]
    both = frozenset({Need.PACKUMENT, Need.TARBALL})
    with monkeypatch.context() as old:  # fetched and stored by another scanner
        old.setattr(codec, "scanner_key", lambda: "an older scanner")
        source(tmp_path, FakeClient({"demo-cli": doc})).facts_for(pkgs, both)
    with FactsStore.in_dir(tmp_path) as store:
        before = store.tarballs([TARBALL_SRI])[TARBALL_SRI]
    assert codec.decode_tarball_row(before).install_scan is None  # stale for this scanner

    encoded: list[int] = []
    encode = codec.encode_tarball
    monkeypatch.setattr(
        codec,
        "encode_tarball",
        lambda t: encoded.append(1) or encode(t),  # type: ignore[func-returns-value]
    )
    warm = source(tmp_path, now=1001.0).facts_for(pkgs, both)  # no client: from the store
    found = warm["demo-cli@1.0.0"].tarball
    assert found is not None and found.install_scan is not None and encoded == [1]
    with FactsStore.in_dir(tmp_path) as store:
        after = store.tarballs([TARBALL_SRI])[TARBALL_SRI]
    assert codec.decode_tarball_row(after) == found  # written back: the same facts, scanned
    again = source(tmp_path, now=1002.0).facts_for(pkgs, both)
    assert again["demo-cli@1.0.0"].tarball == found and encoded == [1]  # not scanned again
