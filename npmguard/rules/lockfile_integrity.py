"""Lockfile integrity: what the lockfile alone says about where code comes from. Offline.

URLs are judged as npm fetches them: parsed as Node parses them, after npm's
``replace-registry-host`` rewrite (:meth:`Registries.fetched_from`), git URLs in the form
npm normalises them to; a ``resolved`` URL Node cannot parse is itself a finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from npmguard.integrity import Integrity
from npmguard.lockfile.sources import consistent_resolved
from npmguard.managers import manager_for
from npmguard.model import Evidence, Finding, Level, LockedPackage, Occurrence, SourceKind
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.semver import version_key
from npmguard.urls import (
    TarballRef,
    in_clear,
    is_http_url,
    parse_url,
    redact,
    registry_tarball,
)

FAMILY = "lockfile integrity"
_DOWNLOADS = (SourceKind.REGISTRY, SourceKind.TARBALL)
# hosts that serve the same registry: yarn writes npm's registry as registry.yarnpkg.com (its
# default), which proxies registry.npmjs.org
REGISTRY_ALIASES = {
    "registry.npmjs.org": ("registry.yarnpkg.com",),
    "registry.yarnpkg.com": ("registry.npmjs.org",),
}


def _regenerate(ctx: CheckContext) -> str:
    """Lock the entry again from the registry, with the command of the lockfile's manager."""
    return f"{manager_for(ctx.lockfile.format).delete_and_relock()}; review where it came from"


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


def fetch_url(resolved: str, pkg: LockedPackage, ctx: CheckContext) -> str | None:
    """The URL npm downloads an entry's ``resolved`` from; None when Node cannot parse it."""
    if pkg.source is SourceKind.GIT:
        return consistent_resolved(resolved)
    if ctx.registries is not None and pkg.source in _DOWNLOADS:
        return ctx.registries.fetched_from(resolved)
    parsed = parse_url(resolved)
    return parsed.href if parsed is not None else None


def _fetched_evidence(occ: Occurrence, fetched: str | None) -> tuple[Evidence, ...]:
    out = [Evidence("resolved", redact(occ.resolved), "lockfile")]
    if fetched is not None and fetched != occ.resolved and redact(fetched) != out[0].value:
        out.append(Evidence("npm fetches", redact(fetched), "npm config"))
    return (*out, _where(occ))


