"""A real lockfile through the engine into every format (skipped until the npm reader exists)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from npmguard.engine import Engine
from npmguard.model import Verdict
from npmguard.policy.model import Policy
from npmguard.report import render

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "report" / "tampered" / "package-lock.json"
SCHEMA = ROOT / "npmguard" / "schemas" / "report.schema.json"


def test_tampered_lockfile_in_every_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(
        "npmguard.lockfile.npm", reason="the npm lockfile reader is not written yet"
    )
    from npmguard.lockfile import load_lockfile

    shutil.copy(FIXTURE, tmp_path / "package-lock.json")
    monkeypatch.chdir(tmp_path)
    lockfile = load_lockfile(Path("package-lock.json"))
    engine = Engine(Policy(), allowed_registries=("https://registry.npmjs.org/",))
    report = engine.run([lockfile])
    assert report.verdict is Verdict.BLOCK

    text = render(report, "text")
    assert "BLOCKED (1)" in text and "is-number@7.0.0" in text
    assert "lock-insecure-url" in text and "lock-no-integrity" in text

    doc = json.loads(render(report, "json"))
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    rules = {(f["rule"], f["package"]) for f in doc["findings"]}
    assert {("lock-insecure-url", "is-number"), ("lock-no-integrity", "left-pad")} <= rules

    sarif = json.loads(render(report, "sarif"))
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    region = results["lock-insecure-url"]["locations"][0]["physicalLocation"]["region"]
    lines = (tmp_path / "package-lock.json").read_text().splitlines()
    assert '"node_modules/is-number"' in lines[region["startLine"] - 1]
