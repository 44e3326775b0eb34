"""Against the real registry (run with --network): a tiny lockfile, cold then warm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npmguard.cli import main

REGISTRY = "https://registry.npmjs.org/"
LEFT_PAD = (
    "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/"
    "aVx2HrNcqQGsdot8ghrjyrvMCoEA=="
)
CROSSENV = (
    "sha512-Zet/ldwzo70I+vUnjM9yHCWo2iqK/RM2s2VnZDNPE/"
    "fN062UXYXGqu9Hd7HlhNVhnYGclPcjNoySWhug5lctHw=="
)


@pytest.mark.network
def test_real_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def entry(name: str, version: str, integrity: str) -> dict[str, str]:
        url = f"{REGISTRY}{name}/-/{name}-{version}.tgz"
        return {"version": version, "resolved": url, "integrity": integrity}

    lock = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/left-pad": entry("left-pad", "1.3.0", LEFT_PAD),
            "node_modules/crossenv": entry("crossenv", "0.0.2-security", CROSSENV),
        },
    }
    path = tmp_path / "package-lock.json"
    path.write_text(json.dumps(lock))
    monkeypatch.setenv("npm_config_registry", REGISTRY)
    for extra in ([], ["--offline"]):
        assert main(["check", str(path), "--format", "json", "-q", *extra]) == 1
        report = json.loads(capsys.readouterr().out)
        verdicts = {p["name"]: p["verdict"] for p in report["packages"]}
        assert verdicts["crossenv"] == "block" and verdicts["left-pad"] != "block"
        holder = [f for f in report["findings"] if f["rule"] == "security-holder"]
        assert holder and "confirmed" in holder[0]["message"]
