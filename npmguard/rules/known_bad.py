"""Known-bad from the registry itself: taken down, replaced by a placeholder, a version pulled,
bytes that differ from what the registry publishes.

Every rule here reads the package document (``Need.PACKUMENT``); unknown facts (offline with
nothing cached, a registry error) never produce a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from npmguard.facts import SECURITY_VERSION, FactsStatus, Need, PackageFacts
from npmguard.integrity import Integrity
from npmguard.managers import manager_for
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.rules.history import day
from npmguard.semver import compare, sort_versions, valid_version
from npmguard.urls import redact

FAMILY = "known-bad"
PACKUMENT = frozenset({Need.PACKUMENT})
# the name data too: advice for a package taken down says which popular name was meant
PACKUMENT_NAMES = frozenset({Need.PACKUMENT, Need.NAMES})
HOLDER_DESCRIPTION = "security holding package"
HOLDER_REPOSITORY = "npm/security-holder"


def _registry_facts(pkg: LockedPackage, ctx: CheckContext) -> PackageFacts | None:
    return ctx.facts_for(pkg) if pkg.on_registry else None


def _remove(pkg: LockedPackage, ctx: CheckContext, why: str = "") -> str:
    """The first step: remove the package (and what brings it in), or, for a name the command
    being checked adds (the npm wrapper says which; it was never in package.json), do not
    add it. ``why`` follows the name (": npm replaced it ...")."""
    if pkg.name in ctx.project.adding:
        return f"do not add {pkg.name}{why}; this command would add it (nothing was installed)"
    return f"remove {pkg.name}{why}; {_dependents(pkg, ctx)}"


def _dependents(pkg: LockedPackage, ctx: CheckContext) -> str:
    """Where the package comes from, and so what removes it."""
    if pkg.name in ctx.project.adding:
        return "this command would add it"
    if not pkg.dependents:
        return "it is a direct dependency: remove it from package.json"
    shown = ", ".join(pkg.dependents[:3]) + (" ..." if len(pkg.dependents) > 3 else "")
    return f"it comes in through {shown}: update or replace those"


def _did_you_mean(pkg: LockedPackage, ctx: CheckContext) -> str:
    """ "did you mean cross-env?" when the name is a slip for a popular one (name data from
    ``ctx.names``), else ""."""
    if ctx.names is None:
        return ""
    from npmguard.names.typo import meant

    target = meant(ctx.names, pkg.name)
    add = manager_for(ctx.lockfile.format).add
    return f"; did you mean {target} (`{add} {target}`)?" if target else ""


def _holder_description(text: str | None) -> bool:
    """npm's placeholder descriptions: today's, and the one it used until about 2017."""
    words = (text or "").strip().lower()
    return words == HOLDER_DESCRIPTION or "npm is hanging on to the package name" in words


def is_security_version(version: str) -> bool:
    # the substring test first: asked of every locked version and dist-tag
    return "-security" in version and SECURITY_VERSION.match(version) is not None


@register
class RemovedPackage(PackageRule):
    id = "removed-package"
    level = Level.BLOCK
    family = FAMILY
    description = "The registry took the package down, or no longer has it at all."
    help = (
        "npm removes malware and spam by deleting every version (the package document is left "
        "with `versions: {}`), by unpublishing (`time.unpublished`), or entirely (the registry "
        "answers 404). A lockfile that still names such a package installs something the "
        "registry no longer vouches for, or fails: either way, find out why it went."
    )
    needs = PACKUMENT_NAMES

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None or facts.registry is None:
            return
        if facts.status is not FactsStatus.NOT_FOUND and (
            facts.status is not FactsStatus.KNOWN
            or facts.versions is None
            or (facts.unpublished is None and facts.versions)
        ):
            return  # the registry has the package: no finding (the name advice is not needed)
        hint = _remove(pkg, ctx) + _did_you_mean(pkg, ctx)
        where = Evidence("registry", redact(facts.registry), "npm config")
        if facts.status is FactsStatus.NOT_FOUND:
            resolved = pkg.resolved
            if resolved is not None and not resolved.startswith(facts.registry):
                return  # the lockfile says it came from elsewhere; lock-host rules judge that
            yield self.finding(
                pkg,
                f"{pkg.name} does not exist on the registry any more (HTTP 404)",
                evidence=(
                    where,
                    Evidence("registry answer", "404 Not Found", "registry"),
                    Evidence(
                        "resolved", redact(resolved) or "(none: the default registry)", "lockfile"
                    ),
                ),
                hint=hint,
            )
            return
        if facts.status is not FactsStatus.KNOWN or facts.versions is None:
            return
        if facts.unpublished is not None:
            yield self.finding(
                pkg,
                f"{pkg.name} was unpublished from the registry on {day(facts.unpublished)}",
                evidence=(
                    where,
                    Evidence("unpublished", facts.unpublished.isoformat(), "registry"),
                ),
                hint=hint,
            )
        elif not facts.versions:
            tags = ", ".join(f"{k}={v}" for k, v in (facts.dist_tags or {}).items()) or "none"
            yield self.finding(
                pkg,
                f"the registry has {pkg.name} but no versions of it: taken down",
                evidence=(
                    where,
                    Evidence("versions", "0", "registry"),
                    Evidence("dist-tags", tags, "registry"),
                ),
                hint=hint,
            )


@register
class RegistryRefused(PackageRule):
    id = "registry-refused"
    level = Level.BLOCK
    family = FAMILY
    description = "The registry refuses to serve this package (HTTP 403) while it serves others."
    help = (
        "Curating registries (Artifactory curation, Nexus firewall, Socket's registry "
        "firewall, some mirrors) answer 403 for a package their security policy blocks and "
        "serve everything else; `npm install` then fails with E403 on it. A 403 for one "
        "package from a registry that answered for other packages in the same run is that "
        "registry's verdict on the package, reported with its own words. When every package "
        "is refused the registry is refusing you, not the packages: no finding, and a warning "
        "to check the credentials in `.npmrc` instead."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None or facts.status is not FactsStatus.REFUSED:
            return
        yield self.finding(
            pkg,
            f"the registry refuses to serve {pkg.name}: {facts.error}",
            evidence=(
                Evidence("registry", redact(facts.registry), "npm config"),
                Evidence("registry answer", "403 Forbidden", "registry"),
                Evidence("registry's message", facts.error or "(none)", "registry"),
            ),
            hint=(
                f"ask who runs the registry why it blocks {pkg.name}; {_dependents(pkg, ctx)}. "
                "npm install will fail on it anyway"
            ),
        )


@register
class SecurityHolder(PackageRule):
    id = "security-holder"
    level = Level.BLOCK
    family = FAMILY
    description = "The package is an npm security placeholder (0.0.1-security): it was malware."
    help = (
        "When npm takes a malicious package down it often publishes an empty placeholder "
        "(`0.0.1-security`, `0.0.2-security`, `1.0.0-security`, ...) described as "
        '"security holding package" from the `npm/security-holder` repository, so the name '
        "cannot be taken again. A lockfile that locks the placeholder, or a package whose "
        "latest version is one, points at a package npm removed for malware or typosquatting. "
        "A version named like one whose registry entry names its own repository is a real "
        "release (yargs-parser 5.0.0-security.0 backported a fix) and is not reported."
    )
    needs = PACKUMENT_NAMES

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        manifest = facts.manifest if facts is not None else None
        latest = facts.latest if facts is not None else None
        if not is_security_version(pkg.version) and not (
            latest is not None and is_security_version(latest)
        ):
            return  # no placeholder: no finding (the name advice is not needed)
        meant = _did_you_mean(pkg, ctx)
        hint = _remove(pkg, ctx, ": npm replaced it after taking malware down") + (
            meant or "; if you meant a similarly named package, check the spelling"
        )
        if is_security_version(pkg.version):
            evidence = [Evidence("locked version", pkg.version, "lockfile")]
            if manifest is not None:
                if _holder_description(manifest.description):
                    evidence.append(Evidence("description", manifest.description or "", "registry"))
                if HOLDER_REPOSITORY in (manifest.repository or ""):
                    evidence.append(Evidence("repository", manifest.repository or "", "registry"))
            confirmed = len(evidence) > 1
            if manifest is not None and not confirmed and manifest.repository:
                # the registry shows a real release named like one (yargs-parser
                # 5.0.0-security.0, a backported fix from yargs's own repository)
                return
            yield self.finding(
                pkg,
                f"{pkg.key} is an npm security placeholder"
                + (" (confirmed by the registry)" if confirmed else ""),
                evidence=tuple(evidence),
                hint=hint,
            )
        elif latest is not None and is_security_version(latest):
            yield self.finding(
                pkg,
                f"npm replaced {pkg.name} with a security placeholder ({latest}): the package "
                "was taken down",
                evidence=(
                    Evidence("dist-tags.latest", latest, "registry"),
                    Evidence("locked version", pkg.version, "lockfile"),
                ),
                hint=hint,
            )


@register
class VersionMissing(PackageRule):
    id = "version-missing"
    level = Level.BLOCK
    family = FAMILY
    description = "The locked version is no longer on the registry, while others still are."
    help = (
        "npm pulls single versions after a compromise is found (event-stream@3.3.6 carried the "
        "flatmap-stream payload) and leaves the versions around them. A lockfile that still "
        "locks a pulled version installs the bad release from caches and mirrors."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if (
            facts is None
            or facts.status is not FactsStatus.KNOWN
            or not facts.versions
            or facts.version_present is not False
            or facts.unpublished is not None
        ):
            return
        names = [v.version for v in facts.versions]
        below, above = _neighbours(pkg.version, names)
        evidence = [
            Evidence("locked version", pkg.version, "lockfile"),
            Evidence("versions on the registry", str(len(names)), "registry"),
        ]
        if below:
            evidence.append(Evidence("nearest version below", below, "registry"))
        if above:
            evidence.append(Evidence("nearest version above", above, "registry"))
        safe = below or facts.latest
        hint = (
            f"{pkg.name}@{safe} is the newest version below it that the registry still has; "
            f"pin that (or upgrade past it) and regenerate the lockfile"
            if safe
            else f"pick another version of {pkg.name} and regenerate the lockfile"
        )
        gone = (
            "was removed from the registry"
            if facts.version_removed
            else "is not on the registry (never published, or removed)"
        )
        yield self.finding(
            pkg,
            f"{pkg.key} {gone}; {len(names)} other versions remain",
            evidence=tuple(evidence),
            hint=hint,
        )


def _neighbours(version: str, versions: list[str]) -> tuple[str | None, str | None]:
    if not valid_version(version):
        return None, None
    ordered = sort_versions(v for v in versions if valid_version(v) and "-" not in v)
    below = [v for v in ordered if compare(v, version) < 0]
    above = [v for v in ordered if compare(v, version) > 0]
    return (below[-1] if below else None), (above[0] if above else None)


def _registry_integrity(integrity: str | None, shasum: str | None) -> Integrity:
    """The registry's ``dist.integrity`` plus ``dist.shasum`` (sha1 hex) as one SSRI value."""
    parsed = Integrity.parse(integrity)
    if shasum and re.fullmatch(r"[0-9a-fA-F]{40}", shasum):
        parsed = parsed | Integrity.from_hex("sha1", shasum)
    return parsed


