"""``npmguard db update`` / ``db info``, and ``npmguard check`` reading the imported feed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from feed_helpers import FIXTURES

from npmguard.cli import main


def test_info_before_anything_is_imported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "info"]) == 0
    out = capsys.readouterr().out
    assert "nothing imported; run `npmguard db update`" in out
    assert main(["db", "info", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] is False


def test_update_then_info(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = shared_data / "osv-samples" / "osv"
    assert main(["db", "update", "--from", str(samples)]) == 0
    err = capsys.readouterr().err
    assert "imported 3 records (1 withdrawn)" in err and "3 new" in err
    assert main(["db", "update", "--from", str(FIXTURES / "corrupt" / "osv")]) == 0
    err = capsys.readouterr().err
    assert "MAL-2099-0005.json: invalid JSON" in err and "1 unreadable" in err

    assert main(["db", "info"]) == 0
    out = capsys.readouterr().out
    assert "records:    4 (3 active, 1 withdrawn) for 4 package names, 2 tarball hashes" in out
    assert f"source:     {samples.resolve()} (directory)" in out
    assert "records   3 (1 withdrawn), newest record modified 2026-05-26T17:12:48Z" in out
    assert "seconds ago" in out
    assert "1 unreadable" in out

    assert main(["db", "info", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["records"], data["withdrawn"]) == (4, 1)
    assert {s["source"]: s["errors"] for s in data["sources"]} == {
        str(samples.resolve()): 0,
        str((FIXTURES / "corrupt" / "osv").resolve()): 1,
    }
    assert all(s["age_seconds"] < 600 for s in data["sources"])


def test_update_errors_exit_2_with_the_source_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "update", "--from", str(tmp_path / "missing")]) == 2
    assert f"npmguard: error: {tmp_path / 'missing'}: no such file" in capsys.readouterr().err
    args = ["db", "update", "--strict", "--from", str(FIXTURES / "corrupt" / "osv")]
    assert main(args) == 2
    assert "MAL-2099-0005.json: invalid JSON" in capsys.readouterr().err
    assert main(["db"]) == 2


LOCK = {
    "name": "app",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {"name": "app", "version": "1.0.0", "dependencies": {"@ctrl/tinycolor": "4.1.1"}},
        "node_modules/@ctrl/tinycolor": {
            "version": "4.1.1",
            "resolved": "https://registry.npmjs.org/@ctrl/tinycolor/-/tinycolor-4.1.1.tgz",
            "integrity": "sha512-" + "A" * 86 + "==",
        },
        "node_modules/left-pad": {
            "version": "1.3.0",
            "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "integrity": "sha512-" + "B" * 86 + "==",
        },
    },
}


def test_check_reads_the_imported_feed(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from npmguard.reputation.source import ReputationSource

    # the registry is not part of this test: the packument provider answers nothing
    monkeypatch.setattr(ReputationSource, "facts_for", lambda *a: {})
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps(LOCK, indent=2))
    (tmp_path / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    monkeypatch.setenv("npm_config_registry", "https://registry.npmjs.org/")

    assert main(["check", str(lock), "--format", "json", "-q"]) == 0  # no feed: silent
    capsys.readouterr()
    assert main(["db", "update", "-q", "--from", str(shared_data / "osv-samples" / "osv")]) == 0
    assert main(["check", str(lock), "--format", "json", "-q"]) == 1
    report = json.loads(capsys.readouterr().out)
    feed_findings = [f for f in report["findings"] if f["rule"] == "known-malicious"]
    assert [(f["package"], f["version"], f["level"]) for f in feed_findings] == [
        ("@ctrl/tinycolor", "4.1.1", "block")
    ]
    assert feed_findings[0]["evidence"][0]["value"] == "MAL-2025-47141"
    verdicts = {p["name"]: p["verdict"] for p in report["packages"]}
    assert verdicts["@ctrl/tinycolor"] == "block"


def test_an_unreachable_feed_url_is_a_network_error_not_a_broken_cache(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["db", "update", "--from", f"https://127.0.0.1:{port}/x.zip"]) == 3
    err = capsys.readouterr().err
    assert "HTTP cache" not in err  # the cache is fine; the host is not answering
    assert "127.0.0.1: unreachable: ConnectionError" in err
    assert "registry" not in err.split("hint:")[0]  # osv.dev is not a registry
