"""Lockfile integrity: what the lockfile alone says about where code comes from. Offline."""

from __future__ import annotations

from collections.abc import Iterator

from npmguard.model import Evidence, Finding, Level, LockedPackage, Occurrence, SourceKind
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.urls import host_of, is_loopback, redact, registry_tarball_name

FAMILY = "lockfile integrity"


def _distinct_resolved(pkg: LockedPackage) -> Iterator[Occurrence]:
    """One occurrence per distinct resolved URL: a URL seen twice is reported once."""
    seen: set[str | None] = set()
    for occ in pkg.occurrences:
        if occ.resolved in seen:
            continue
        seen.add(occ.resolved)
        yield occ


def _where(occ: Occurrence) -> Evidence:
    return Evidence("lockfile entry", occ.path, "lockfile")


@register
class InsecureUrl(PackageRule):
    id = "lock-insecure-url"
    level = Level.BLOCK
    family = FAMILY
    description = "A package is resolved over plain http, so anyone on the path can swap it."
    help = (
        "The `resolved` URL uses `http://`. A network attacker can serve different code, and "
        "integrity only helps if it was recorded from a trusted copy. Point the registry at "
        "`https://` in `.npmrc` and regenerate the lockfile. Loopback hosts (127.0.0.0/8, "
        "`localhost`, `::1`) are exempt: no network lies between you and them."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        for occ in _distinct_resolved(pkg):
            if (
                occ.resolved
                and occ.resolved.lower().startswith("http://")
                and not is_loopback(host_of(occ.resolved))
            ):
                yield self.finding(
                    pkg,
                    f"resolved over plain http: {redact(occ.resolved)}",
                    evidence=(Evidence("resolved", redact(occ.resolved), "lockfile"), _where(occ)),
                    hint="use an https registry in .npmrc, then `npm install --package-lock-only`",
                    line=occ.line,
                )


@register
class ForeignHost(PackageRule):
    id = "lock-host"
    level = Level.BLOCK
    family = FAMILY
    description = "A package is resolved from a host outside the allowed registries."
    help = (
        "Every registry package should come from a registry npm is configured for (the default "
        "registry plus any in `.npmrc`) or one the policy's `allowed-registries` names. A "
        "different host in `resolved` is how a tampered lockfile smuggles code in (lockfile "
        "injection)."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source not in (SourceKind.REGISTRY, SourceKind.TARBALL):
            return
        allowed = {host_of(u) for u in ctx.allowed_registries}
        for occ in _distinct_resolved(pkg):
            if not occ.resolved or not occ.resolved.lower().startswith(("http://", "https://")):
                continue
            host = host_of(occ.resolved)
            if host and host not in allowed:
                yield self.finding(
                    pkg,
                    f"resolved from {host}, which is not an allowed registry",
                    evidence=(
                        Evidence("resolved", redact(occ.resolved), "lockfile"),
                        Evidence(
                            "allowed registries",
                            ", ".join(sorted(allowed)) or "(none)",
                            "npm config + policy",
                        ),
                        _where(occ),
                    ),
                    hint=(
                        "if this registry is yours, add it to .npmrc or to the policy's "
                        "allowed-registries; otherwise regenerate the lockfile"
                    ),
                    line=occ.line,
                )


@register
class NameMismatch(PackageRule):
    id = "lock-name-mismatch"
    level = Level.BLOCK
    family = FAMILY
    description = "A registry tarball URL is for a different package than the entry's name."
    help = (
        "A registry tarball lives at `<registry>/<name>/-/<name>-<version>.tgz`. When the name "
        "in the URL differs from the package's real name (aliases taken into account), the "
        "entry installs some other package's code under this name."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source is not SourceKind.REGISTRY:
            return
        for occ in _distinct_resolved(pkg):
            if not occ.resolved:
                continue
            url_name = registry_tarball_name(occ.resolved)
            if url_name is None or url_name == pkg.name:
                continue
            yield self.finding(
                pkg,
                f"tarball URL is for {url_name!r}, not {pkg.name!r}",
                evidence=(
                    Evidence("resolved", redact(occ.resolved), "lockfile"),
                    Evidence("name in URL", url_name, "lockfile"),
                    Evidence("installed as", occ.installed_as, "lockfile"),
                ),
                hint="regenerate the lockfile from package.json; review where this entry came from",
                line=occ.line,
            )


@register
class NoIntegrity(PackageRule):
    id = "lock-no-integrity"
    level = Level.WARN
    family = FAMILY
    description = "A registry or tarball entry has no integrity hash to check the download against."
    help = (
        "Without `integrity`, npm installs whatever the URL serves. Bundled dependencies are "
        "exempt: they arrive inside their parent's tarball, which is checked."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source not in (SourceKind.REGISTRY, SourceKind.TARBALL):
            return
        missing = [o for o in pkg.occurrences if not o.integrity and not o.bundled]
        if missing:
            occ = missing[0]
            yield self.finding(
                pkg,
                "no integrity hash in the lockfile",
                evidence=(
                    _where(occ),
                    Evidence("resolved", redact(occ.resolved) or "(none)", "lockfile"),
                ),
                hint="run `npm install --package-lock-only` with a current npm to record integrity",
                line=occ.line,
            )


class _SourceRule(PackageRule):
    kind: SourceKind
    what: str

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source is self.kind:
            occ = pkg.first
            yield self.finding(
                pkg,
                f"comes from {self.what}: {redact(occ.resolved) or pkg.version}",
                evidence=(
                    Evidence("resolved", redact(occ.resolved) or "(none)", "lockfile"),
                    _where(occ),
                ),
                hint=(
                    "registry packages get integrity, provenance and reputation checks; if this "
                    "source is intended, allow it in the policy with a reason"
                ),
            )


@register
class GitSource(_SourceRule):
    id = "lock-git-source"
    level = Level.WARN
    family = FAMILY
    kind = SourceKind.GIT
    what = "a git repository"
    description = "A package comes from a git repository instead of a registry."
    help = "Git dependencies bypass registry checks, and a branch or tag can move under you."


@register
class UrlSource(_SourceRule):
    id = "lock-url-source"
    level = Level.WARN
    family = FAMILY
    kind = SourceKind.TARBALL
    what = "a remote tarball URL"
    description = "A package comes from a tarball URL that is not a registry."
    help = "Remote tarballs bypass the registry's checks; the server can change what it serves."


@register
class FileSource(_SourceRule):
    id = "lock-file-source"
    level = Level.INFO
    family = FAMILY
    kind = SourceKind.FILE
    what = "a local file or folder"
    description = "A package comes from a local tarball or folder."
    help = "Local sources are not looked up on a registry; they are what is on disk."
