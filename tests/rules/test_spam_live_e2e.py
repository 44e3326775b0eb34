"""A live flood end to end: campaign-shaped packages that still install, served with real
packuments and tarballs on the loopback registry, checked by ``npmguard check``.

The flood is one account's burst (one publisher, seconds apart, one template per account):
an app template, a stub, a tea.yaml, and a package whose own name passes the name rule. The
controls are a monorepo release (one publisher, one burst, one template, ordinary names) and an
old library. The same tree is checked against the public registry's document shape and against
the stripped mirror's (no publishers, no real times), where those facts are unknown.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main

NOW = datetime.now(timezone.utc)
# made-up names in the campaign's shapes, not from the tracker's list
FLOOD = ["sari-kupat12-lomba", "andi-rendang34-lomba", "tuvasi-ga3mobu-kelo", "kelo-util"]
CONTROLS = ["@acme/button", "@acme/dialog", "@acme/theme", "left-pad"]
TEA = "---\nversion: 1.0.0\ncodeOwners:\n  - '0x" + "3f" * 20 + "'\nquorum: 1\n"
NEXT_APP = {
    "README.md": "This is a Next.js project bootstrapped with create-next-app.\n",
    "next.config.js": "module.exports = {};\n",
    "app/page.tsx": "export default function Home() { return <main/>; }\n",
}


class Mirror(FakeRegistry):
    """Packuments as the stripped mirror serves them: no publishers, first-seen times only."""

    def packument(self, name: str) -> dict[str, Any] | None:
        doc = super().packument(name)
        if doc is None:
            return None
        for version in doc["versions"].values():
            version.pop("_npmUser", None)
            version.pop("maintainers", None)
        times = {k: v for k, v in doc["time"].items() if k not in ("created", "modified")}
        return {
            "name": name,
            "dist-tags": doc["dist-tags"],
            "versions": doc["versions"],
            "time": times,
        }


def _publish(reg: FakeRegistry, *, one_template: bool) -> dict[str, dict[str, Any]]:
    """The flood and the controls on ``reg``; lockfile entries by name."""
    burst = NOW - timedelta(hours=3)
    contents = [
        dict(NEXT_APP),
        {"index.js": "console.log('hello');\n"},
        {"index.js": "module.exports = 3;\n", "tea.yaml": TEA},
        {"index.js": "module.exports = 4;\n", "tea.yaml": TEA},
    ]
    if one_template:  # the same files in every package, as a generator copies them
        contents = [{"index.js": "module.exports = 0;\n", "tea.yaml": TEA} for _ in FLOOD]
    deps = {FLOOD[0]: {FLOOD[1]: "^1.0.0"}, FLOOD[1]: {FLOOD[2]: "^1.0.0"}}
    entries: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(FLOOD):
        got = reg.add_version(
            name, "1.0.0", files=contents[i], publisher="floodbot", description="",
            published=burst + timedelta(seconds=7 * i), dependencies=deps.get(name),
        )  # fmt: skip
        entries[name] = {"version": "1.0.0", "integrity": got.integrity, "deps": deps.get(name)}
    release = NOW - timedelta(days=2)
    for i, name in enumerate(CONTROLS[:3]):
        for major in range(1, 7):  # two years of releases, then one release of all three
            when = release - timedelta(days=120 * (7 - major)) if major < 6 else release
            got = reg.add_version(
                name, f"{major}.0.0", publisher="release-bot",
                published=when + timedelta(seconds=i), files={"index.js": "exports.x = 1;\n"},
            )  # fmt: skip
        entries[name] = {"version": "6.0.0", "integrity": got.integrity, "deps": None}
    for v, year in (("1.2.0", 2016), ("1.3.0", 2018)):
        got = reg.add_version(
            "left-pad", v, published=f"{year}-04-09T00:00:00Z",
            files={"index.js": "module.exports = function leftPad(s) { return s; };\n"},
        )  # fmt: skip
    entries["left-pad"] = {"version": "1.3.0", "integrity": got.integrity, "deps": None}
    return entries


def _project(tmp_path: Path, reg: FakeRegistry, entries: dict[str, dict[str, Any]]) -> Path:
    packages: dict[str, Any] = {
        "": {"name": "app", "version": "1.0.0", "dependencies": {
            n: entries[n]["version"] for n in (FLOOD[0], FLOOD[3], *CONTROLS)
        }},
    }  # fmt: skip
    for name, e in entries.items():
        base = name.rsplit("/", 1)[-1]
        entry = {
            "version": e["version"],
            "resolved": f"{reg.url}{name}/-/{base}-{e['version']}.tgz",
            "integrity": e["integrity"],
        }
        if e["deps"]:
            entry["dependencies"] = e["deps"]
        packages[f"node_modules/{name}"] = entry
    lock = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": packages}  # fmt: skip
    (tmp_path / "package-lock.json").write_text(json.dumps(lock, indent=2))
    (tmp_path / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    return tmp_path / "package-lock.json"


def _check(
    registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, **kw: Any
) -> tuple[int, dict[str, str], dict[str, dict[str, Any]]]:
    entries = _publish(registry, **kw)
    with registry.serve() as url:
        lock = _project(tmp_path, registry, entries)
        monkeypatch.setenv("npm_config_registry", url)
        monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
        monkeypatch.setenv("NPMGUARD_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.chdir(tmp_path)
        code = main(["check", str(lock), "--format", "json", "-q"])
    report = json.loads(capsys.readouterr().out)
    verdicts = {p["name"]: p["verdict"] for p in report["packages"]}
    scores = {f["package"]: f for f in report["findings"] if f["rule"] == "spam-score"}
    return code, verdicts, scores


def test_a_live_flood_is_blocked_with_its_evidence_and_controls_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, verdicts, scores = _check(
        FakeRegistry(), tmp_path, monkeypatch, capsys, one_template=False
    )
    assert code == 1
    assert {n: verdicts[n] for n in FLOOD} == dict.fromkeys(FLOOD, "block")
    assert all(verdicts[n] != "block" for n in CONTROLS)
    for name in FLOOD:
        evidence = {e["label"]: e["value"] for e in scores[name]["evidence"]}
        # the tree-level view decided it, and says what the group shares
        assert evidence["spam-cluster"].startswith("+3: one of 4 packages"), evidence
        assert "one publisher" in evidence["spam-cluster"]
        assert "publish burst" in evidence["spam-cluster"]
    # the package whose own name passed is blocked by the group and its tea.yaml
    passed = {e["label"] for e in scores[FLOOD[3]]["evidence"]}
    assert "spam-name" not in passed and {"spam-cluster", "tea-yaml"} <= passed


def test_on_a_stripped_mirror_publishers_and_times_are_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, verdicts, scores = _check(Mirror(), tmp_path, monkeypatch, capsys, one_template=True)
    assert code == 1
    assert all(verdicts[n] != "block" for n in CONTROLS)
    assert {n: verdicts[n] for n in FLOOD} == dict.fromkeys(FLOOD, "block")
    cluster = next(e["value"] for e in scores[FLOOD[0]]["evidence"] if e["label"] == "spam-cluster")
    assert "one template" in cluster and "one publisher" not in cluster
    assert "new-package" not in {e["label"] for e in scores[FLOOD[0]]["evidence"]}
