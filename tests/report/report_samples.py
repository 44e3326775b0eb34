"""Hand-built reports for the formatter tests (no lockfile parser involved)."""

from __future__ import annotations

from pathlib import Path

from npmguard.model import (
    Evidence,
    Finding,
    Gap,
    Level,
    LockedPackage,
    Lockfile,
    Occurrence,
    PackageVerdict,
    PolicyNote,
    Report,
    SourceKind,
    Verdict,
)

SECRET = "s3cr3t-token"
TOOL_VERSION = "0.1.0-test"
REGISTRY = "https://registry.npmjs.org"
HTTP_HINT = "use an https registry in .npmrc and run `npm install --package-lock-only`"


def package(
    name: str,
    version: str,
    *,
    source: SourceKind = SourceKind.REGISTRY,
    paths: tuple[str, ...] = (),
    line: int | None = None,
    resolved: str | None = None,
    integrity: str | None = "sha512-AAAA",
    dev: bool = False,
    installed_as: str | None = None,
    install_script: bool = False,
) -> LockedPackage:
    paths = paths or (f"node_modules/{installed_as or name}",)
    if resolved is None and source is SourceKind.REGISTRY:
        resolved = f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
    occurrences = tuple(
        Occurrence(
            path=p,
            installed_as=installed_as or name,
            resolved=resolved,
            integrity=integrity,
            line=None if line is None else line + 10 * i,
            dev=dev,
        )
        for i, p in enumerate(paths)
    )
    return LockedPackage(
        name=name,
        version=version,
        source=source,
        occurrences=occurrences,
        has_install_script=install_script,
    )


def verdict_of(findings: tuple[Finding, ...]) -> Verdict:
    return Verdict.from_level(max((f.effective_level for f in findings), default=Level.OFF))


def build_report(
    packages: list[tuple[LockedPackage, tuple[Finding, ...]]],
    *,
    lockfiles: tuple[Lockfile, ...] | None = None,
    notes: tuple[PolicyNote, ...] = (),
    coverage: tuple[Gap, ...] = (),
) -> Report:
    if lockfiles is None:
        lockfiles = (
            Lockfile(
                path=Path("package-lock.json"),
                format="npm-v3",
                lockfile_version=3,
                packages=tuple(p for p, _ in packages),
                root_name="sample-app",
                root_version="1.0.0",
            ),
        )
    verdicts = tuple(PackageVerdict(p, verdict_of(f), f) for p, f in packages)
    findings = tuple(f for _, fs in packages for f in fs)
    top = max((v.verdict for v in verdicts), key=lambda v: v.rank, default=Verdict.OK)
    return Report(
        lockfiles=lockfiles,
        packages=verdicts,
        findings=findings,
        verdict=top,
        notes=notes,
        tool_version=TOOL_VERSION,
        coverage=coverage,
    )


SAMPLE_COVERAGE = (
    Gap(
        ("dormant-wake", "too-new", "new-package"),
        "the registry gives no publish times",
        5,
        ("evil-http@1.0.0", "left-pad@1.3.0", "lodash@4.17.21"),
    ),
    Gap(("known-malicious",), "no known-bad feed imported: run `npmguard db update`", 6, ()),
)


def sample_entries() -> list[tuple[LockedPackage, tuple[Finding, ...]]]:
    """Seven packages covering every verdict, allowed findings, a synthetic rule and secrets."""
    http_url = f"http://ci:{SECRET}@registry.example.com/evil-http/-/evil-http-1.0.0.tgz"
    evil = package("evil-http", "1.0.0", line=12, resolved=http_url, install_script=True)
    left_pad = package(
        "left-pad",
        "1.3.0",
        line=20,
        integrity=None,
        dev=True,
        paths=(
            "node_modules/left-pad",
            "node_modules/a/node_modules/left-pad",
            "node_modules/b/node_modules/left-pad",
        ),
    )
    gitdep = package(
        "@scope/gitdep",
        "2.0.0",
        source=SourceKind.GIT,
        resolved="git+ssh://git@github.com/scope/gitdep.git#abc123",
        integrity=None,
    )
    denied = package("denied-pkg", "0.0.1", line=30)
    lodash = package("lodash", "4.17.21", line=40)
    local = package(
        "local-lib", "1.0.0", source=SourceKind.FILE, resolved="file:../local-lib", line=50
    )
    alias = package("string-width", "4.2.3", installed_as="string-width-cjs", line=60)
    return [
        (
            evil,
            (
                Finding(
                    rule="lock-insecure-url",
                    package="evil-http",
                    version="1.0.0",
                    message=f"resolved over plain http: {http_url}",
                    evidence=(
                        Evidence("resolved", http_url, "lockfile"),
                        Evidence("lockfile entry", "node_modules/evil-http", "lockfile"),
                    ),
                    hint=HTTP_HINT,
                    level=Level.BLOCK,
                    line=12,
                ),
            ),
        ),
        (
            left_pad,
            (
                Finding(
                    rule="lock-no-integrity",
                    package="left-pad",
                    version="1.3.0",
                    message="no integrity hash in the lockfile",
                    evidence=(Evidence("integrity", "(missing)", "lockfile"),),
                    hint="run `npm install --package-lock-only` to record integrity",
                    level=Level.WARN,
                    line=20,
                ),
            ),
        ),
        (
            gitdep,
            (
                Finding(
                    rule="lock-git-source",
                    package="@scope/gitdep",
                    version="2.0.0",
                    message="comes from a git repository",
                    evidence=(
                        Evidence(
                            "resolved",
                            "git+ssh://git@github.com/scope/gitdep.git#abc123",
                            "lockfile",
                        ),
                    ),
                    hint="publish it to your registry, or add an allow entry with a reason",
                    level=Level.WARN,
                    line=None,
                    allowed_by="vendored fork, reviewed by security",
                ),
            ),
        ),
        (
            denied,
            (
                Finding(
                    rule="policy-deny",
                    package="denied-pkg",
                    version="0.0.1",
                    message="denied by policy: known spam package",
                    evidence=(Evidence("deny entry", "denied-pkg", "npmguard.toml"),),
                    hint="remove this dependency, or change the policy's deny entry",
                    level=Level.BLOCK,
                    line=30,
                ),
            ),
        ),
        (lodash, ()),
        (
            local,
            (
                Finding(
                    rule="lock-file-source",
                    package="local-lib",
                    version="1.0.0",
                    message="comes from a local folder: file:../local-lib",
                    evidence=(Evidence("resolved", "file:../local-lib", "lockfile"),),
                    hint="nothing to do if this folder is part of your repository",
                    level=Level.INFO,
                    line=50,
                ),
            ),
        ),
        (alias, ()),
    ]


def sample_report() -> Report:
    return build_report(
        sample_entries(),
        coverage=SAMPLE_COVERAGE,
        notes=(
            PolicyNote(
                "expired-allow",
                "allow entry for old-lib expired on 2025-01-01: waiting for upstream fix",
                "npmguard.toml",
            ),
            PolicyNote(
                "unused-allow",
                "allow entry for unused-pkg matched nothing in this run",
                "npmguard.toml",
            ),
        ),
    )


def ok_report() -> Report:
    return build_report([(package("lodash", "4.17.21", line=5), ())])
