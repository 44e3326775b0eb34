"""Known-bad feeds: a package an imported OSV malicious-package record names."""

from __future__ import annotations

from collections.abc import Iterator

from npmguard.facts import FeedMatch, Need
from npmguard.model import Evidence, Finding, Level, LockedPackage, SourceKind
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.urls import redact

FAMILY = "known-bad"


def _hashes(pkg: LockedPackage, ctx: CheckContext) -> str | None:
    """Every integrity the lockfile and the registry give, space separated (SSRI and hex)."""
    values = [occ.integrity for occ in pkg.occurrences if occ.integrity]
    facts = ctx.facts_for(pkg)
    if facts is not None and facts.manifest is not None:
        values += [v for v in (facts.manifest.dist_integrity, facts.manifest.dist_shasum) if v]
    return " ".join(dict.fromkeys(values)) or None


@register
class KnownMalicious(PackageRule):
    id = "known-malicious"
    level = Level.BLOCK
    family = FAMILY
    description = "An imported OSV feed (OpenSSF malicious-packages) marks this package malicious."
    help = (
        "Matches every package against the OSV records imported with `npmguard db update`: by "
        "name and the record's listed versions or SEMVER ranges (npm ordering), and by tarball "
        "hash when the record gives one (`database_specific.indicators.package_integrity`), so a "
        "known-bad tarball is caught whatever version it claims. Withdrawn records never match.\n\n"
        "Some records carry a bare `introduced: 0` range (the first advisory, meaning every "
        "version) next to a corrected narrower range. A version matched only by that catch-all "
        "is reported one level lower (warn by default), with the record id, so a policy can "
        "allow it by name and rule once the version is known good. Without an imported feed "
        "this rule reports nothing: run `npmguard db update`.\n\n"
        "Records are about registry packages. A package the lockfile takes from elsewhere (a "
        "workspace or `file:` link, a local tarball, git, a tarball URL) is not the registry "
        "package of the same name: it is matched only by tarball hash, and a name match is "
        "reported as a note (info for local code, warn for remote code) that the name "
        "shadows a known-malicious registry package, the dependency-confusion hazard if npm "
        "ever resolves that name from the registry instead."
    )
    needs = frozenset({Need.FEED})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        feed = ctx.feed
        if feed is None:
            return
        for found in feed.match(pkg.name, pkg.version, _hashes(pkg, ctx)):
            if pkg.on_registry or found.how == "integrity":
                yield self._finding(pkg, found, adding=pkg.name in ctx.project.adding)
            else:
                yield self._shadowed(pkg, found)

    def _shadowed(self, pkg: LockedPackage, m: FeedMatch) -> Finding:
        """A name match on code that does not come from the registry (rw-01)."""
        local = pkg.source in (SourceKind.LINK, SourceKind.FILE)
        where = f"feed {m.record_id}"
        return self.finding(
            pkg,
            f"{m.record_id} marks the registry package {pkg.name} malicious; this one is "
            f"{'local code' if local else f'fetched from {pkg.source}'}, not that package, "
            "but shares its name",
            evidence=(
                Evidence("feed record", m.record_id, m.source),
                Evidence("source", str(pkg.source), "lockfile"),
                Evidence("resolved", redact(pkg.resolved) or "(none)", "lockfile"),
                Evidence("details", m.link, where),
            ),
            hint=(
                f"keep {pkg.name} {'linked' if local else 'pinned to this source'}: if npm "
                "ever resolves the name from the registry it installs the malicious package; "
                "renaming it (or a scope you own) removes the hazard"
            ),
            level=Level.INFO if local else Level.WARN,
        )

    def _finding(self, pkg: LockedPackage, m: FeedMatch, *, adding: bool = False) -> Finding:
        where = f"feed {m.record_id}"
        evidence = [Evidence("feed record", m.record_id, m.source)]
        if m.summary:
            evidence.append(Evidence("summary", m.summary, where))
        if m.how == "integrity":
            evidence.append(Evidence("tarball hash in the record", m.matched, where))
            what = f"its tarball hash is in {m.record_id}"
            if m.name != pkg.name:
                evidence.append(Evidence("package named by the record", m.name, where))
                what += f" (a record for {m.name})"
        elif m.how == "version":
            evidence.append(Evidence("affected version", m.matched, where))
            what = f"{m.record_id} lists version {pkg.version}"
        else:
            evidence.append(Evidence("affected range", m.matched, where))
            what = f"{m.record_id} covers it ({m.matched})"
        if m.aliases:
            evidence.append(Evidence("aliases", ", ".join(m.aliases), where))
        if m.published:
            evidence.append(Evidence("published", m.published, where))
        evidence.append(Evidence("details", m.link, where))
        level = self.level
        hint = (
            f"do not add {pkg.name}: this command would add it (nothing was installed)"
            if adding
            else f"remove {pkg.name} or replace it with a version the record does not cover; if "
            "it was ever installed, treat that machine as compromised and rotate its secrets"
        )
        if m.catch_all_only:
            level = Level.WARN
            evidence.append(Evidence("narrower ranges in the record", m.narrower, where))
            what = (
                f"{m.record_id} matches it only by the record's catch-all range (introduced: 0) "
                f"while it also lists narrower ranges {m.narrower}"
            )
            hint = (
                "if this version is known good, allow it in the policy: "
                f'[[allow]] package = "{pkg.name}" rules = ["{self.id}"] '
                f'reason = "{m.record_id} catch-all range; version outside {m.narrower}"'
            )
        return self.finding(
            pkg,
            f"known malicious: {what}",
            evidence=tuple(evidence),
            hint=hint,
            level=level,
        )
