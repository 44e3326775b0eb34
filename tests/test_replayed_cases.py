"""The failing cases rebuilt from public reports (``../shared/cases``), each with its right
answer: the inputs are copied under ``tests/fixtures/cases/<id>`` with ``REGISTRY_HOST`` as
``registry.npmjs.org``. The kinds of fault they stand for are covered by the differential
tests against npm itself (``tests/lockfile/test_npm_differential.py``, ``tests/test_urls.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main

CASES = Path(__file__).resolve().parent / "fixtures" / "cases"


@pytest.fixture(autouse=True)
def _plain_npm_config(plain_npm_config: None) -> None:
    """npm's defaults only (see tests/conftest.py)."""


def case(name: str, tmp_path: Path) -> Path:
    """A copy of the case's files in a fresh folder."""
    folder = tmp_path / name
    shutil.copytree(CASES / name, folder)
    return folder


def check(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code, report, _ = check_with_log(folder, capsys, "-q", *args)
    return code, report


def check_with_log(
    folder: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, Any, str]:
    """Exit code, JSON report and what went to stderr."""
    code = main(["check", "--format", "json", *args, str(folder / "package-lock.json")])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out), err


def rules_by_package(report: Any) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in report["findings"]:
        found.setdefault(f["package"], set()).add(f["rule"])
    return found


def test_rw13_backslash_host_is_the_host_npm_downloads_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-13: `https://evil.example\\@registry.npmjs.org/...` is a download from evil.example."""
    code, report = check(case("rw-13", tmp_path), capsys, "--lockfile-only")
    assert code == 1
    (host,) = [f for f in report["findings"] if f["rule"] == "lock-host"]
    assert host["package"] == "ms" and "evil.example" in host["message"]
    shown = {e["value"] for e in host["evidence"] if e["label"] == "resolved"}
    assert shown == {"https://evil.example/@registry.npmjs.org/ms/-/ms-2.1.2.tgz"}  # no ***


def test_rw09_scoped_package_from_the_public_registry_is_lock_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-09: with `@acme:registry=` private, an @acme entry from the public host is refused;
    the unscoped `ms` from the scope's registry is not where npm would get `ms` either."""
    code, report = check(case("rw-09", tmp_path), capsys, "--lockfile-only")
    assert code == 1
    assert rules_by_package(report) == {"@acme/internal-utils": {"lock-host"}, "ms": {"lock-host"}}
    scoped = next(f for f in report["findings"] if f["package"] == "@acme/internal-utils")
    assert "registry.npmjs.org" in scoped["message"] and "npm.acme.example" in scoped["message"]


def test_rw09_a_policy_registry_is_allowed_for_every_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = case("rw-09", tmp_path)
    (folder / "npmguard.toml").write_text(
        '[settings]\nallowed-registries = ["https://npm.acme.example/"]\n'
    )
    code, report = check(folder, capsys, "--lockfile-only")
    assert code == 1
    assert rules_by_package(report) == {"@acme/internal-utils": {"lock-host"}}


def test_rw05_git_over_clear_text_is_an_insecure_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-05: git:// and git+http:// sources get lock-insecure-url; git+ssh:// does not."""
    code, report = check(case("rw-05", tmp_path), capsys, "--lockfile-only")
    assert code == 1
    found = rules_by_package(report)
    assert found == {
        "eve": {"lock-git-source"},
        "lib-b": {"lock-git-source", "lock-insecure-url"},
        "lib-c": {"lock-git-source", "lock-insecure-url"},
    }


def test_rw02_resolved_to_another_version_is_seen_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-02: version 2.1.2 resolved to ms-2.1.3.tgz is lock-version-mismatch, lockfile only."""
    code, report = check(case("rw-02", tmp_path), capsys, "--lockfile-only")
    assert code == 1
    (f,) = report["findings"]
    assert (f["rule"], f["package"], f["version"]) == ("lock-version-mismatch", "ms", "2.1.2")
    assert "2.1.3" in f["message"]
    assert {"label": "version in URL", "value": "2.1.3", "source": "lockfile"} in f["evidence"]


def test_rw14_git_entry_without_version_is_checked_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-14: npm 11 writes git entries without `version`; the check goes on."""
    code, report = check(case("rw-14", tmp_path), capsys, "--lockfile-only")
    assert code == 0
    (pkg,) = report["packages"]
    assert (pkg["name"], pkg["version"], pkg["source"]) == ("noversion-lib", "", "git")
    assert rules_by_package(report) == {"noversion-lib": {"lock-git-source"}}


def test_rw16_dev_optional_is_checked_when_only_dev_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-16: include-dev = false keeps devOptional packages, as `npm ci --omit=dev` installs
    them; only leaving out optional too drops them."""
    folder = case("rw-16", tmp_path)
    _, report = check(folder, capsys, "--lockfile-only")
    names = {p["name"]: p for p in report["packages"]}
    assert set(names) == {"ws", "bufferutil", "node-gyp-build"}
    assert names["bufferutil"]["dev_optional"] and not names["bufferutil"]["dev"]
    policy = (folder / "npmguard.toml").read_text()
    (folder / "npmguard.toml").write_text(policy + "include-optional = false\n")
    _, report = check(folder, capsys, "--lockfile-only")
    assert {p["name"] for p in report["packages"]} == {"ws"}


def test_rw01_a_workspace_is_not_the_malicious_registry_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rw-01: a linked workspace named like a MAL- record's package is not blocked; a note
    says the name shadows a known-malicious registry package."""
    folder = case("rw-01", tmp_path)
    assert main(["db", "update", "--from", str(folder / "osv")]) == 0
    capsys.readouterr()
    code, report = check(folder, capsys)  # nothing on a registry: no registry is asked
    assert code == 0
    (f,) = [f for f in report["findings"] if f["rule"] == "known-malicious"]
    assert f["level"] == "info" and f["package"] == "@acme-tpl/auth"
    assert "local code" in f["message"] and "compromised" not in f["hint"]


