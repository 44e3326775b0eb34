"""The JSON report: schema, documentation, cross references, stability, snapshot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_samples import SECRET, build_report, ok_report, sample_entries, sample_report
from snapshot_util import assert_snapshot

from npmguard.model import Lockfile
from npmguard.report import render
from npmguard.report.json_format import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "npmguard" / "schemas" / "report.schema.json"
DOC_PATH = ROOT / "docs" / "json-report.md"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def doc(report: Any = None) -> dict[str, Any]:
    return json.loads(render(report or sample_report(), "json"))  # type: ignore[no-any-return]


def test_snapshot() -> None:
    assert_snapshot("sample.json", render(sample_report(), "json"))


@pytest.mark.parametrize("make", [sample_report, ok_report, lambda: build_report([])])
def test_valid_against_the_shipped_schema(
    make: Any, validator: jsonschema.Draft202012Validator
) -> None:
    validator.validate(doc(make()))


def test_schema_rejects_what_it_should(validator: jsonschema.Draft202012Validator) -> None:
    bad = doc()
    bad["verdict"] = "maybe"
    bad["findings"][0]["level"] = "error"
    del bad["packages"][0]["name"]
    errors = {".".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad)}
    assert errors == {"verdict", "findings.0.level", "packages.0"}


def test_top_level_shape() -> None:
    d = doc()
    assert list(d) == [
        "schema_version",
        "tool",
        "verdict",
        "as_of",
        "lockfiles",
        "summary",
        "packages",
        "findings",
        "notes",
        "coverage",
    ]
    assert d["schema_version"] == SCHEMA_VERSION == "1.3"
    assert d["tool"] == {"name": "npmguard", "version": "0.1.0-test"}
    assert d["verdict"] == "block"
    assert d["as_of"] is None
    assert d["lockfiles"] == [
        {"path": "package-lock.json", "format": "npm-v3", "lockfile_version": 3, "packages": 7}
    ]
    assert d["summary"] == {
        "packages": 7,
        "block": 2,
        "warn": 1,
        "ok": 4,
        "not_checked": 0,
        "findings": 5,
        "allowed": 1,
    }
    assert [n["kind"] for n in d["notes"]] == ["expired-allow", "unused-allow"]


def test_packages_point_at_their_findings() -> None:
    d = doc()
    seen: list[int] = []
    for pkg in d["packages"]:
        for index in pkg["findings"]:
            finding = d["findings"][index]
            assert (finding["package"], finding["version"]) == (pkg["name"], pkg["version"])
            seen.append(index)
    assert sorted(seen) == list(range(len(d["findings"])))
    by_name = {p["name"]: p for p in d["packages"]}
    assert by_name["lodash"]["findings"] == []
    assert by_name["left-pad"]["paths"] == [
        "node_modules/left-pad",
        "node_modules/a/node_modules/left-pad",
        "node_modules/b/node_modules/left-pad",
    ]
    assert by_name["left-pad"]["dev"] is True
    assert by_name["string-width"]["aliases"] == ["string-width-cjs"]
    assert by_name["@scope/gitdep"]["verdict"] == "ok"


def test_finding_fields() -> None:
    findings = {f["rule"]: f for f in doc()["findings"]}
    allowed = findings["lock-git-source"]
    assert allowed["allowed"] is True
    assert allowed["allowed_reason"] == "vendored fork, reviewed by security"
    assert allowed["line"] is None
    assert allowed["level"] == "warn"
    http = findings["lock-insecure-url"]
    assert http["allowed"] is False and http["allowed_reason"] is None
    assert http["lockfile"] == "package-lock.json"
    assert http["line"] == 12
    assert http["evidence"][1] == {
        "label": "lockfile entry",
        "value": "node_modules/evil-http",
        "source": "lockfile",
    }
    assert http["hint"].startswith("use an https registry")


def test_order_is_stable_and_formatting_is_fixed() -> None:
    text = render(sample_report(), "json")
    assert text.endswith("}\n")
    assert '\n  "schema_version": "1.3",\n' in text  # indent 2
    shuffled = list(reversed(sample_entries()))
    same = sample_report()
    assert render(build_report(shuffled, notes=same.notes, coverage=same.coverage), "json") == text
    d = json.loads(text)
    keys = [(p["name"], p["version"]) for p in d["packages"]]
    assert keys == sorted(keys)


def test_credentials_redacted() -> None:
    text = render(sample_report(), "json")
    assert SECRET not in text
    assert "http://***@registry.example.com/evil-http/-/evil-http-1.0.0.tgz" in text


def test_lockfile_of_each_package_with_several_lockfiles() -> None:
    entries = sample_entries()
    lockfiles = (
        Lockfile(Path("a/package-lock.json"), "npm-v3", 3, tuple(p for p, _ in entries[:2])),
        Lockfile(Path("b/package-lock.json"), "npm-v1", 1, tuple(p for p, _ in entries[2:])),
    )
    d = doc(build_report(entries, lockfiles=lockfiles))
    where = {p["name"]: p["lockfile"] for p in d["packages"]}
    assert where["evil-http"] == "a/package-lock.json"
    assert where["lodash"] == "b/package-lock.json"
    assert [p["lockfile"] for p in d["packages"]] == sorted(p["lockfile"] for p in d["packages"])
    assert {f["package"]: f["lockfile"] for f in d["findings"]}[
        "denied-pkg"
    ] == "b/package-lock.json"


def _schema_fields(schema: dict[str, Any]) -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return names


def test_every_field_is_documented() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    text = DOC_PATH.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    missing = _schema_fields(schema) - documented
    assert not missing, f"{DOC_PATH.name} does not document: {sorted(missing)}"
    assert "`schema_version`" in text and f'"{SCHEMA_VERSION}"' in text
