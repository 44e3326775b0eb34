"""The text report: grouping, order, evidence, colour, redaction, snapshot."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import SECRET, build_report, ok_report, package, sample_entries, sample_report
from snapshot_util import assert_snapshot

from npmguard.model import Lockfile, Report
from npmguard.report import render

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_snapshot() -> None:
    assert_snapshot("sample.txt", render(sample_report(), "text"))


def test_blocked_then_warnings_then_notes_then_count() -> None:
    text = render(sample_report(), "text")
    order = [
        text.index(h)
        for h in ("BLOCKED (2)", "WARNINGS (1)", "OK WITH NOTES (2)", "ok: 4 packages")
    ]
    assert order == sorted(order)
    assert text.index("POLICY NOTES") > order[-1]
    last = text.rstrip("\n").splitlines()[-1]
    assert last == "verdict: BLOCK: 7 packages, 2 blocked, 1 warned, 4 ok; 5 findings (1 allowed)"
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_finding_shows_rule_level_evidence_hint_and_allowed_reason() -> None:
    text = render(sample_report(), "text")
    assert "x lock-insecure-url [block] line 12" in text
    assert "integrity: (missing) [lockfile]" in text
    assert "what to do: run `npm install --package-lock-only` to record integrity" in text
    assert "~ lock-git-source [warn]" in text
    assert "allowed: vendored fork, reviewed by security" in text
    assert "expired-allow: allow entry for old-lib expired on 2025-01-01" in text
    assert "unused-allow: allow entry for unused-pkg" in text


def test_compact_paths_and_flags() -> None:
    text = render(sample_report(), "text")
    assert re.search(r"left-pad@1\.3\.0 +dev +left-pad; a > left-pad \(\+1 more\)", text)
    assert re.search(r"evil-http@1\.0\.0 +prod, install-script +evil-http", text)
    assert re.search(r"@scope/gitdep@2\.0\.0 +git, prod", text)


def test_alias_shown() -> None:
    from npmguard.model import Evidence, Finding, Level

    pkg = package("string-width", "4.2.3", installed_as="string-width-cjs", line=3)
    f = Finding(
        "lock-no-integrity",
        "string-width",
        "4.2.3",
        "no integrity",
        (Evidence("a", "b"),),
        level=Level.WARN,
    )
    text = render(build_report([(pkg, (f,))]), "text")
    assert "as string-width-cjs" in text
    assert "string-width-cjs" in text.split("WARNINGS")[1]


def test_credentials_never_printed() -> None:
    assert SECRET not in render(sample_report(), "text")
    assert SECRET not in render(sample_report(), "text", color=True)


def test_no_colour_unless_asked_and_same_text_with_colour_stripped() -> None:
    plain = render(sample_report(), "text")
    coloured = render(sample_report(), "text", color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31m" in coloured
    assert ANSI.sub("", coloured) == plain


def test_deterministic_whatever_the_input_order() -> None:
    entries = sample_entries()
    expected = render(sample_report(), "text")
    for seed in range(5):
        shuffled = entries[:]
        random.Random(seed).shuffle(shuffled)
        same = sample_report()
        report = build_report(shuffled, notes=same.notes, coverage=same.coverage)
        assert render(report, "text") == expected


def test_all_ok() -> None:
    text = render(ok_report(), "text")
    assert "BLOCKED" not in text and "WARNINGS" not in text
    assert "ok: 1 package with nothing to report" in text
    assert text.rstrip().endswith("verdict: OK: 1 package, 0 blocked, 0 warned, 1 ok; 0 findings")


def test_several_lockfiles_name_the_lockfile(tmp_path: Path) -> None:
    entries = sample_entries()
    first, second = entries[:3], entries[3:]
    lockfiles = (
        Lockfile(Path("app/package-lock.json"), "npm-v3", 3, tuple(p for p, _ in first)),
        Lockfile(
            tmp_path.parent / "elsewhere" / "npm-shrinkwrap.json",
            "npm-v2",
            2,
            tuple(p for p, _ in second),
        ),
    )
    text = render(build_report(entries, lockfiles=lockfiles), "text")
    assert "app/package-lock.json (npm-v3, 3 packages)" in text
    assert "app/package-lock.json: evil-http" in text
    outside = (tmp_path.parent / "elsewhere" / "npm-shrinkwrap.json").resolve().as_posix()
    assert f"{outside}: denied-pkg" in text


def test_finding_without_a_package_is_still_shown() -> None:
    report = sample_report()
    stray = replace(
        report.findings[0], package="ghost", version="9.9.9", message="tree-level finding"
    )
    report = Report(report.lockfiles, report.packages, (*report.findings, stray), report.verdict)
    text = render(report, "text")
    assert "OTHER FINDINGS (1)" in text
    assert "tree-level finding" in text


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(sample_report(), "xml")


def test_control_characters_in_a_lockfile_cannot_forge_report_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A package name with ESC sequences, a newline and a bidi override (a pull request's
    lockfile) printed them raw: it could erase lines and forge "verdict: OK" in a CI log
    (found in review). They are shown escaped."""
    import json

    from npmguard.cli import main

    name = "x\x1b[2K\x1b[1A\x1b[32mok: all good\x1b[0m\nverdict: OK\u202e"
    lock = {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "dependencies": {name: "1.0.0"}},
            f"node_modules/{name}": {
                "version": "1.0.0",
                "resolved": "http://203.0.113.9/x-1.0.0.tgz",
            },
        },
    }
    path = tmp_path / "package-lock.json"
    path.write_text(json.dumps(lock))
    assert main(["check", str(path), "--lockfile-only", "--color", "never"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2K" in out and "\\u202e" in out
    assert not any(line.startswith("verdict: OK") for line in out.splitlines())
