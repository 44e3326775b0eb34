"""SARIF 2.1.0 output: rule metadata from the registry, results, locations, suppressions."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from report_samples import SECRET, build_report, sample_entries, sample_report
from snapshot_util import assert_snapshot

from npmguard.model import Level, Lockfile
from npmguard.report import render, sarif_format
from npmguard.rules import lockfile_integrity
from npmguard.rules.base import Rule, all_rules


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def lock_rules_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the registry to the lockfile-integrity family, so new rule families elsewhere do
    not churn the snapshot."""
    pinned = {
        cls.id: cls
        for cls in vars(lockfile_integrity).values()
        if isinstance(cls, type)
        and issubclass(cls, Rule)
        and getattr(cls, "family", None) == lockfile_integrity.FAMILY
    }
    ordered = {rid: cls for rid, cls in all_rules().items() if rid in pinned}
    monkeypatch.setattr(sarif_format, "all_rules", lambda: ordered)


def sarif(report: Any = None) -> dict[str, Any]:
    return json.loads(render(report or sample_report(), "sarif"))  # type: ignore[no-any-return]


def run_of(report: Any = None) -> dict[str, Any]:
    log = sarif(report)
    assert len(log["runs"]) == 1
    return log["runs"][0]  # type: ignore[no-any-return]


def test_snapshot(lock_rules_only: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in a monorepo's subfolder: locations are relative to the repository root."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "apps" / "web").mkdir(parents=True)
    monkeypatch.chdir(repo / "apps" / "web")
    text = render(sample_report(), "sarif")
    assert repo.resolve().as_uri() in text
    assert_snapshot("sample.sarif", text.replace(repo.resolve().as_uri(), "file:///REPO"))


def test_locations_are_relative_to_the_repository_root_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    web = repo / "apps" / "web"
    web.mkdir(parents=True)
    entries = sample_entries()
    for cwd, lock_path in (
        (web, Path("package-lock.json")),
        (repo, Path("apps/web/package-lock.json")),
        (tmp_path, web / "package-lock.json"),
    ):
        monkeypatch.chdir(cwd)
        lockfiles = (Lockfile(lock_path, "npm-v3", 3, tuple(p for p, _ in entries)),)
        run = run_of(build_report(entries, lockfiles=lockfiles))
        artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "apps/web/package-lock.json", "uriBaseId": "%SRCROOT%"}
        assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.resolve().as_uri() + "/"}}


def test_outside_a_repository_locations_are_relative_to_the_working_folder() -> None:
    run = run_of()
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "package-lock.json", "uriBaseId": "%SRCROOT%"}
    assert "originalUriBaseIds" not in run


def test_header_and_driver() -> None:
    log = sarif()
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "npmguard"
    assert driver["version"] == "0.1.0-test"
    # npmguard has no public home yet: no made-up informationUri or helpUri
    assert "informationUri" not in driver
    assert all("helpUri" not in rule for rule in driver["rules"])


