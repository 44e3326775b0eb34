"""typosquat: one slip from a popular name while unpopular itself, on the shipped data."""

from __future__ import annotations

from pathlib import Path

from rule_facts import context, locked, tree

from npmguard.model import Level
from npmguard.rules.base import all_rules
from npmguard.rules.typosquat import Typosquat

KNOWN = Path(__file__).resolve().parents[1] / "fixtures" / "names" / "known-typosquats.txt"


def run(*names: str, **options: object) -> list:
    lockfile = tree(*(locked(n, "1.0.0") for n in names))
    ctx = context(lockfile, {}, options={"typosquat": options} if options else None)
    return list(Typosquat().check(ctx))


def test_registered_warn() -> None:
    assert all_rules()["typosquat"] is Typosquat
    assert Typosquat.level is Level.WARN


def test_flags_slips_with_evidence_and_hint() -> None:
    findings = run("electorn", "lodash", "express")
    assert [f.package for f in findings] == ["electorn"]
    f = findings[0]
    assert "transposition" in f.message and "'electron'" in f.message
    labels = {e.label: e.value for e in f.evidence}
    assert labels["popular name"] == "electron"
    assert "fewer than" in labels["monthly downloads"]
    assert "if you meant 'electron'" in f.hint and 'rules = ["typosquat"]' in f.hint


def test_never_flags_popular_packages() -> None:
    # each is one edit from another popular name, and popular itself
    assert run("react-dom", "debug", "chalk", "semver", "minimist", "jest-util", "ws") == []


def test_popular_downloads_option() -> None:
    # "accept" (~250k a month) is one letter from "accepts" (~300M): popular itself
    assert run("accept") == []
    assert [f.package for f in run("accept", **{"popular-downloads": 0})] == ["accept"]


def test_target_threshold_option() -> None:
    assert run("mongose") != []
    assert run("mongose", **{"target-downloads": 10**12}) == []


def test_known_typosquats_from_write_ups() -> None:
    lines = [ln for ln in KNOWN.read_text().splitlines() if ln and not ln.startswith("#")]
    pairs = [tuple(ln.split("\t")) for ln in lines]
    findings = {f.package: f for f in run(*(name for name, _ in pairs))}
    hit = [name for name, target in pairs if name in findings]
    assert len(hit) / len(pairs) >= 0.75, sorted(set(n for n, _ in pairs) - set(hit))
    for name, target in pairs:
        if name in findings:
            assert f"'{target}'" in findings[name].message