def test_rw01_the_registry_package_of_that_name_is_still_blocked(
    fake_registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = case("rw-01", tmp_path)
    assert main(["db", "update", "--from", str(folder / "osv")]) == 0
    published = fake_registry.add_version("@acme-tpl/auth", "1.0.0")
    doc = json.loads((folder / "package-lock.json").read_text())
    doc["packages"]["node_modules/@acme-tpl/auth"] = {
        "version": "1.0.0",
        "resolved": fake_registry.tarball_url("@acme-tpl/auth", "1.0.0"),
        "integrity": published.integrity,
    }
    del doc["packages"]["packages/auth"]
    (folder / "package-lock.json").write_text(json.dumps(doc))
    (folder / ".npmrc").write_text(f"registry={fake_registry.url}\n")
    capsys.readouterr()
    code, report = check(folder, capsys)
    assert code == 1
    (f,) = [f for f in report["findings"] if f["rule"] == "known-malicious"]
    assert f["level"] == "block" and "compromised" in f["hint"]


def _refusing_registry(reg: FakeRegistry, folder: Path, *, refuse_all: bool) -> None:
    reg.add_version("axios", "1.14.1", published="2026-03-01T00:00:00Z")
    message = "forbidden by your security policy: plain-crypto-js@4.2.1 is malware"
    reg.fail(times=99, status=403, path="plain-crypto-js", error=message)
    if refuse_all:
        reg.fail(times=99, status=403, path="axios", error="403 Forbidden")
    text = (folder / "package-lock.json").read_text()
    (folder / "package-lock.json").write_text(text.replace("https://registry.npmjs.org/", reg.url))
    (folder / ".npmrc").write_text(f"registry={reg.url}\n")


def test_rw21_a_package_the_registry_refuses_is_blocked_with_its_message(
    fake_registry: FakeRegistry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rw-21: a 403 for one package while the registry serves others is a finding on that
    package, with the registry's message; no credentials hint."""
    folder = case("rw-21", tmp_path)
    _refusing_registry(fake_registry, folder, refuse_all=False)
    code, report, err = check_with_log(folder, capsys)
    assert code == 1
    (f,) = [f for f in report["findings"] if f["rule"] == "registry-refused"]
    assert f["package"] == "plain-crypto-js" and f["level"] == "block"
    said = {e["label"]: e["value"] for e in f["evidence"]}
    assert said["registry's message"].startswith("forbidden by your security policy")
    assert "credentials" not in err


def test_rw21_when_every_package_is_refused_it_is_a_credentials_problem(
    fake_registry: FakeRegistry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = case("rw-21", tmp_path)
    _refusing_registry(fake_registry, folder, refuse_all=True)
    # no facts at all: a registry fault, which fails closed unless the policy says warn
    # (issue 13); either way the hint is the credentials, never a refusal of one package
    assert main(["check", "-q", str(folder / "package-lock.json")]) == 3
    assert "check the credentials" in capsys.readouterr().err
    (folder / "npmguard.toml").write_text('[settings]\non-unreachable = "warn"\n')
    code, report, err = check_with_log(folder, capsys)
    assert code == 0  # unknown facts are warned about, never a block
    # nothing was served, so no refusal says anything about one package
    assert "registry-refused" not in {f["rule"] for f in report["findings"]}
    assert "check the credentials" in err


def test_rw21_refused_package_is_refused_again_with_a_warm_cache(
    fake_registry: FakeRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = case("rw-21", tmp_path)
    _refusing_registry(fake_registry, folder, refuse_all=False)
    check(folder, capsys)
    code, report = check(folder, capsys)  # axios now comes from the cache
    assert code == 1
    assert "registry-refused" in rules_by_package(report)["plain-crypto-js"]


def test_rwx1_a_relative_cache_dir_is_taken_from_the_current_folder(tmp_path: Path) -> None:
    """rw-x1: NPMGUARD_CACHE_DIR=.cache and --cache-dir .cache work (no exit 4)."""
    folder = case("rw-x1", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env["NPMGUARD_CACHE_DIR"] = ".cache"
    env["NPM_CONFIG_USERCONFIG"] = str(tmp_path / "empty-npmrc")
    for extra in ([], ["--cache-dir", ".cache2"]):
        done = subprocess.run(
            [sys.executable, "-m", "npmguard", "check", "--lockfile-only", *extra],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # the case's entry is resolved to another version's tarball: blocked, not crashed
        assert done.returncode == 1, done.stderr
        assert "internal error" not in done.stderr
        # the folder the check used (it writes nothing there: the names index is prebuilt)
        info = subprocess.run(
            [sys.executable, "-m", "npmguard", "cache", "info", *extra],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        where = folder / (extra[1] if extra else ".cache")
        assert f"location: {where}" in info.stdout, info.stdout + info.stderr
