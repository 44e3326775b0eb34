"""Dormant traps and takeovers: what a release changes compared with the package's history.

Every rule here reads the registry's package document (``Need.PACKUMENT``). Unknown facts
(no publish times, no publisher, no provenance flag) never produce a finding. "The previous
version" is defined in :mod:`npmguard.rules.history`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from npmguard.facts import Detail, ManifestFacts, Need, PackageFacts, VersionInfo
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import CheckContext, Option, PackageRule, register
from npmguard.rules.history import (
    allow_entry,
    day,
    earlier_versions,
    last_release_before,
    newest,
    previous_version,
)

FAMILY = "dormant trap / takeover"
PACKUMENT = frozenset({Need.PACKUMENT})
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
# a new bin with one of these names shadows a command people and scripts run all the time
SHADOWED_COMMANDS = frozenset(
    [
        "node",
        "npm",
        "npx",
        "yarn",
        "pnpm",
        "git",
        "sh",
        "bash",
        "zsh",
        "ls",
        "cp",
        "mv",
        "rm",
        "cat",
        "curl",
        "wget",
        "ssh",
        "sudo",
        "python",
        "python3",
        "pip",
        "make",
        "gcc",
        "tar",
        "env",
        "which",
        "code",
        "docker",
        "kubectl",
    ]
)


def _added_since_previous(
    facts: PackageFacts,
    from_manifest: Callable[[ManifestFacts], Iterable[str]],
    from_info: Callable[[VersionInfo], tuple[str, ...] | None],
) -> tuple[list[str], VersionInfo] | None:
    """Names (bins, dependencies) the locked version has and its previous version had not,
    with that previous version; None when either side is unknown or nothing was added."""
    info = facts.version_info()
    current: set[str] | None = None
    if facts.manifest is not None:
        current = set(from_manifest(facts.manifest))
    elif info is not None and (names := from_info(info)) is not None:
        current = set(names)
    prev = previous_version(facts)
    before = from_info(prev) if prev is not None else None
    if not current or prev is None or before is None:
        return None
    added = sorted(current - set(before))
    return (added, prev) if added else None


def _registry_facts(pkg: LockedPackage, ctx: CheckContext) -> PackageFacts | None:
    if not pkg.on_registry:
        return None
    facts = ctx.facts_for(pkg)
    return facts if facts is not None and facts.versions else None


def _pin_hint(facts: PackageFacts, prev: VersionInfo | None, what: str, rule: str) -> str:
    if prev is not None:
        return (
            f"review {facts.key} before installing it; {facts.name}@{prev.version} is the "
            f"previous release ({what}); pin that exact version, or once reviewed: "
            + allow_entry(facts.name, facts.version, rule)
        )
    return f"review {facts.key}; once reviewed: " + allow_entry(facts.name, facts.version, rule)


def _published(facts: PackageFacts) -> datetime | None:
    info = facts.version_info()
    return None if info is None else info.published


@register
class DormantWake(PackageRule):
    id = "dormant-wake"
    level = Level.WARN
    family = FAMILY
    description = "The locked version was published recently after a long quiet period."
    help = (
        "A package that had no release for a long time (`quiet_days`, default 365) and then "
        "gets a new one, published within `recent_days` (default 30) of the check, is the "
        "shape of a dormant-package takeover: coa 2.0.3 and rc 1.2.9 (November 2021) were "
        "years-old packages republished with a malicious preinstall. Most such releases are "
        "routine, so this warns; it adds weight to `new-install-script`, which blocks when a "
        "woken package also gains an install script. Needs real publish times."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISH_TIMES})
    options: ClassVar[Mapping[str, Option]] = {
        "recent_days": Option(30, "the release is recent when at most this many days old"),
        "quiet_days": Option(365, "a gap of at least this many days before it is a quiet period"),
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        wake = dormant_gap(facts, ctx, self)
        if wake is None:
            return
        prev, gap = wake
        published = _published(facts)
        yield self.finding(
            pkg,
            f"released {day(published)} after {gap.days} days without a release",
            evidence=(
                Evidence("published", day(published), "registry"),
                Evidence(
                    "last release before this one",
                    f"{prev.version} on {day(prev.published)}",
                    "registry",
                ),
                Evidence("quiet period", f"{gap.days} days", "registry"),
            ),
            hint=_pin_hint(facts, prev, f"published {day(prev.published)}", self.id),
        )


def dormant_gap(
    facts: PackageFacts, ctx: CheckContext, rule: type[DormantWake] | DormantWake = DormantWake
) -> tuple[VersionInfo, timedelta] | None:
    """(last release before, gap) when the locked version is a recent wake-up, else None."""
    published = _published(facts)
    prev = last_release_before(facts)
    if published is None or prev is None or prev.published is None:
        return None
    if ctx.now - published > timedelta(days=int(ctx.option(rule, "recent_days"))):
        return None
    gap = published - prev.published
    if gap < timedelta(days=int(ctx.option(rule, "quiet_days"))):
        return None
    return prev, gap


def _install_scripts(facts: PackageFacts) -> dict[str, str] | None:
    """This version's install-time scripts: {} for none, None when unknown."""
    if facts.manifest is not None:
        found = {k: v for k, v in facts.manifest.scripts.items() if k in INSTALL_SCRIPTS}
        if facts.manifest.gyp_file and not ({"install", "preinstall"} & found.keys()):
            found["install"] = "node-gyp rebuild (implicit: gypfile)"
        return found
    info = facts.version_info()
    if info is not None and info.has_install_script is not None:
        return {"install script": "(text unknown)"} if info.has_install_script else {}
    return None


