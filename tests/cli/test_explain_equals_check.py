"""``explain NAME@VERSION`` reports what ``check`` reports for that package: both are built by
the one composition root (``npmguard.app.build``), so the feed, the name data, the lockfile
rules and the graph rules are the same for both. Checked over the reference lockfiles with an
imported feed (the case that drifted: explain never opened the feed)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from npmguard.cli import main

REFERENCE = ("webapp-456", "fullstack-1122")
VERDICT = re.compile(r"^(\S+)  verdict: (\w+)$", re.M)
FINDING = re.compile(r"^  (block|warn|info) ([a-z-]+): ", re.M)


def _record(name: str, version: str) -> dict[str, object]:
    return {
        "schema_version": "1.6.0",
        "id": f"MAL-TEST-{name.replace('/', '-')}",
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "summary": f"Malicious code in {name} (test record)",
        "affected": [{"package": {"ecosystem": "npm", "name": name}, "versions": [version]}],
    }


def _project(tmp_path: Path, shared_data: Path, ref: str) -> tuple[Path, dict[str, object]]:
    project = tmp_path / ref
    project.mkdir()
    lock = project / "package-lock.json"
    lock.write_bytes(
        gzip.decompress((shared_data / "bench" / f"{ref}.package-lock.json.gz").read_bytes())
    )
    (project / "package.json").write_bytes(
        (shared_data / "bench" / f"{ref}.package.json").read_bytes()
    )
    # no registry here: registry facts are unknown, which the policy lets pass with a warning
    (project / "npmguard.toml").write_text('[settings]\non-unreachable = "warn"\n')
    return project, json.loads(lock.read_text())


@pytest.mark.parametrize("ref", REFERENCE)
def test_explain_reports_what_check_reports(
    ref: str,
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project, doc = _project(tmp_path, shared_data, ref)
    entries = {k: v for k, v in doc["packages"].items() if k.startswith("node_modules/")}  # type: ignore[union-attr]
    keys = sorted(entries)
    # a feed that marks two real packages of this tree malicious
    marked = [keys[3], keys[len(keys) // 2]]
    feed = tmp_path / "feed" / "osv"
    feed.mkdir(parents=True)
    for path in marked:
        name = path.rsplit("node_modules/", 1)[1]
        record = _record(name, entries[path]["version"])
        (feed / f"{record['id']}.json").write_text(json.dumps(record))
    monkeypatch.chdir(project)
    assert main(["db", "update", "-q", "--from", str(feed)]) == 0

    assert main(["check", "--offline", "--format", "json", "-q"]) == 1  # the feed blocks
    report = json.loads(capsys.readouterr().out)
    verdicts = {f"{p['name']}@{p['version']}": p["verdict"] for p in report["packages"]}
    findings: dict[str, set[tuple[str, str]]] = {}
    for f in report["findings"]:
        findings.setdefault(f"{f['package']}@{f['version']}", set()).add((f["level"], f["rule"]))

    # every package with a finding, the two the feed marks, and a spread of clean ones
    chosen = set(findings) | {k for k, v in verdicts.items() if v != "ok"}
    chosen |= set(sorted(verdicts)[:: max(1, len(verdicts) // 8)])
    assert {k for k, fs in findings.items() if ("block", "known-malicious") in fs} == {
        f"{entries[p]['name'] if 'name' in entries[p] else p.rsplit('node_modules/', 1)[1]}"
        f"@{entries[p]['version']}"
        for p in marked
    }
    for key in sorted(chosen):
        assert main(["explain", key, "--offline", "-q"]) == 0
        text = capsys.readouterr().out
        shown = dict(VERDICT.findall(text))
        assert shown[key] == verdicts[key], key
        section = text[text.index(f"{key}  verdict:") :]
        section = section.split("\n\n\n", 1)[0]
        got = set(FINDING.findall(section.split("findings (", 1)[1]))
        assert got == findings.get(key, set()), key


def test_a_name_no_lockfile_has_gets_every_rule_that_judges_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`explain loadsh` in an empty folder: the name rules fire as they do for `npm install
    loadsh` (they used to be skipped with the lockfile rules)."""
    (tmp_path / "npmguard.toml").write_text('[settings]\non-unreachable = "warn"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["explain", "loadsh@4.17.21", "--offline", "-q"]) == 0
    text = capsys.readouterr().out
    assert "loadsh@4.17.21  verdict: warn" in text
    assert "warn typosquat: name is one transposition away from popular 'lodash'" in text
    assert "lock-" not in text  # the stand-in entry is ours: lockfile rules do not judge it
