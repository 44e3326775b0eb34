"""tea-yaml, no-code, autopublish-script, version-flood on hand-built tarballs and packuments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from rule_facts import check, tarball

from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, TarballFacts, VersionInfo
from npmguard.model import Level
from npmguard.rules.spam_content import (
    AutopublishScript,
    NoCode,
    TeaYaml,
    VersionFlood,
    is_meta_file,
)

TEA_YAML = """# https://tea.xyz/what-is-this-file
---
version: 1.0.0
codeOwners:
  - '0x4e2F8C1a9B7d3E6f5A0b2C4d6E8f1A3b5C7d9E0f'
quorum: 1
"""

# The shape of the IndonesianFoods / tea.xyz farming scripts described in public write-ups:
# random names from word lists, package.json rewritten, `npm publish` forever.
AUTOPUBLISH_JS = """const { execSync } = require('child_process');
const fs = require('fs');
const names = ['andi', 'budi', 'siti', 'dewi'];
const foods = ['rendang', 'sate', 'bakso', 'gudeg'];
function rand(a) { return a[Math.floor(Math.random() * a.length)]; }
async function main() {
  while (true) {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
    pkg.name = `${rand(names)}-${rand(foods)}${Math.floor(Math.random() * 100)}-kyuki`;
    pkg.version = '1.0.' + Math.floor(Math.random() * 1000);
    fs.writeFileSync('package.json', JSON.stringify(pkg, null, 2));
    execSync('npm publish --access public', { stdio: 'inherit' });
    await new Promise((r) => setTimeout(r, 7000));
  }
}
main();
"""


def facts(
    name: str,
    files: list[str],
    texts: dict[str, str] | None = None,
    manifest: ManifestFacts | None = None,
) -> PackageFacts:
    texts = dict(texts or {})
    texts.setdefault("package.json", json.dumps({"name": name, "version": "1.0.0"}))
    return PackageFacts(
        name=name,
        version="1.0.0",
        status=FactsStatus.KNOWN,
        manifest=manifest or ManifestFacts(),
        tarball=tarball(files, texts),
    )


# --- tea-yaml ----------------------------------------------------------------------------------


def test_tea_yaml_in_the_tarball_shows_the_account() -> None:
    found = check(TeaYaml, facts("sate-ayam44", ["README.md"], {"tea.yaml": TEA_YAML}))
    assert len(found) == 1
    values = {e.label: e.value for e in found[0].evidence}
    assert values["file"] == "tea.yaml"
    assert "0x4e2F8C1a" in values["tea.yaml says"]
    assert 'rules = ["tea-yaml"]' in found[0].hint


def test_tea_protocol_in_package_json() -> None:
    f = facts("x", ["index.js"], manifest=ManifestFacts(tea_protocol=True))
    assert len(check(TeaYaml, f)) == 1
    assert check(TeaYaml, facts("x", ["index.js", "tealight.yaml"])) == []


def test_tea_yaml_unknown_without_tarball() -> None:
    bare = PackageFacts(name="x", version="1.0.0", manifest=ManifestFacts())
    assert check(TeaYaml, bare) == []


# --- no-code -----------------------------------------------------------------------------------


def test_only_manifest_readme_and_tea_is_no_code() -> None:
    f = facts("bakso-budi12", ["README.md", "LICENSE"], {"tea.yaml": TEA_YAML})
    found = check(NoCode, f)
    assert len(found) == 1 and found[0].level == Level.WARN
    assert "tea.yaml" in found[0].evidence[0].value


@pytest.mark.parametrize(
    "files",
    [
        ["index.d.ts", "README.md"],  # a types package
        ["index.json", "deprecated.json", "README.md"],  # spdx-license-ids
        ["db.json", "index.js", "HISTORY.md"],  # mime-db
        ["normalize.css", "README.md"],  # normalize.css
        ["files/inter-latin-400-normal.woff2", "index.css"],  # a font package
        ["tsconfig.json", "README.md"],  # @tsconfig/node20
        ["bin/esbuild"],  # a platform binary package
        ["lib/main.sh"],
    ],
)
def test_importable_content_is_code(files: list[str]) -> None:
    assert check(NoCode, facts("legit", files)) == []


def test_meta_file_classification() -> None:
    assert is_meta_file(".github/workflows/ci.yml")
    assert is_meta_file("CHANGELOG.md") and is_meta_file("LICENSE-MIT") and is_meta_file("tea.yml")
    assert is_meta_file("vite.config.ts") and is_meta_file("test/index.js")
    assert not is_meta_file("index.js") and not is_meta_file("data.json")
    assert not is_meta_file("types/index.d.ts") and not is_meta_file("dist/app.css")


def test_deprecated_placeholder_is_info_and_types_stubs_are_skipped() -> None:
    placeholder = facts("old", ["README.md"], manifest=ManifestFacts(deprecated="use new"))
    assert [f.level for f in check(NoCode, placeholder)] == [Level.INFO]
    stub = facts("@types/uuid", ["README.md", "LICENSE"])
    assert check(NoCode, stub) == []


def test_vite_react_template_published_as_a_library() -> None:
    files = [
        "index.html",
        "vite.config.js",
        "src/App.jsx",
        "src/main.jsx",
        "src/App.css",
        "public/vite.svg",
        "eslint.config.js",
        "README.md",
    ]
    pkg = {"name": "gudeg-siti7", "version": "1.0.0", "type": "module", "scripts": {"dev": "vite"}}
    found = check(NoCode, facts("gudeg-siti7", files, {"package.json": json.dumps(pkg)}))
    assert len(found) == 1
    assert "app template" in found[0].message
    assert "src/App.jsx" in found[0].evidence[0].value


def test_next_app_template() -> None:
    files = ["app/page.tsx", "app/layout.tsx", "next.config.mjs", "public/next.svg"]
    assert len(check(NoCode, facts("nasi-uduk-kyu", files))) == 1


def test_library_with_app_like_files_but_an_entry_point_is_fine() -> None:
    files = ["index.html", "vite.config.js", "src/App.jsx", "dist/index.js"]
    pkg = {"name": "ui-kit", "version": "1.0.0", "main": "dist/index.js"}
    assert check(NoCode, facts("ui-kit", files, {"package.json": json.dumps(pkg)})) == []
    # a CLI that scaffolds templates keeps them in folders, not at its root
    files = ["index.js", "template-react/index.html", "template-react/src/App.jsx"]
    cli: dict[str, object] = {"name": "create-x", "bin": {"create-x": "index.js"}}
    assert check(NoCode, facts("create-x", files, {"package.json": json.dumps(cli)})) == []


# --- autopublish-script ------------------------------------------------------------------------


def test_autopublish_loop_file_is_found() -> None:
    f = facts("andi-bakso7", ["index.js"], {"auto.js": AUTOPUBLISH_JS})
    found = check(AutopublishScript, f)
    assert len(found) == 1
    ev = {e.label: e for e in found[0].evidence}
    assert ev["publishes"].source == "auto.js" and "npm publish" in ev["publishes"].value
    assert "while" in ev["in a loop"].value
    assert "writeFileSync('package.json" in ev["rewrites package.json"].value


def test_shell_loop_in_package_json_scripts() -> None:
    pkg = {
        "name": "farm",
        "version": "1.0.0",
        "scripts": {"spam": "for i in $(seq 1 500); do npm version patch && npm publish; done"},
    }
    found = check(AutopublishScript, facts("farm", ["index.js"], {"package.json": json.dumps(pkg)}))
    assert len(found) == 1 and found[0].evidence[0].source == "scripts.spam"


@pytest.mark.parametrize(
    "scripts",
    [
        {"release": "npm version patch && npm publish"},
        {"prepublishOnly": "npm test", "postpublish": "git push --tags"},
    ],
)
def test_plain_release_scripts_are_fine(scripts: dict[str, str]) -> None:
    pkg = {"name": "lib", "version": "1.0.0", "scripts": scripts}
    assert (
        check(AutopublishScript, facts("lib", ["index.js"], {"package.json": json.dumps(pkg)}))
        == []
    )


def test_publish_far_from_a_loop_and_readme_mentions_are_fine() -> None:
    big = "for (const x of y) {}\n" + ("// filler\n" * 200) + "run('npm publish')\n"
    readme = "Run `npm publish` in a for (;;) loop? Never."
    assert check(AutopublishScript, facts("lib", [], {"cli.js": big, "README.md": readme})) == []


# --- version-flood -----------------------------------------------------------------------------


def flood(count: int, spacing: timedelta, pre: bool = False) -> PackageFacts:
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    versions = [VersionInfo("0.9.0", published=start - timedelta(days=200))]
    for i in range(count):
        v = f"1.0.{i}" + ("-canary.1" if pre else "")
        versions.append(VersionInfo(v, published=start + spacing * i))
    return PackageFacts(name="kue-lapis99", version=versions[-1].version, versions=tuple(versions))


def test_version_flood_window() -> None:
    found = check(VersionFlood, flood(30, timedelta(minutes=10)))
    assert len(found) == 1
    assert found[0].message.startswith("30 versions published within 24 hours")
    assert "kue-lapis99@0.9.0" in found[0].hint
    assert check(VersionFlood, flood(19, timedelta(minutes=10))) == []
    assert check(VersionFlood, flood(30, timedelta(hours=2))) == []  # 12 a day at most


def test_version_flood_options_and_prereleases() -> None:
    assert check(VersionFlood, flood(30, timedelta(minutes=10), pre=True)) == []
    opts: dict[str, dict[str, object]] = {"version-flood": {"prereleases": True}}
    assert len(check(VersionFlood, flood(30, timedelta(minutes=10), pre=True), options=opts)) == 1
    opts = {"version-flood": {"versions": 5, "hours": 1}}
    assert len(check(VersionFlood, flood(6, timedelta(minutes=10)), options=opts)) == 1


def test_version_flood_unknown_times() -> None:
    versions = tuple(VersionInfo(f"1.0.{i}") for i in range(50))
    assert check(VersionFlood, PackageFacts(name="x", version="1.0.49", versions=versions)) == []


def test_tarball_facts_type_is_what_rules_read() -> None:
    tb = tarball(["a.js"], {"tea.yaml": TEA_YAML})
    assert isinstance(tb, TarballFacts) and tb.has_tea_yaml and "tea.yaml" in tb.files


def test_version_flood_is_linear_in_the_versions() -> None:
    """Issue 13: each version was looked for in the flood's slice (a list scan per version):
    10,000 versions took 60 s, 100,000 did not finish. A set makes it one pass."""
    import time

    facts = flood(20_000, timedelta(seconds=1))
    started = time.monotonic()
    found = check(VersionFlood, facts)
    assert time.monotonic() - started < 5.0
    assert len(found) == 1 and found[0].message.startswith("20000 versions published")
    assert "kue-lapis99@0.9.0" in found[0].hint