def new_publisher(facts: PackageFacts) -> tuple[str, list[str]] | None:
    """(publisher, earlier publishers) when this version's publisher never published before."""
    info = facts.version_info()
    publisher = info.publisher if info is not None else None
    if publisher is None and facts.manifest is not None:
        publisher = facts.manifest.publisher
    if publisher is None:
        return None
    earlier = [v.publisher for v in earlier_versions(facts) if v.publisher]
    if not earlier or publisher in earlier:
        return None
    return publisher, sorted(set(earlier))


def _takeover_signs(facts: PackageFacts, ctx: CheckContext) -> list[Evidence]:
    """What else about this release looks like a takeover: it ends a quiet period, comes from
    a publisher who never published the package, or lost the provenance earlier versions had."""
    out = []
    wake = dormant_gap(facts, ctx)
    if wake is not None:
        out.append(Evidence("after a quiet period", f"{wake[1].days} days", "registry"))
    changed = new_publisher(facts)
    if changed is not None and not _has_provenance(facts):
        out.append(Evidence("new publisher", changed[0], "registry"))
    lost = provenance_lost(facts)
    if lost is not None:
        out.append(Evidence("provenance lost", f"{lost[0].version} had it", "registry"))
    return out


@register
class NewInstallScript(PackageRule):
    id = "new-install-script"
    level = Level.WARN
    family = FAMILY
    description = "The locked version has an install script the previous version did not have."
    help = (
        "A preinstall/install/postinstall that appears in a new version runs on every machine "
        "that installs it. ua-parser-js 0.7.29, coa 2.0.3, rc 1.2.9 and the Shai-Hulud worm's "
        "versions all added one. Some legitimate releases add one too (a native build), so "
        "this warns; it is raised one level (block by default) when the same version also "
        "ends a quiet period (`dormant-wake`'s thresholds), comes from a publisher who never "
        "published the package before, or lost the provenance earlier versions had."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        scripts = _install_scripts(facts)
        prev = previous_version(facts)
        if not scripts or prev is None or prev.has_install_script is not False:
            return
        evidence = [Evidence(f"script {k}", v, "registry") for k, v in scripts.items()]
        evidence.append(
            Evidence("previous version", f"{prev.version}: no install script", "registry")
        )
        takeover = _takeover_signs(facts, ctx)
        evidence += takeover
        level = Level(min(Level.BLOCK, self.level + 1)) if takeover else self.level
        yield self.finding(
            pkg,
            f"adds an install script ({', '.join(scripts)}) that {prev.version} did not have",
            evidence=tuple(evidence),
            hint=_pin_hint(facts, prev, "without an install script", self.id),
            level=level,
        )


@register
class NewBin(PackageRule):
    id = "new-bin"
    level = Level.INFO
    family = FAMILY
    description = "The locked version adds a command (bin) the previous version did not have."
    help = (
        "A new `bin` entry puts a command into `node_modules/.bin`, ahead of the system's on "
        "the PATH of npm scripts. Usually a feature; a warning when the name shadows a common "
        "command (node, npm, git, sh, curl, ...)."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        found = _added_since_previous(facts, lambda m: m.bin, lambda v: v.bin_names)
        if found is None:
            return
        added, prev = found
        shadows = [b for b in added if b in SHADOWED_COMMANDS]
        evidence = [Evidence("new bin", b, "registry") for b in added]
        evidence.append(
            Evidence(
                "previous version bins",
                f"{prev.version}: {', '.join(prev.bin_names or ()) or '(none)'}",
                "registry",
            )
        )
        yield self.finding(
            pkg,
            f"adds command(s) {', '.join(added)}"
            + (f", shadowing {', '.join(shadows)}" if shadows else ""),
            evidence=tuple(evidence),
            hint=_pin_hint(facts, prev, "without these commands", self.id),
            level=Level.WARN if shadows else self.level,
        )


@register
class NewDependency(PackageRule):
    id = "new-dependency"
    level = Level.INFO
    family = FAMILY
    description = "The locked version adds a dependency the previous version did not have."
    help = (
        "Routine releases add dependencies all the time, so this is information. A new "
        "dependency whose package was itself created within `new_days` (default 30) of this "
        "release is the event-stream 3.3.6 shape (flatmap-stream, created days before it was "
        "added by a new maintainer): that case is raised one level (warn by default), and two "
        "(block by default) when the release also ends a quiet period, comes from a new "
        "publisher or lost provenance. The dependency's creation date is read from its facts "
        "when it is in the same tree."
    )
    needs = PACKUMENT
    options: ClassVar[Mapping[str, Option]] = {
        "new_days": Option(30, "a dependency created this many days or fewer before is brand-new")
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        found = _added_since_previous(facts, lambda m: m.dependencies, lambda v: v.dependency_names)
        if found is None:
            return
        added, prev = found
        when = _published(facts) or ctx.now
        window = timedelta(days=int(ctx.option(self, "new_days")))
        created = self._created(pkg, ctx)
        # a new sibling in the package's own scope is the same owner's work, not a stranger's
        brand_new = [
            n
            for n in added
            if created.get(n) is not None
            and when - created[n] <= window  # type: ignore[operator]
            and not (pkg.scope is not None and n.startswith(pkg.scope + "/"))
        ]
        evidence = [
            Evidence(
                "new dependency",
                f"{n}@{facts.manifest.dependencies.get(n, '?') if facts.manifest else '?'}"
                + (f" (package created {day(created[n])})" if created.get(n) else ""),
                "registry",
            )
            for n in added
        ]
        evidence.append(Evidence("previous version", prev.version, "registry"))
        message = f"adds dependenc{'y' if len(added) == 1 else 'ies'} {', '.join(added)}"
        level = self.level
        if brand_new:
            message += f"; brand-new package(s): {', '.join(brand_new)}"
            level = Level(min(Level.BLOCK, self.level + 1))
            # the event-stream shape: a brand-new dependency from a new hand, or after silence
            takeover = _takeover_signs(facts, ctx)
            if takeover:
                evidence += takeover
                level = Level(min(Level.BLOCK, self.level + 2))
        yield self.finding(
            pkg,
            message,
            evidence=tuple(evidence),
            hint=_pin_hint(facts, prev, "without these dependencies", self.id),
            level=level,
        )

    @staticmethod
    def _created(pkg: LockedPackage, ctx: CheckContext) -> dict[str, datetime | None]:
        out: dict[str, datetime | None] = {}
        for key in pkg.requires:
            dep = ctx.facts.get(key)
            if dep is not None:
                out[dep.name] = dep.created
        return out


@register
class PublisherChange(PackageRule):
    id = "publisher-change"
    level = Level.WARN
    family = FAMILY
    description = "The locked version was published by an account that never published the package."
    help = (
        "The account that published this version (`_npmUser`) published none of the earlier "
        "versions: a new maintainer, or someone who took the package over (event-stream 3.3.6 "
        "by right9ctrl). Phished maintainers publish under their own name (the 2025 chalk/debug "
        "compromise), which this rule does not see; `provenance-lost` and `new-install-script` "
        "may. A new publisher whose release carries a provenance attestation (a move to "
        "trusted publishing from CI) is reported one level lower (info by default). Unknown "
        "publishers never count."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISHERS})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        changed = new_publisher(facts)
        if changed is None:
            return
        publisher, earlier = changed
        prev = previous_version(facts)
        evidence = [
            Evidence("publisher", publisher, "registry"),
            Evidence("earlier publishers", ", ".join(earlier), "registry"),
        ]
        attested = _has_provenance(facts)
        if attested:
            evidence.append(Evidence("this version", "has a provenance attestation", "registry"))
        yield self.finding(
            pkg,
            f"published by {publisher}, who published no earlier version",
            evidence=tuple(evidence),
            hint=_pin_hint(facts, prev, "by an earlier publisher", self.id),
            # moving to CI (trusted) publishing changes the account but proves the source
            level=Level(max(Level.INFO, self.level - 1)) if attested else self.level,
        )


def _has_provenance(facts: PackageFacts) -> bool | None:
    info = facts.version_info()
    has = info.has_provenance if info is not None else None
    if has is None and facts.manifest is not None:
        has = facts.manifest.has_attestations
    return has


def provenance_lost(facts: PackageFacts) -> tuple[VersionInfo, VersionInfo | None] | None:
    """(latest earlier version with provenance, newest such) when this version lost it."""
    if _has_provenance(facts) is not False:
        return None
    known = [v for v in earlier_versions(facts) if v.has_provenance is not None]
    if not known or not known[-1].has_provenance:
        return None
    return known[-1], newest(v for v in known if v.has_provenance)


@register
class ProvenanceLost(PackageRule):
    id = "provenance-lost"
    level = Level.WARN
    family = FAMILY
    description = "Earlier versions carried provenance attestations; the locked version does not."
    help = (
        "A package that publishes from CI with provenance and then ships a version without it "
        "was likely published by hand, from a stolen token (the pattern of the 2025 Shai-Hulud "
        "and nx compromises). Compared with the latest earlier version whose provenance is known."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PROVENANCE})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        lost = provenance_lost(facts)
        if lost is None:
            return
        last, safe = lost
        yield self.finding(
            pkg,
            f"no provenance attestation, though {last.version} had one",
            evidence=(
                Evidence("this version", "no attestations", "registry"),
                Evidence("earlier version with provenance", last.version, "registry"),
            ),
            hint=_pin_hint(facts, safe or last, "with provenance", self.id),
        )


@register
class TooNew(PackageRule):
    id = "too-new"
    level = Level.WARN
    family = FAMILY
    description = "The locked version is younger than the minimum release age (cool-down)."
    help = (
        "Most malicious releases are found and removed within hours to days (chalk/debug 2025: "
        "about 2 hours; ua-parser-js 2021: about 4 hours; Shai-Hulud: 1 to 2 days). Waiting "
        "`days` (default 2) before installing a new version avoids most of them. Unlike npm's "
        "`min-release-age`, this also applies to `npm ci` on an existing lockfile. It warns by "
        "default (fresh versions are normal while upgrading); the strict policy blocks."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISH_TIMES})
    options: ClassVar[Mapping[str, Option]] = {
        "days": Option(2, "minimum age of a version, in days")
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _registry_facts(pkg, ctx)
        if facts is None:
            return
        published = _published(facts)
        days = float(ctx.option(self, "days"))
        if published is None or days <= 0 or ctx.now - published >= timedelta(days=days):
            return
        age = ctx.now - published
        cutoff = ctx.now - timedelta(days=days)
        old_enough = newest(
            (v for v in facts.versions or () if v.published is not None and v.published <= cutoff),
            below=facts.version,
        )
        hint = (
            f"wait until {(published + timedelta(days=days)).date().isoformat()}, or use "
            f"{facts.name}@{old_enough.version} (published {day(old_enough.published)})"
            if old_enough is not None
            else f"wait until {(published + timedelta(days=days)).date().isoformat()}"
        )
        yield self.finding(
            pkg,
            f"published {age.total_seconds() / 3600:.0f} hours ago, "
            f"under the {days:g}-day cool-down",
            evidence=(Evidence("published", published.isoformat(timespec="minutes"), "registry"),),
            hint=hint,
        )


@register
class NewPackage(PackageRule):
    id = "new-package"
    level = Level.WARN
    family = FAMILY
    description = "The package itself was created recently."
    help = (
        "A package first published within `days` (default 30) has no track record: spam, "
        "dependency-confusion probes and typosquats are all young. Needs the registry's "
        "`time.created`."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISH_TIMES})
    options: ClassVar[Mapping[str, Option]] = {
        "days": Option(30, "a package younger than this many days is new")
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if not pkg.on_registry:
            return
        facts = ctx.facts_for(pkg)
        if facts is None or facts.created is None:
            return
        days = int(ctx.option(self, "days"))
        age = ctx.now - facts.created
        if age > timedelta(days=days):
            return
        yield self.finding(
            pkg,
            f"package created {day(facts.created)}, {max(age.days, 0)} days ago",
            evidence=(
                Evidence("created", facts.created.isoformat(timespec="minutes"), "registry"),
            ),
            hint="check who publishes it and why it is in the tree; once reviewed: "
            + allow_entry(pkg.name, pkg.version, self.id),
        )