@register
class IntegrityMismatch(PackageRule):
    id = "integrity-mismatch"
    level = Level.BLOCK
    family = FAMILY
    description = (
        "The lockfile's integrity differs from the registry's for that version, or from the "
        "bytes the registry serves."
    )
    help = (
        "Published versions never change, so the integrity npm recorded must equal the "
        "registry's `dist.integrity` (or `dist.shasum` for old sha1 lockfiles). A difference "
        "means the lockfile was edited to point at other bytes, or the registry (or a mirror) "
        "serves something else than it did. When the tarball is downloaded (its content "
        "matters for the verdict), the bytes served are checked too: npm would refuse them "
        "(EINTEGRITY), and their content is never read."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        problem = facts.content_problem if facts is not None else None
        if problem is not None and problem.kind == "integrity":
            yield self.finding(
                pkg,
                f"{pkg.key}: the tarball served does not match the lockfile's integrity",
                evidence=(
                    Evidence("lockfile integrity", pkg.integrity or "", "lockfile"),
                    Evidence("bytes served", problem.served or "unknown", "registry tarball"),
                    Evidence("check", problem.reason, "npmguard"),
                ),
                hint=f"do not install {pkg.key} until you know why the registry (or a mirror "
                "or proxy) serves other bytes than the ones locked",
            )
        manifest = facts.manifest if facts is not None else None
        if manifest is None:
            return
        published = manifest.dist_integrity
        registry: Integrity | None = None
        for occurrence in pkg.occurrences:
            if occurrence.integrity == published:
                continue  # the registry's own text: every hash in it is the registry's
            if registry is None:
                registry = _registry_integrity(published, manifest.dist_shasum)
            locked = Integrity.parse(occurrence.integrity)
            algo = locked.common_algorithm(registry)
            if algo is None or locked.matches(registry):
                continue  # nothing to compare (unknown), or a match
            yield self.finding(
                pkg,
                f"{pkg.key}: the lockfile's {algo} integrity differs from the registry's",
                evidence=(
                    Evidence(
                        "lockfile integrity",
                        occurrence.integrity or "",
                        f"lockfile {occurrence.path}",
                    ),
                    Evidence(
                        "registry integrity",
                        f"{algo}-{sorted(registry.digests(algo))[0]}",
                        "registry dist.shasum"
                        if algo == "sha1" and manifest.dist_shasum
                        else "registry dist.integrity",
                    ),
                ),
                hint=(
                    f"do not install it until you know why: delete the {occurrence.path} entry "
                    f"and lock {pkg.key} again from the registry "
                    f"(`{manager_for(ctx.lockfile.format).relock}`)"
                ),
                line=occurrence.line if occurrence.line is not None else pkg.line,
            )
