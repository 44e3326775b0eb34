"""Parsing package documents in worker processes: same facts as in-process, failures survive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from npmguard.facts import FactsStatus, Need, PackageFacts
from npmguard.model import LockedPackage, Occurrence, SourceKind
from npmguard.reputation import source as source_module
from npmguard.reputation.source import ReputationSource
from npmguard.reputation.store import FactsStore
from npmguard.reputation.workers import ParserPool, Reduced, reduce_document

REG = "https://registry.example/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reputation"


def body(name: str = "public-full.json") -> bytes:
    return (FIXTURES / name).read_bytes()


def test_a_worker_gives_what_this_process_gives() -> None:
    pool = ParserPool(1, reduce_document)
    try:
        for fixture in ("public-full.json", "mirror-stripped.json", "unpublished.json"):
            wanted = ("1.0.0", "2.0.0")
            assert pool.reduce("demo-cli", body(fixture), wanted) == reduce_document(
                "demo-cli", body(fixture), wanted
            )
        bad = pool.reduce("demo-cli", b"{nope", ())
        assert bad[0] == "error" and bad[1] is not None and "not a JSON" in bad[1]
    finally:
        pool.close()


def test_a_dead_worker_falls_back_to_this_process() -> None:
    calls: list[str] = []

    def here(name: str, data: bytes, wanted: tuple[str, ...]) -> Reduced:
        calls.append(name)
        return reduce_document(name, data, wanted)

    pool = ParserPool(1, here)
    try:
        for worker in list(pool._all):
            worker.proc.kill()
            worker.proc.wait()
        got = pool.reduce("demo-cli", body(), ("2.0.0",))
        assert got == reduce_document("demo-cli", body(), ("2.0.0",))
        assert calls == ["demo-cli"] and pool._all == []
    finally:
        pool.close()


def test_a_document_the_worker_cannot_reduce_is_reduced_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected error in a worker is not swallowed: the document is parsed again here,
    where the error (if any) surfaces as it always did."""
    calls: list[str] = []

    def here(name: str, data: bytes, wanted: tuple[str, ...]) -> Reduced:
        calls.append(name)
        return ("ok", None, b"", {})

    pool = ParserPool(1, here)
    try:
        # an unhashable "wanted" version makes extract_package fail in the worker
        got = pool.reduce("demo-cli", body(), ([],))  # type: ignore[arg-type]
        assert got == ("ok", None, b"", {}) and calls == ["demo-cli"]
        assert len(pool._all) == 1  # the worker lives on
    finally:
        pool.close()


class _Config:
    def registry_for(self, package_name: str) -> str:
        return REG

    def fetched_from(self, resolved: str) -> str | None:
        return resolved

    def allowed_hosts(self, package_name: str) -> tuple[str, ...]:
        return ()

    def registries(self) -> _Config:  # as NpmConfig.registries() gives the per-name view
        return self


class _Response:
    def __init__(self, status_code: int, content: bytes = b"") -> None:
        self.status_code = status_code
        self.content = content
        self.headers = {"Content-Length": str(len(content))}

    def iter_content(self, size: int) -> Iterator[bytes]:
        yield self.content

    def close(self) -> None:
        pass


class _Client:
    def __init__(self, docs: dict[str, bytes]) -> None:
        self.config = _Config()
        self.session = self
        self.docs = docs

    def get(self, url: str, **kw: Any) -> _Response:
        name = url.removeprefix(REG)
        return _Response(200, self.docs[name]) if name in self.docs else _Response(404)


def _facts(tmp_path: Path, docs: dict[str, bytes]) -> dict[str, PackageFacts]:
    pkgs = [
        LockedPackage(
            name,
            "2.0.0",
            SourceKind.REGISTRY,
            (Occurrence(f"node_modules/{name}", name, f"{REG}{name}/-/{name}-2.0.0.tgz", None),),
        )
        for name in (*docs, "missing")
    ]
    src = ReputationSource(
        FactsStore.in_dir(tmp_path),
        _Client(docs),  # type: ignore[arg-type]
        now=lambda: 1000.0,
        on_unreachable="warn",  # "broken" is a registry fault: unknown facts, not a failed run
    )
    return dict(src.facts_for(pkgs, frozenset({Need.PACKUMENT})))


def test_cold_fetch_through_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = {
        f"pkg-{i}": json.dumps(json.loads(body()) | {"name": f"pkg-{i}"}).encode() for i in range(3)
    }
    docs["broken"] = b"{nope"
    threaded = _facts(tmp_path / "a", docs)
    monkeypatch.setattr(source_module, "PROCESS_MIN", 1)
    monkeypatch.setattr(source_module, "WARM_NAMES", False)
    pooled = _facts(tmp_path / "b", docs)
    assert pooled.keys() == threaded.keys()
    for key, facts in threaded.items():
        other = pooled[key]
        assert (other.status, other.versions, other.manifest, other.version_present) == (
            facts.status,
            facts.versions,
            facts.manifest,
            facts.version_present,
        ), key
    assert pooled["pkg-0@2.0.0"].status is FactsStatus.KNOWN
    assert pooled["missing@2.0.0"].status is FactsStatus.NOT_FOUND
