"""The lockfile-integrity rules on pnpm, yarn and bun lockfiles, each in its own terms.

Each test takes a lockfile the real tool wrote (tests/fixtures/lockfiles/sources/), changes it
the way a lockfile-injection attack would, and runs ``npmguard check --lockfile-only``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rule_facts import context

from npmguard.cli import main
from npmguard.facts import ManifestFacts, PackageFacts
from npmguard.lockfile import load_lockfile
from npmguard.rules.known_bad import IntegrityMismatch

SOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles" / "sources"
SHARED_YARN = "lockfiles/yarn-v1/changesets__changesets__25c6d599__yarn.lock.gz"


@pytest.fixture(scope="module")
def _shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("npmguard-cache")


@pytest.fixture(autouse=True)
def _plain_npm_config(
    plain_npm_config: None, monkeypatch: pytest.MonkeyPatch, _shared_cache: Path
) -> None:
    # one cache for the module: the names index is built once, not once per test
    monkeypatch.setenv("NPMGUARD_CACHE_DIR", str(_shared_cache))


def _check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], folder: str, name: str, edit: Any = None
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    work = tmp_path / "project"
    work.mkdir(parents=True)
    target = work / name
    shutil.copy(SOURCES / folder / name, target)
    if edit is not None:
        old, new = edit
        text = target.read_text()
        assert old in text
        target.write_text(text.replace(old, new))
    main(
        [
            "check",
            str(target),
            "--lockfile-only",
            "--format",
            "json",
            "--policy",
            "npmguard:default",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in report["findings"]:
        found.setdefault((f["rule"], f["package"]), []).append(f)
    return found


def test_yarn_registry_host_is_npms_registry(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """yarn 1 writes registry.yarnpkg.com (its default, a proxy of registry.npmjs.org)."""
    import gzip

    lock = tmp_path / "yarn.lock"
    lock.write_bytes(gzip.decompress((shared_data / SHARED_YARN).read_bytes()))
    assert "registry.yarnpkg.com" in lock.read_text()
    assert main(["check", str(lock), "--lockfile-only", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []


def test_yarn_foreign_host_is_blocked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _check(
        tmp_path,
        capsys,
        "yarn-v1",
        "yarn.lock",
        ("https://registry.npmjs.org/kind-of/", "https://evil.example/kind-of/"),
    )
    (finding,) = found[("lock-host", "kind-of")]
    assert finding["level"] == "block"
    assert finding["line"] == 52  # the entry's key line in yarn.lock: `kind-of@^3.0.2:`
    assert ("lock-host", "is-odd") not in found


def test_yarn_sha1_in_resolved_counts_as_integrity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the tarball entry has no `integrity` line, only `#903ad1…` after its URL
    found = _check(tmp_path, capsys, "yarn-v1", "yarn.lock")
    assert ("lock-no-integrity", "tgz-pkg") not in found
    assert ("lock-url-source", "tgz-pkg") in found
    assert ("lock-git-source", "gitdep") in found
    stripped = _check(
        tmp_path / "2",
        capsys,
        "yarn-v1",
        "yarn.lock",
        ("tgz-pkg-3.0.0.tgz#903ad1bacb9060ed6269a77e0a4a7815dbfaa50a", "tgz-pkg-3.0.0.tgz"),
    )
    assert ("lock-no-integrity", "tgz-pkg") in stripped


def test_pnpm_registry_entry_with_a_foreign_tarball_is_blocked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pnpm writes no URL for registry packages; a `tarball` in the resolution points
    elsewhere, and is read as the entry's resolved URL."""
    old = "  is-odd@3.0.1:\n    resolution: {integrity: "
    evil = "http://evil.example/is-odd-3.0.1.tgz"
    new = f"  is-odd@3.0.1:\n    resolution: {{tarball: {evil}, integrity: "
    found = _check(tmp_path, capsys, "pnpm-9.0", "pnpm-lock.yaml", (old, new))
    assert {"lock-host", "lock-insecure-url"} <= {rule for rule, pkg in found if pkg == "is-odd"}
    assert found[("lock-host", "is-odd")][0]["line"] == 73  # `  is-odd@3.0.1:` in packages


def test_pnpm_tarball_without_integrity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # pnpm 8 records no hash for a tarball URL dependency: said, not hidden
    found = _check(tmp_path, capsys, "pnpm-6.0", "pnpm-lock.yaml")
    assert ("lock-no-integrity", "tgz-pkg") in found
    assert ("lock-url-source", "tgz-pkg") in found
    assert ("lock-file-source", "local-folder") in found
    assert not any(rule == "lock-no-integrity" and pkg != "tgz-pkg" for rule, pkg in found)


def test_berry_checksums_are_not_missing_integrity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _check(tmp_path, capsys, "yarn-berry-10", "yarn.lock")
    assert not any(rule == "lock-no-integrity" for rule, _ in found)
    without = _check(
        tmp_path / "2",
        capsys,
        "yarn-berry-10",
        "yarn.lock",
        (
            "  checksum: 10c0/7e34bc29d4b02c997f92f080de34ebb92033a96736bbb0bb2410e033a7e5ae"
            "6571f1fa37b2d7710018f95361473b816c604234197f4f203f9cf149d8ef1574d9\n",
            "",
        ),
    )
    assert [pkg for rule, pkg in without if rule == "lock-no-integrity"] == ["kind-of"]


def test_berry_checksum_is_never_compared_with_the_registry() -> None:
    """A Berry checksum hashes yarn's zip, not the tarball: unknown, never a mismatch."""
    lockfile = load_lockfile(SOURCES / "yarn-berry-10")
    pkg = next(p for p in lockfile.packages if p.name == "kind-of")
    facts = PackageFacts(
        name="kind-of",
        version="3.2.2",
        manifest=ManifestFacts(dist_integrity="sha512-" + "B" * 86 + "=="),
    )
    assert pkg.first.checksum and pkg.first.integrity is None
    ctx = context(lockfile, {pkg.key: facts})
    assert list(IntegrityMismatch().check_package(pkg, ctx)) == []


def test_pnpm_integrity_is_compared_with_the_registry() -> None:
    lockfile = load_lockfile(SOURCES / "pnpm-9.0")
    pkg = next(p for p in lockfile.packages if p.name == "kind-of")
    facts = PackageFacts(
        name="kind-of",
        version="3.2.2",
        manifest=ManifestFacts(dist_integrity="sha512-" + "B" * 86 + "=="),
    )
    (finding,) = IntegrityMismatch().check_package(pkg, context(lockfile, {pkg.key: facts}))
    assert "differs from the registry's" in finding.message
    assert finding.line == pkg.line == 77


def test_bun_custom_registry_is_its_tarball_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _check(
        tmp_path,
        capsys,
        "bun",
        "bun.lock",
        (
            '"lodash-alias": ["lodash@4.18.1", ""',
            '"lodash-alias": ["lodash@4.18.1", "https://evil.example/"',
        ),
    )
    (finding,) = found[("lock-host", "lodash")]
    assert "evil.example" in finding["message"]
    evidence = {e["label"]: e["value"] for e in finding["evidence"]}
    assert evidence["resolved"] == "https://evil.example/lodash/-/lodash-4.18.1.tgz"
