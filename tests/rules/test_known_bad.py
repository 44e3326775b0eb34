"""The known-bad rules on hand-built facts: what fires, and what unknown facts never do."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from pathlib import Path

from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import Finding, LockedPackage, Lockfile, Occurrence, SourceKind
from npmguard.rules.base import CheckContext, all_rules

REG = "https://registry.npmjs.org/"
DATA = b"the tarball"
SHA512 = "sha512-" + base64.b64encode(hashlib.sha512(DATA).digest()).decode()
SHA1 = "sha1-" + base64.b64encode(hashlib.sha1(DATA).digest()).decode()
SHASUM = hashlib.sha1(DATA).hexdigest()


def pkg(
    name: str, version: str, integrity: str | None = SHA512, resolved: str | None = None
) -> LockedPackage:
    url = resolved if resolved is not None else f"{REG}{name}/-/{name}-{version}.tgz"
    return LockedPackage(
        name,
        version,
        SourceKind.REGISTRY,
        (Occurrence(f"node_modules/{name}", name, url, integrity, line=7),),
    )


def facts(p: LockedPackage, versions: tuple[str, ...] = (), **kw: object) -> PackageFacts:
    infos = tuple(VersionInfo(v) for v in versions)
    base: dict[str, object] = {
        "status": FactsStatus.KNOWN,
        "registry": REG,
        "versions": infos,
        "dist_tags": {"latest": versions[-1]} if versions else {},
        "version_present": p.version in versions,
    }
    base.update(kw)
    return PackageFacts(p.name, p.version, **base)  # type: ignore[arg-type]


def run(rule_id: str, p: LockedPackage, f: PackageFacts | None) -> list[Finding]:
    ctx = CheckContext(
        lockfile=Lockfile(Path("package-lock.json"), "npm-v3", 3, (p,)),
        facts={} if f is None else {p.key: f},
        options={},
        allowed_registries=(REG,),
    )
    return list(all_rules()[rule_id]().check(ctx))


def test_rules_are_registered_as_blocking() -> None:
    rules = all_rules()
    for rid in ("removed-package", "security-holder", "version-missing", "integrity-mismatch"):
        assert str(rules[rid].level) == "block"


def test_removed_package_shapes() -> None:
    p = pkg("flatmap-stream", "0.1.1")
    [down] = run("removed-package", p, facts(p))
    assert "no versions" in down.message and down.hint and down.line == 7
    gone = facts(p, unpublished=datetime(2021, 11, 5, tzinfo=timezone.utc))
    [unpub] = run("removed-package", p, gone)
    assert "unpublished from the registry on 2021-11-05" in unpub.message
    notfound = PackageFacts(p.name, p.version, FactsStatus.NOT_FOUND, registry=REG)
    [nf] = run("removed-package", p, notfound)
    assert "HTTP 404" in nf.message
    # a 404 for a package the lockfile says came from somewhere else is not this rule's
    elsewhere = pkg("x", "1.0.0", resolved="https://other.example/x/-/x-1.0.0.tgz")
    assert (
        run(
            "removed-package",
            elsewhere,
            PackageFacts("x", "1.0.0", FactsStatus.NOT_FOUND, registry=REG),
        )
        == []
    )
    # unknown facts never count
    assert run("removed-package", p, PackageFacts(p.name, p.version, registry=REG)) == []
    assert run("removed-package", p, None) == []


def test_security_holder() -> None:
    p = pkg("crossenv", "0.0.2-security")
    manifest = ManifestFacts(
        description="security holding package", repository="npm/security-holder"
    )
    [f] = run("security-holder", p, facts(p, ("0.0.2-security",), manifest=manifest))
    assert "confirmed" in f.message and len(f.evidence) == 3
    [bare] = run("security-holder", p, None)  # the lockfile alone shows the placeholder
    assert "confirmed" not in bare.message
    for version in ("0.0.1-security", "1.0.0-security", "0.0.1-security.1"):
        assert run("security-holder", pkg("x", version), None)
    assert run("security-holder", pkg("x", "0.0.1-securityfix"), None) == []
    # npm's wording until about 2017 (tslib@0.0.1-security, 2016) still counts
    older = ManifestFacts(
        description="This package name is not currently in use, but was formerly occupied by "
        "another package. To avoid malicious use, npm is hanging on to the package name, but "
        "loosely, and we'll probably give it to you if you want it.",
    )
    held = pkg("tslib", "0.0.1-security")
    [f] = run("security-holder", held, facts(held, ("0.0.1-security",), manifest=older))
    assert "confirmed" in f.message
    # a real release named like a placeholder: its own repository, its own description
    fix = pkg("yargs-parser", "5.0.0-security.0")
    real = ManifestFacts(
        description="the mighty option parser used by yargs",
        repository="git+ssh://git@github.com/yargs/yargs-parser.git",
    )
    assert run("security-holder", fix, facts(fix, ("5.0.0-security.0",), manifest=real)) == []
    old = pkg("typo-pkg", "1.0.0")
    [latest] = run("security-holder", old, facts(old, ("0.0.1-security",), version_present=False))
    assert "0.0.1-security" in latest.message
    assert (
        run(
            "security-holder", pkg("left-pad", "1.3.0"), facts(pkg("left-pad", "1.3.0"), ("1.3.0",))
        )
        == []
    )


def test_version_missing() -> None:
    p = pkg("event-stream", "3.3.6")
    [f] = run("version-missing", p, facts(p, ("3.3.4", "3.3.5", "4.0.0", "4.0.1")))
    assert "event-stream@3.3.5" in f.hint
    assert ("nearest version above", "4.0.0") in [(e.label, e.value) for e in f.evidence]
    assert run("version-missing", p, facts(p, ("3.3.6",))) == []
    assert run("version-missing", p, facts(p, ())) == []  # removed-package's case
    mirror = facts(p, ("3.3.5",), version_present=None)
    assert run("version-missing", p, mirror) == []


def test_integrity_mismatch() -> None:
    good = ManifestFacts(dist_integrity=SHA512, dist_shasum=SHASUM)
    p = pkg("left-pad", "1.3.0")
    assert run("integrity-mismatch", p, facts(p, ("1.3.0",), manifest=good)) == []
    old_lock = pkg("left-pad", "1.3.0", integrity=SHA1)  # npm 5 lockfiles: sha1 vs dist.shasum
    assert run("integrity-mismatch", old_lock, facts(old_lock, ("1.3.0",), manifest=good)) == []
    bad_sha1 = pkg("left-pad", "1.3.0", integrity="sha1-" + base64.b64encode(b"x" * 20).decode())
    [f] = run("integrity-mismatch", bad_sha1, facts(bad_sha1, ("1.3.0",), manifest=good))
    assert "sha1" in f.message and f.evidence[1].source == "registry dist.shasum"
    other = "sha512-" + base64.b64encode(hashlib.sha512(b"evil").digest()).decode()
    tampered = pkg("left-pad", "1.3.0", integrity=other)
    [g] = run("integrity-mismatch", tampered, facts(tampered, ("1.3.0",), manifest=good))
    assert g.evidence[0].value == other and g.evidence[1].value == SHA512 and g.hint
    # nothing in common to compare: unknown, not bad
    odd = pkg("left-pad", "1.3.0", integrity="sha256-abc")
    assert run("integrity-mismatch", odd, facts(odd, ("1.3.0",), manifest=good)) == []