@register
class InsecureUrl(PackageRule):
    id = "lock-insecure-url"
    level = Level.BLOCK
    family = FAMILY
    description = (
        "A package is fetched over an unencrypted channel (http://, git://, git+http://), so "
        "anyone on the path can swap it."
    )
    help = (
        "npm would download the entry over a transport with neither encryption nor "
        "authentication: an `http://` tarball or registry, or a git repository over `git://`, "
        "`git+http://` (or `git+ftp://`, `git+rsync://`). A network attacker can serve "
        "different code; integrity, and a git commit id, only help if they were recorded from "
        "a trusted copy. The URL is judged as npm fetches it: `replace-registry-host` applied, "
        "repositories on GitHub, GitLab and Bitbucket rewritten to `git+ssh://` as npm does, "
        "and entries without `resolved` judged by the registry npm would ask. Point the "
        "registry at `https://` in `.npmrc`, use `git+https://` or `git+ssh://`, and "
        "regenerate the lockfile. Loopback hosts (127.0.0.0/8, `localhost`, `::1`) are exempt: "
        "no network lies between you and them."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source not in (*_DOWNLOADS, SourceKind.GIT):
            return
        for occ in _distinct_resolved(pkg):
            if occ.resolved:
                fetched = fetch_url(occ.resolved, pkg, ctx)
            elif pkg.source is SourceKind.REGISTRY and ctx.registries is not None:
                fetched = ctx.registries.registry_for(pkg.name)  # npm asks the registry
            else:
                continue
            parsed = parse_url(fetched) if fetched else None
            if parsed is None or not in_clear(parsed):
                continue
            how = f"{parsed.scheme}://" if parsed.scheme != "http" else "plain http"
            evidence = _fetched_evidence(occ, fetched)
            if not occ.resolved:
                evidence = (Evidence("registry", redact(fetched), "npm config"), _where(occ))
            yield self.finding(
                pkg,
                f"fetched over {how}, unencrypted: {redact(fetched)}",
                evidence=evidence,
                hint=self._hint(pkg, ctx),
                line=occ.line,
            )

    @staticmethod
    def _hint(pkg: LockedPackage, ctx: CheckContext) -> str:
        manager = manager_for(ctx.lockfile.format)
        if pkg.source is SourceKind.GIT:
            return f"use git+https:// or git+ssh:// for the repository, then `{manager.relock}`"
        return f"use an https registry in {manager.registry_config}, then `{manager.relock}`"


@register
class ForeignHost(PackageRule):
    id = "lock-host"
    level = Level.BLOCK
    family = FAMILY
    description = "A package is resolved from a host other than the registry npm uses for it."
    help = (
        "A registry package must come from the registry npm is configured to use for that "
        "name: the scope's registry (`@scope:registry=` in `.npmrc`) for a scoped package, "
        "else the default `registry`, plus any registry the policy's `allowed-registries` "
        "names. `npm ci` downloads from whatever host `resolved` names, so any other host is "
        "how a tampered lockfile smuggles code in (lockfile injection), and a scoped package "
        "locked to the public registry is dependency confusion. Hosts are compared with their "
        "port, as Node parses the URL (`https://evil.example\\@registry.npmjs.org/` is a "
        "request to evil.example), after npm's `replace-registry-host` rewrite. A `resolved` "
        "value Node cannot parse as a URL is reported too: npm drops or refuses such an entry."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source not in _DOWNLOADS:
            return
        allowed = self._allowed(pkg, ctx)
        for occ in _distinct_resolved(pkg):
            if not occ.resolved:
                continue
            fetched = fetch_url(occ.resolved, pkg, ctx)
            parsed = parse_url(fetched) if fetched else None
            if parsed is None or not is_http_url(parsed):
                yield self._unreadable(pkg, occ, ctx)
                continue
            if parsed.host in allowed:
                continue
            registry = ctx.registries.registry_for(pkg.name) if ctx.registries else None
            yield self.finding(
                pkg,
                f"resolved from {parsed.host}, not "
                + (
                    f"the registry for {pkg.name} ({_host(registry)})"
                    if registry
                    else "an allowed registry"
                ),
                evidence=(
                    *_fetched_evidence(occ, fetched),
                    Evidence(
                        f"hosts allowed for {pkg.name}",
                        ", ".join(allowed) or "(none)",
                        "npm config + policy",
                    ),
                ),
                hint=(
                    "if this registry is yours, name it in .npmrc (for this scope) or in the "
                    "policy's allowed-registries; otherwise " + _regenerate(ctx)
                ),
                line=occ.line,
            )

    @staticmethod
    def _allowed(pkg: LockedPackage, ctx: CheckContext) -> tuple[str, ...]:
        if ctx.registries is not None:
            hosts = ctx.registries.allowed_hosts(pkg.name)
        else:
            parsed = (parse_url(u) for u in ctx.allowed_registries)
            hosts = tuple(h.host for h in parsed if h is not None and h.hostname)
        aliases = (alias for host in hosts for alias in REGISTRY_ALIASES.get(host, ()))
        return tuple(dict.fromkeys((*hosts, *aliases)))

    def _unreadable(self, pkg: LockedPackage, occ: Occurrence, ctx: CheckContext) -> Finding:
        return self.finding(
            pkg,
            f"resolved is not an http(s) URL npm can fetch: {redact(occ.resolved)}",
            evidence=(Evidence("resolved", redact(occ.resolved), "lockfile"), _where(occ)),
            hint=_regenerate(ctx),
            line=occ.line,
        )


def _host(url: str | None) -> str:
    parsed = parse_url(url) if url else None
    return parsed.host if parsed is not None else redact(url)


@register
class NameMismatch(PackageRule):
    id = "lock-name-mismatch"
    level = Level.BLOCK
    family = FAMILY
    description = "A registry tarball URL is for a different package than the entry's name."
    help = (
        "A registry tarball lives at `<registry>/<name>/-/<name>-<version>.tgz`. When the name "
        "in the URL (as the registry reads the path: percent-encoding decoded) differs from "
        "the package's real name (aliases taken into account), the entry installs some other "
        "package's code under this name."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source is not SourceKind.REGISTRY:
            return
        for occ, ref in _tarball_refs(pkg, ctx):
            if ref.name == pkg.name:
                continue
            yield self.finding(
                pkg,
                f"tarball URL is for {ref.name!r}, not {pkg.name!r}",
                evidence=(
                    Evidence("resolved", redact(occ.resolved), "lockfile"),
                    Evidence("name in URL", ref.name, "lockfile"),
                    Evidence("installed as", occ.installed_as, "lockfile"),
                ),
                hint=_regenerate(ctx),
                line=occ.line,
            )


@register
class VersionMismatch(PackageRule):
    id = "lock-version-mismatch"
    level = Level.BLOCK
    family = FAMILY
    description = "A registry tarball URL is for another version than the entry's version."
    help = (
        "The reputation checks judge the version in `version`; npm downloads the tarball in "
        "`resolved`. A registry tarball URL names its version (`<name>-<version>.tgz`, read "
        "as npm's version-from-tgz reads it); when that is another version of the same "
        "package, or no version at all, the lockfile was edited or damaged, and the code "
        "installed is not the code judged. Seen from the lockfile alone, so offline too."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source is not SourceKind.REGISTRY:
            return
        for occ, ref in _tarball_refs(pkg, ctx):
            if ref.name != pkg.name or _same_version(ref.version, pkg.version):
                continue
            said = f"version {ref.version}" if ref.version else "no version of it"
            yield self.finding(
                pkg,
                f"tarball URL names {said}, while the entry says {pkg.version}",
                evidence=(
                    Evidence("resolved", redact(occ.resolved), "lockfile"),
                    Evidence("version in URL", ref.version or "(none)", "lockfile"),
                    Evidence("version", pkg.version, "lockfile"),
                    _where(occ),
                ),
                hint=_regenerate(ctx),
                line=occ.line,
            )


def _tarball_refs(pkg: LockedPackage, ctx: CheckContext) -> Iterator[tuple[Occurrence, TarballRef]]:
    for occ in _distinct_resolved(pkg):
        if occ.resolved:
            fetched = fetch_url(occ.resolved, pkg, ctx)
            ref = registry_tarball(fetched) if fetched else None
            if ref is not None:
                yield occ, ref


def _same_version(in_url: str | None, version: str) -> bool:
    """Whether the URL's version (normalised as node-semver's ``parse().version``) is the
    entry's: ``v1.0.0`` and ``1.0.0+build`` are 1.0.0 to npm."""
    if in_url is None:
        return False
    if version_key(version) is not None:
        return in_url == version.strip().lstrip("v").split("+", 1)[0]
    return in_url == version


def yarn_platform_unpinned(pkg: LockedPackage) -> bool:
    """Whether ``pkg`` is a Yarn Berry platform package the lockfile pins no hash for.

    Yarn writes no ``checksum`` for an entry with ``conditions`` (``os=… & cpu=…``) reached
    only through optional dependencies, fetches it only on a matching platform and checks it
    against nothing there (its cache skips the checksum of such "unstable" packages): yarn
    installs what the registry serves for that name@version. True when every occurrence is
    such an entry (a ``patch:`` of it whose source entry has a checksum is pinned by that).
    """
    return pkg.source is SourceKind.REGISTRY and all(
        o.conditions and not o.checksum and not Integrity.parse(o.integrity)
        for o in pkg.occurrences
    )


@register
class NoIntegrity(PackageRule):
    id = "lock-no-integrity"
    level = Level.WARN
    family = FAMILY
    description = "A registry or tarball entry has no integrity hash to check the download against."
    help = (
        "Without `integrity`, npm installs whatever the URL serves. A value npm cannot read as "
        "SSRI (`SHA512-...`, no `<algorithm>-<digest>` token) is no integrity to npm either. "
        "Bundled dependencies are exempt: they arrive inside their parent's tarball, which is "
        "checked. Yarn Berry's `checksum` counts: yarn checks it, though it is not comparable "
        "with the registry's. Yarn Berry's platform packages (entries with `conditions`, such "
        "as `@esbuild/linux-x64`) are exempt too: yarn never writes a checksum for them, so "
        "no command could add one; the report's coverage lists them instead (the lockfile "
        "pins no hash for them: yarn installs what the registry serves on a matching platform)."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.source not in _DOWNLOADS:
            return
        missing = [
            o
            for o in pkg.occurrences
            if not Integrity.parse(o.integrity)
            and not o.checksum
            and not o.bundled
            and not (o.conditions and pkg.source is SourceKind.REGISTRY)  # yarn writes none
        ]
        if missing:
            occ = missing[0]
            what = (
                f"an integrity npm cannot read ({occ.integrity!r})"
                if occ.integrity
                else "no integrity hash in the lockfile"
            )
            yield self.finding(
                pkg,
                what,
                evidence=(
                    _where(occ),
                    Evidence("resolved", redact(occ.resolved) or "(none)", "lockfile"),
                ),
                hint=f"{manager_for(ctx.lockfile.format).delete_and_relock()} to record its "
                "integrity",
                line=occ.line,
            )


@register
class AmbiguousIntegrity(PackageRule):
    id = "lock-integrity-ambiguous"
    level = Level.BLOCK
    family = FAMILY
    description = "An entry's integrity names two different digests for the algorithm npm checks."
    help = (
        "npm (ssri) verifies a download with the strongest algorithm the lockfile's "
        "`integrity` names and accepts the bytes when *any* digest of that algorithm matches: "
        "`sha512-A sha512-B` lets two different tarballs install, so a check of one says "
        "nothing about what npm may install. npm writes one digest per algorithm; several of "
        "one algorithm come from an edit. Weaker algorithms beside the strongest (an old "
        "`sha1-` next to `sha512-`) are not what this rule is about: npm ignores them."
    )

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        for occ in pkg.occurrences:
            value = Integrity.parse(occ.integrity)
            algorithm = value.strongest()
            if algorithm is None or len(value.digests(algorithm)) < 2:
                continue
            yield self.finding(
                pkg,
                f"the lockfile's integrity names {len(value.digests(algorithm))} different "
                f"{algorithm} digests: npm accepts bytes matching any of them",
                evidence=(_where(occ), Evidence("integrity", str(occ.integrity), "lockfile")),
                hint=f"{manager_for(ctx.lockfile.format).delete_and_relock()}, and review who "
                "edited it",
                line=occ.line,
            )
            return


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