def test_every_registry_rule_is_described() -> None:
    rules = run_of()["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    registry = all_rules()
    assert ids[: len(registry)] == list(registry)
    insecure = rules[ids.index("lock-insecure-url")]
    cls = registry["lock-insecure-url"]
    assert insecure["name"] == "LockInsecureUrl"
    assert insecure["shortDescription"]["text"] == cls.description
    assert insecure["help"]["markdown"].startswith(f"**{cls.description}**")
    assert insecure["defaultConfiguration"] == {"level": "error"}
    assert insecure["properties"]["family"] == "lockfile integrity"
    assert "lockfile-integrity" in insecure["properties"]["tags"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["lock-no-integrity"] == "warning"
    assert levels["lock-file-source"] == "note"


def test_level_mapping() -> None:
    assert [
        sarif_format.sarif_level(level)
        for level in (Level.BLOCK, Level.WARN, Level.INFO, Level.OFF)
    ] == [
        "error",
        "warning",
        "note",
        "none",
    ]


def test_rule_outside_the_registry_is_synthesised() -> None:
    run = run_of()
    rules = run["tool"]["driver"]["rules"]
    deny = [r for r in rules if r["id"] == "policy-deny"]
    assert len(deny) == 1
    assert deny[0]["defaultConfiguration"] == {"level": "error"}
    assert deny[0]["shortDescription"]["text"]
    odd = replace(sample_report().findings[0], rule="made-up-rule", level=Level.INFO)
    entries = sample_entries()
    entries[0] = (entries[0][0], (odd,))
    rules = run_of(build_report(entries))["tool"]["driver"]["rules"]
    made_up = [r for r in rules if r["id"] == "made-up-rule"]
    assert made_up and made_up[0]["name"] == "MadeUpRule"
    assert made_up[0]["defaultConfiguration"] == {"level": "note"}


def test_results_point_at_their_rule_and_line() -> None:
    run = run_of()
    rules = run["tool"]["driver"]["rules"]
    results = {r["ruleId"]: r for r in run["results"]}
    assert len(run["results"]) == 5
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"].endswith(".")
    http = results["lock-insecure-url"]
    assert http["level"] == "error"
    location = http["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "package-lock.json", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 12}
    assert http["locations"][0]["logicalLocations"] == [
        {"name": "evil-http", "fullyQualifiedName": "evil-http@1.0.0"}
    ]
    assert http["message"]["text"].startswith("evil-http@1.0.0: resolved over plain http")
    assert "What to do: use an https registry" in http["message"]["text"]
    assert http["properties"]["evidence"][1] == {
        "label": "lockfile entry",
        "value": "node_modules/evil-http",
        "source": "lockfile",
    }
    assert results["lock-no-integrity"]["level"] == "warning"
    assert results["lock-file-source"]["level"] == "note"


def test_unknown_line_falls_back_to_the_package_entry_then_line_one() -> None:
    results = {r["ruleId"]: r for r in run_of()["results"]}
    # the git package has no line at all: the whole lockfile
    assert results["lock-git-source"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1
    }
    entries = sample_entries()
    pkg, (finding,) = entries[1]
    entries[1] = (pkg, (replace(finding, line=None),))
    results = {r["ruleId"]: r for r in run_of(build_report(entries))["results"]}
    assert results["lock-no-integrity"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 20
    }


def test_allowed_findings_are_suppressed() -> None:
    results = {r["ruleId"]: r for r in run_of()["results"]}
    assert results["lock-git-source"]["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "vendored fork, reviewed by security",
        }
    ]
    assert "suppressions" not in results["lock-insecure-url"]


def test_fingerprints_are_stable_and_distinct() -> None:
    first = [r["partialFingerprints"] for r in run_of()["results"]]
    assert first == [r["partialFingerprints"] for r in run_of()["results"]]
    values = [fp[sarif_format.FINGERPRINT_KEY] for fp in first]
    assert len(set(values)) == len(values)
    f = sample_report().findings[0]
    assert sarif_format.fingerprint(f) == sarif_format.fingerprint(replace(f, line=99, message="x"))
    assert sarif_format.fingerprint(f) != sarif_format.fingerprint(replace(f, version="1.0.1"))


def test_lockfile_outside_the_working_directory_is_a_file_uri(tmp_path: Path) -> None:
    outside = tmp_path.parent / "other-project" / "package-lock.json"
    entries = sample_entries()
    lockfiles = (Lockfile(outside, "npm-v3", 3, tuple(p for p, _ in entries)),)
    result = run_of(build_report(entries, lockfiles=lockfiles))["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": outside.resolve().as_uri()}


def test_finding_without_a_lockfile_has_no_location() -> None:
    report = sample_report()
    stray = replace(report.findings[0], package="ghost", version="9.9.9")
    entries = sample_entries()
    lockfiles = (
        Lockfile(Path("a/package-lock.json"), "npm-v3", 3, ()),
        Lockfile(Path("b/package-lock.json"), "npm-v3", 3, ()),
    )
    report = build_report(entries, lockfiles=lockfiles)
    report = replace(report, findings=(*report.findings, stray))
    ghost = [r for r in run_of(report)["results"] if r["message"]["text"].startswith("ghost@")]
    assert ghost and "locations" not in ghost[0]


def test_credentials_redacted() -> None:
    assert SECRET not in render(sample_report(), "sarif")
