"""``npmguard check --as-of`` and ``explain --as-of`` against the loopback registry: the real
extractor, store and rules, judging as on a past date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main


def _lock(reg: FakeRegistry, entries: dict[str, tuple[str, dict[str, str]]]) -> dict[str, Any]:
    packages: dict[str, Any] = {
        "": {
            "name": "app",
            "version": "1.0.0",
            "dependencies": {n: v for n, (v, _) in entries.items()},
        }
    }
    for name, (version, deps) in entries.items():
        entry = reg.packages[name].versions[version]
        packages[f"node_modules/{name}"] = {
            "version": version,
            "resolved": reg.tarball_url(name, version),
            "integrity": entry.integrity,
            **({"dependencies": deps} if deps else {}),
        }
    return {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": packages}


@pytest.fixture
def project(
    fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FakeRegistry:
    """stream-lib: alice's package since 2016; 1.2.0 (2018-09-09 12:00) is mallory's first
    release, adding fresh-dep, which mallory created four days earlier. 2.0.0 (2019) later."""
    reg = fake_registry
    reg.add_version("stream-lib", "1.0.0", published="2016-01-10T00:00:00Z", publisher="alice")
    reg.add_version("stream-lib", "1.1.0", published="2016-07-08T00:00:00Z", publisher="alice")
    reg.add_version("fresh-dep", "1.0.0", published="2018-09-05T00:00:00Z", publisher="mallory")
    reg.add_version(
        "stream-lib",
        "1.2.0",
        published="2018-09-09T12:00:00Z",
        publisher="mallory",
        dependencies={"fresh-dep": "^1.0.0"},
    )
    reg.add_version("stream-lib", "2.0.0", published="2019-05-01T00:00:00Z", publisher="alice")
    lock = _lock(
        reg,
        {"stream-lib": ("1.2.0", {"fresh-dep": "^1.0.0"}), "fresh-dep": ("1.0.0", {})},
    )
    (tmp_path / "package-lock.json").write_text(json.dumps(lock, indent=2))
    (tmp_path / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    monkeypatch.setenv("npm_config_registry", reg.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.chdir(tmp_path)
    return reg


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--format", "json", "-q", *args])
    return code, json.loads(capsys.readouterr().out)


def _rules(report: dict[str, Any], package: str) -> dict[str, str]:
    return {f["rule"]: f["level"] for f in report["findings"] if f["package"] == package}


def test_as_of_an_hour_after_the_release_blocks_the_takeover(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _report(capsys, "--as-of", "2018-09-09T13:00Z")
    assert code == 1
    rules = _rules(report, "stream-lib")
    assert rules["new-dependency"] == "block"
    assert rules["publisher-change"] == "info" and rules["dormant-wake"] == "info"
    assert rules["too-new"] == "warn"  # an hour old then
    assert _rules(report, "fresh-dep")["new-package"] == "warn"  # four days old then
    # today the same lockfile is old news: no clock-bound finding, and no wake-up
    code, report = _report(capsys)
    rules = _rules(report, "stream-lib")
    assert "too-new" not in rules and "dormant-wake" not in rules


def test_a_maintainer_listed_before_is_no_change_of_hands(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # alice had added mallory as a maintainer before 1.1.0 was published
    project.packages["stream-lib"].versions["1.1.0"].maintainers = ["alice", "mallory"]
    code, report = _report(capsys, "--as-of", "2018-09-09T13:00Z")
    rules = _rules(report, "stream-lib")
    assert "publisher-change" not in rules
    assert rules["new-dependency"] == "warn"  # a brand-new dependency after a long quiet
    assert code == 0


def test_later_versions_are_invisible_to_explain(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "package-lock.json").unlink()
    assert main(["explain", "stream-lib", "--as-of", "2018-12-31"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stream-lib@1.2.0  verdict: ")  # the latest then, not 2.0.0
    assert "versions:                3" in out
    assert "as of:                   2018-12-31T23:59:59+00:00" in out
    assert main(["explain", "stream-lib"]) == 0
    assert capsys.readouterr().out.startswith("stream-lib@2.0.0  verdict: ok")


def test_a_locked_version_newer_than_the_date_is_unknown_not_missing(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _report(capsys, "--as-of", "2017-01-01")
    assert code == 0
    assert _rules(report, "stream-lib") == {}  # no version-missing, no takeover findings
    assert main(["explain", "stream-lib@1.2.0", "--as-of", "2017-01-01"]) == 0
    out = capsys.readouterr().out
    assert "stream-lib@1.2.0 was published 2018-09-09T12:00Z, after the --as-of moment" in out


@pytest.mark.parametrize(
    ("value", "message"),
    [("last tuesday", "is not a date (YYYY-MM-DD)"), ("2999-01-01", "is in the future")],
)
def test_bad_dates_are_usage_errors(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    assert main(["check", "--as-of", value]) == 2
    assert f"argument --as-of: '{value}' {message}" in capsys.readouterr().err


def test_the_moment_judged_is_recorded_in_every_report_format(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _report(capsys, "--as-of", "2019-01-01")
    assert report["as_of"] == "2019-01-01T23:59:59Z"
    assert main(["check", "-q", "--as-of", "2019-01-01"]) == code
    text = capsys.readouterr().out
    assert "as of 2019-01-01 23:59:59 UTC (--as-of)" in text.splitlines()[1]
    assert main(["check", "-q", "--format", "sarif", "--as-of", "2019-01-01"]) == code
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert run["properties"]["asOf"] == "2019-01-01T23:59:59Z"
    code, report = _report(capsys)  # judged as of now: said as null, not left out
    assert report["as_of"] is None


def test_as_of_on_a_registry_without_trustworthy_times_says_so(
    project: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("stream-lib", "fresh-dep"):  # a mirror's copy: first-seen times only
        doc = project.packument(name)
        assert doc is not None
        first_seen = {v: "2026-01-01T00:00:00.000Z" for v in doc["versions"]}
        versions = {
            v: {k: x for k, x in d.items() if k not in ("_npmUser", "maintainers")}
            for v, d in doc["versions"].items()
        }
        mirror = {"name": name, "dist-tags": doc["dist-tags"], "versions": versions}
        project.set_packument(name, {**mirror, "time": first_seen})
    _, report = _report(capsys, "--as-of", "2019-01-01")
    gaps = {g["reason"]: g for g in report["coverage"]}
    undated = [r for r in gaps if r.startswith("--as-of: the registry gives no trustworthy")]
    assert undated and gaps[undated[0]]["packages"] == 2
    assert "the registry gives no trustworthy publish times" in gaps
