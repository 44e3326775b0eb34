"""Typosquatting: an unpopular name one slip away from a popular one. Offline, shipped data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from npmguard.facts import Need
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.names.popularity import FLOOR
from npmguard.rules.base import MANY, CheckContext, Option, PackageRule, register
from npmguard.rules.history import allow_entry

FAMILY = "typosquatting"


@register
class Typosquat(PackageRule):
    id = "typosquat"
    level = Level.WARN
    family = FAMILY
    description = "The name is one edit or separator away from a popular package's name."
    help = (
        "The name differs from a popular package's by one inserted, deleted, substituted or "
        "swapped character, by its separators (`cross_env` for `cross-env`), or by a `.js` "
        "suffix, while the package itself is unpopular (below `max-ratio` of the target's "
        "downloads, or below the shipped snapshot's floor). A package that is itself popular "
        "is never flagged. Targets are names with at least `target-downloads` downloads a "
        "month in the shipped snapshot. Many small legitimate packages sit one edit from a "
        "popular name (0.7% of the ~227k npm names, none of the 10,000 most downloaded, none "
        "in the two reference trees), so this warns; check that you meant the package you got. "
        "Only registry packages are judged: a workspace, a `file:` folder, git or a tarball "
        "URL is not fetched by its name."
    )
    needs = frozenset({Need.NAMES})
    options: ClassVar[Mapping[str, Option]] = {
        "target-downloads": Option(
            1_000_000, "popular names: monthly downloads at least this", 0, MANY
        ),
        "max-ratio": Option(0.001, "flag only below this share of the target's downloads", 0, 1),
        "min-length": Option(5, "ignore targets shorter than this (except a `.js` suffix)", 0, 214),
        "popular-downloads": Option(
            100_000,
            "never flag a package with this many monthly downloads itself (0: off)",
            0,
            MANY,
        ),
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        names = ctx.names
        if names is None or not pkg.on_registry:
            # no name data gathered, or not a registry package (a link, folder, git or URL
            # is not fetched by its name): nothing to judge
            return
        # most of a real tree is popular: one indexed look-up settles those packages
        own = names.downloads(pkg.name)
        guard = int(ctx.option(self, "popular-downloads"))
        if guard and own is not None and own >= guard:
            return
        from npmguard.names.typo import build_index

        index = build_index(
            names, int(ctx.option(self, "target-downloads")), int(ctx.option(self, "min-length"))
        )
        if index.target_downloads(pkg.name) is not None:
            return
        matches = index.matches(pkg.name)
        if not matches:
            return
        ratio = float(ctx.option(self, "max-ratio"))
        best = next((m for m in matches if own is None or own < m.target_downloads * ratio), None)
        if best is None:
            return
        own_text = f"about {own:,}" if own is not None else f"fewer than {FLOOR:,}"
        yield self.finding(
            pkg,
            f"name is one {best.kind} away from popular {best.target!r}",
            evidence=(
                Evidence("popular name", best.target, "popular-names snapshot"),
                Evidence("difference", best.kind, "name"),
                Evidence(
                    "monthly downloads",
                    f"{best.target}: about {best.target_downloads:,}; {pkg.name}: {own_text}",
                    "popular-names snapshot",
                ),
            ),
            hint=(
                f"if you meant {best.target!r}, fix the dependency; if {pkg.name!r} is the "
                "package you want: " + allow_entry(pkg.name, pkg.version, self.id)
            ),
        )
