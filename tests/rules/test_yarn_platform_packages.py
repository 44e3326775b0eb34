"""Yarn Berry platform packages (``conditions: os=… & cpu=…``): yarn writes no checksum for
them, so lock-no-integrity leaves them alone, and the report's coverage says that the lockfile
pins no hash for them instead (found in review: 119 warnings on prettier's yarn.lock that no
command could fix, so ``npmguard:ci`` could never pass)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from npmguard.cli import main
from npmguard.coverage import YARN_UNPINNED
from npmguard.facts import ManifestFacts
from npmguard.lockfile import load_lockfile
from npmguard.model import LockedPackage, Occurrence, SourceKind
from npmguard.registry.npmrc import Registries
from npmguard.reputation.source import ReputationSource
from npmguard.reputation.store import FactsStore

SOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles" / "sources"
PRETTIER = "lockfiles/yarn-berry/prettier__prettier__4f84a934__yarn.lock.gz"
KIND_OF_CHECKSUM = (
    "  checksum: 10c0/7e34bc29d4b02c997f92f080de34ebb92033a96736bbb0bb2410e033a7e5ae"
    "6571f1fa37b2d7710018f95361473b816c604234197f4f203f9cf149d8ef1574d9\n"
)
TGZ_CHECKSUM = (
    "  checksum: 10c0/d4f1bd886b18b1e8853a00dcf83c8781feb4eb50e805644794fade4e1d69fd4194255e"
    "2869e101b581ca7f789f3370e4d3e05e724db5d12192d80ddf07729fd5\n"
)


@pytest.fixture(autouse=True)
def _plain_npm_config(
    plain_npm_config: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPMGUARD_CACHE_DIR", str(tmp_path / "cache"))


def _report(lockfile: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["check", str(lockfile), "--lockfile-only", "--format", "json", "--policy", "npmguard:ci"])
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def _berry(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    target = tmp_path / "project" / "yarn.lock"
    target.parent.mkdir(parents=True)
    shutil.copy(SOURCES / "yarn-berry-10" / "yarn.lock", target)
    text = target.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    target.write_text(text)
    return target


def _no_integrity(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule"] == "lock-no-integrity"]


def _unpinned_gap(report: dict[str, Any]) -> dict[str, Any] | None:
    return next((g for g in report["coverage"] if g["reason"] == YARN_UNPINNED), None)


def test_prettier_platform_packages_are_coverage_not_warnings(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's repro: 119 lock-no-integrity warnings on prettier's yarn.lock, all of them
    `conditions` entries yarn writes without a checksum; the gap names them instead."""
    lockfile = tmp_path / "yarn.lock"
    lockfile.write_bytes(gzip.decompress((shared_data / PRETTIER).read_bytes()))
    report = _report(lockfile, capsys)
    assert _no_integrity(report) == []
    gap = _unpinned_gap(report)
    assert gap is not None and gap["rules"] == ["lock-no-integrity"]
    # 120 entries have conditions: 118 platform packages and fsevents, whose `patch:` entry has
    # none but whose source entry (the same name@version) yarn pins with a checksum
    assert gap["packages"] == 118
    assert "@esbuild/aix-ppc64@0.28.1" in gap["examples"]


def test_conditional_entry_without_checksum_is_not_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = _berry(tmp_path, (KIND_OF_CHECKSUM, "  conditions: os=darwin & cpu=arm64\n"))
    assert load_lockfile(edited).by_key()["kind-of@3.2.2"].first.conditions == (
        "os=darwin & cpu=arm64"
    )
    report = _report(edited, capsys)
    assert _no_integrity(report) == []
    gap = _unpinned_gap(report)
    assert gap is not None and gap["examples"] == ["kind-of@3.2.2"]


def test_entry_without_checksum_or_conditions_still_warns_with_yarns_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Yarn writes a checksum for every other entry: a missing one is still a finding, and the
    hint is Berry's command, not npm's."""
    report = _report(_berry(tmp_path, (KIND_OF_CHECKSUM, "")), capsys)
    [finding] = _no_integrity(report)
    assert finding["package"] == "kind-of"
    assert "`yarn install --mode=update-lockfile`" in finding["hint"]
    assert "npm install" not in finding["hint"]
    assert _unpinned_gap(report) is None


def test_conditional_tarball_url_entry_still_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No registry integrity could ever check a tarball URL's bytes: not exempt."""
    edited = _berry(tmp_path, (TGZ_CHECKSUM, "  conditions: os=linux\n"))
    assert [f["package"] for f in _no_integrity(_report(edited, capsys))] == ["tgz-pkg"]


def test_conditional_checksum_entry_is_pinned_not_a_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry with conditions and a checksum (a patch source yarn must fetch) is pinned."""
    edited = _berry(tmp_path, (KIND_OF_CHECKSUM, KIND_OF_CHECKSUM + "  conditions: os=linux\n"))
    report = _report(edited, capsys)
    assert _no_integrity(report) == [] and _unpinned_gap(report) is None


def test_platform_package_bytes_are_checked_against_the_registry(tmp_path: Path) -> None:
    """Where npmguard reads such a package's tarball it verifies it against the registry's
    dist.integrity, the only hash there is, and downloads it from the registry yarn uses."""
    registry = "https://registry.example/"
    integrity = "sha512-" + "A" * 86 + "=="
    pkg = LockedPackage(
        "@esbuild/linux-x64",
        "0.28.1",
        SourceKind.REGISTRY,
        (
            Occurrence(
                "@esbuild/linux-x64@npm:0.28.1",
                "@esbuild/linux-x64",
                None,
                None,
                conditions="os=linux & cpu=x64",
            ),
        ),
    )
    src = ReputationSource(
        FactsStore.in_dir(tmp_path), config=Registries(default=registry), all_tarballs=True
    )
    tarball = f"{registry}@esbuild/linux-x64/-/linux-x64-0.28.1.tgz"
    manifest = ManifestFacts(dist_integrity=integrity, dist_tarball=tarball)
    assert src.tarball_target(pkg, manifest, None) == (integrity, tarball)
