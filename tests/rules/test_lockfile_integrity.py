"""Tampering a real lockfile makes the right lockfile-integrity rule fire on the right package.

The lockfile is the 456-entry reference lockfile npm 11 resolved from the public registry;
each test changes one entry the way a lockfile-injection attack would and runs
``npmguard check --lockfile-only`` on it, in-process and through the console script.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from npmguard.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
INTEGRITY_RULES = {
    "lock-insecure-url",
    "lock-host",
    "lock-name-mismatch",
    "lock-version-mismatch",
    "lock-no-integrity",
    "lock-integrity-ambiguous",
    "lock-git-source",
    "lock-url-source",
    "lock-file-source",
}

Tamper = Callable[[dict[str, Any]], None]


@pytest.fixture(autouse=True)
def _plain_npm_config(plain_npm_config: None) -> None:
    """npm's defaults only (see tests/conftest.py), before any test's own npm settings."""


@pytest.fixture
def lockfile_doc(shared_data: Path) -> dict[str, Any]:
    raw = gzip.decompress((shared_data / "bench" / "webapp-456.package-lock.json.gz").read_bytes())
    doc: dict[str, Any] = json.loads(raw)
    return doc


def write(doc: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "package-lock.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--lockfile-only", "--format", "json", "-q", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    findings = [f for f in json.loads(out)["findings"] if f["rule"] in INTEGRITY_RULES]
    return code, findings


def entry(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value: dict[str, Any] = doc["packages"][key]
    return value


def plain_http(doc: dict[str, Any]) -> None:
    e = entry(doc, "node_modules/lodash")
    e["resolved"] = e["resolved"].replace("https://", "http://")


@pytest.fixture
def never_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    """``replace-registry-host=never``: npm fetches registry.npmjs.org URLs as written (by
    default it rewrites them to the configured registry, https included)."""
    monkeypatch.setenv("npm_config_replace_registry_host", "never")


def no_integrity(doc: dict[str, Any]) -> None:
    del entry(doc, "node_modules/ms")["integrity"]


def two_sha512(doc: dict[str, Any]) -> None:
    """npm accepts bytes matching either digest: the other tarball installs (found in review)."""
    e = entry(doc, "node_modules/ms")
    e["integrity"] += " sha512-" + "A" * 86 + "=="


def foreign_host(doc: dict[str, Any]) -> None:
    e = entry(doc, "node_modules/debug")
    e["resolved"] = e["resolved"].replace("registry.npmjs.org", "evil.example.com")


def renamed_path(doc: dict[str, Any]) -> None:
    e = entry(doc, "node_modules/chalk")
    e["resolved"] = "https://registry.npmjs.org/chalk-next/-/chalk-next-4.1.2.tgz"


@pytest.mark.parametrize(
    ("tamper", "rule", "package", "exit_code"),
    [
        (plain_http, "lock-insecure-url", "lodash@4.18.1", 1),
        (foreign_host, "lock-host", "debug@4.4.3", 1),
        (renamed_path, "lock-name-mismatch", "chalk@4.1.2", 1),
        # warn by default: reported, but warnings alone exit 0
        (no_integrity, "lock-no-integrity", "ms@2.1.3", 0),
        (two_sha512, "lock-integrity-ambiguous", "ms@2.1.3", 1),
    ],
)
@pytest.mark.usefixtures("never_replace")
def test_each_tamper_fires_its_rule_on_that_package(
    lockfile_doc: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Tamper,
    rule: str,
    package: str,
    exit_code: int,
) -> None:
    tamper(lockfile_doc)
    path = write(lockfile_doc, tmp_path / "project")
    code, findings = check(path, capsys)
    assert [(f["rule"], f"{f['package']}@{f['version']}") for f in findings] == [(rule, package)]
    assert code == exit_code
    # the finding points at the tampered entry's line
    (finding,) = findings
    lines = path.read_text().splitlines()
    name = package.rpartition("@")[0]
    assert lines[finding["line"] - 1].strip() == f'"node_modules/{name}": {{'


@pytest.mark.usefixtures("never_replace")
def test_all_tampers_together_block(
    lockfile_doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for tamper in (plain_http, no_integrity, foreign_host, renamed_path):
        tamper(lockfile_doc)
    path = write(lockfile_doc, tmp_path / "project")
    code, findings = check(path, capsys)
    assert code == 1
    assert sorted((f["rule"], f["package"]) for f in findings) == [
        ("lock-host", "debug"),
        ("lock-insecure-url", "lodash"),
        ("lock-name-mismatch", "chalk"),
        ("lock-no-integrity", "ms"),
    ]


def test_http_to_the_public_registry_is_fetched_over_https_by_npm(
    lockfile_doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """npm's replace-registry-host (default ``npmjs``) rewrites registry.npmjs.org URLs to the
    configured registry, scheme included: what npm fetches is https, so nothing to report."""
    plain_http(lockfile_doc)
    code, findings = check(write(lockfile_doc, tmp_path / "project"), capsys)
    assert (code, findings) == (0, [])


def test_console_script_exits_1_on_a_tampered_lockfile(
    lockfile_doc: dict[str, Any], tmp_path: Path
) -> None:
    exe = ROOT / ".venv" / "bin" / "npmguard"
    if not exe.exists():
        pytest.skip("no .venv/bin/npmguard")
    foreign_host(lockfile_doc)
    path = write(lockfile_doc, tmp_path / "project")
    proc = subprocess.run(
        [str(exe), "check", "--lockfile-only", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "evil.example.com" in proc.stdout
    assert "lock-host" in proc.stdout


def test_untampered_lockfile_is_clean(
    lockfile_doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, findings = check(write(lockfile_doc, tmp_path / "project"), capsys)
    assert (code, findings) == (0, [])


@pytest.mark.parametrize(
    "lockfile",
    [
        "npm-v2/hackmdio__codimd__b1188a56__package-lock.json.gz",  # *-cjs aliases
        "npm-v3/socketio__socket.io__d2d753fe__package-lock.json.gz",  # aliases, workspaces, git
        "npm-v1/hackmdio__codimd__97905860__package-lock.json.gz",  # v1 with a git dependency
    ],
)
def test_real_lockfiles_have_no_host_url_or_name_findings(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], lockfile: str
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "package-lock.json"
    path.write_bytes(gzip.decompress((shared_data / "lockfiles" / lockfile).read_bytes()))
    code, findings = check(path, capsys)
    rules = {f["rule"] for f in findings}
    assert not rules & {
        "lock-host",
        "lock-insecure-url",
        "lock-name-mismatch",
        "lock-integrity-ambiguous",
    }
    # workspaces are links, never registry packages, so they draw no source findings either
    assert {f["package"] for f in findings if f["rule"] == "lock-file-source"} == set()
    assert code == 0


def test_without_resolved_the_registry_npm_asks_is_judged(
    lockfile_doc: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """npm's omit-lockfile-registry-resolved: no `resolved`, npm fetches name@version from
    the registry for the name; a plain-http registry there is what travels in clear."""
    del entry(lockfile_doc, "node_modules/ms")["resolved"]
    path = write(lockfile_doc, tmp_path / "project")
    code, findings = check(path, capsys)
    assert (code, findings) == (0, [])
    monkeypatch.setenv("npm_config_registry", "http://mirror.example/")
    monkeypatch.setenv("npm_config_replace_registry_host", "never")
    code, findings = check(path, capsys)
    insecure = {f["package"] for f in findings if f["rule"] == "lock-insecure-url"}
    assert "ms" in insecure and code == 1
