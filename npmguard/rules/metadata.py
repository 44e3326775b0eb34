"""What the registry says about a package besides its code: deprecation."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter

from npmguard.facts import Need
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.rules.history import day, locked_detail, newest
from npmguard.versions import VersionList

FAMILY = "metadata"


@register
class Deprecated(PackageRule):
    id = "deprecated"
    level = Level.INFO
    family = FAMILY
    description = "The locked version is deprecated on the registry."
    help = (
        "The maintainers marked this version deprecated, usually with a reason and a "
        "replacement in the message (shown as evidence). Information only: deprecated "
        "packages still work, but they get no fixes."
    )
    needs = frozenset({Need.PACKUMENT})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.facts_for(pkg) if pkg.on_registry else None
        if facts is None:
            return
        message = facts.manifest.deprecated if facts.manifest is not None else None
        if not message:
            message = locked_detail(facts, VersionList.deprecation_at, attrgetter("deprecated"))
        if not message:
            return
        info = facts.version_info()
        # versions never flagged deprecated; a version with unknown state is not proof
        fine = newest(
            v for v in facts.versions or () if v.deprecated is None and v.version != pkg.version
        )
        if fine is not None and info is not None and info.published and fine.published:
            when = f" (published {day(fine.published)})"
        else:
            when = ""
        hint = (
            f"{pkg.name}@{fine.version}{when} is not deprecated; or follow the message"
            if fine is not None
            else "follow the deprecation message: it usually names the replacement"
        )
        yield self.finding(
            pkg,
            f"deprecated: {message}",
            evidence=(Evidence("deprecation message", message, "registry"),),
            hint=hint,
        )
