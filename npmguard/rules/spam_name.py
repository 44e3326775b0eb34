"""Campaign naming: names built like the IndonesianFoods / tea.xyz spam floods. Offline."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from npmguard.facts import Need
from npmguard.managers import manager_for
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import MANY, CheckContext, Option, PackageRule, register
from npmguard.rules.history import allow_entry

FAMILY = "spam"


@register
class SpamName(PackageRule):
    id = "spam-name"
    level = Level.WARN
    family = FAMILY
    description = "The package name is built like a spam-campaign name (name + food + digits, ...)."
    help = (
        "Spam floods (IndonesianFoods, the 2024 tea.xyz farming waves) generate names from word"
        " lists: an Indonesian first name + a food word + digits + a suffix "
        "(`budi-rendang23-kyu`), `adjective_animal_x3y`, adjective-colour-animal, package words"
        " mixed with star names or rare Greek letters, `tea` glued to `dev`/`app` or farming "
        "suffixes (`-notthedevs`), given names from many languages glued to further given "
        "names, surnames or dishes (`rohannadia`), a sky word glued to a role with a counter "
        "(`cometgazer42`),"
        " a dish with a counter (`karedok24`), runs of random syllables (digits inside a "
        "generated word, `fs0boina`, count as noise, not as a version), one long generated "
        "word, and generated words or words with digits inside in a personal handle's scope "
        "(`@user12/...`, a scope with no"
        " popular package). The shape, the words it matched and a score (0..1) are the "
        "evidence; the name alone is never proof, so the default level is warn and `spam-score`"
        " combines it with content, graph and tree-level (`spam-cluster`) signals. Names with "
        "at least `popular-downloads` downloads a month in the shipped snapshot are never "
        "flagged. Measured on the campaign list and ~227k npm names: 92.6% of campaign names "
        "(90.3% on accounts the word lists were not designed on), 0.043% of npm names, none of "
        "the 10,000 most downloaded (docs/measurements.md). Only registry packages are judged: "
        "a workspace, a `file:` folder, git or a tarball URL is not fetched by its name."
    )
    needs = frozenset({Need.NAMES})
    options: ClassVar[Mapping[str, Option]] = {
        "min-score": Option(0.6, "flag names whose shape scores at least this (0..1)", 0, 1),
        "popular-downloads": Option(
            100_000, "never flag a name with this many monthly downloads (0: no guard)", 0, MANY
        ),
    }

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.names is not None and ctx.option(self, "popular-downloads"):
            # most of a real tree is popular: one look-up for every name settles those
            ctx.names.downloads_of(p.name for p in ctx.focus if p.on_registry)
        yield from super().check(ctx)

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        names = ctx.names
        if names is None or not pkg.on_registry:
            # no name data gathered, or not a registry package (a link, folder, git or URL
            # is not fetched by its name): nothing to judge
            return
        guard = int(ctx.option(self, "popular-downloads"))
        if guard:
            monthly = names.downloads(pkg.name)
            if monthly is not None and monthly >= guard:
                return
        from npmguard.names.classify import classify

        verdict = classify(pkg.name, names)
        if verdict is None or verdict.score < float(ctx.option(self, "min-score")):
            return
        yield self.finding(
            pkg,
            f"name looks generated ({verdict.pattern}): {verdict.explanation}",
            evidence=(
                Evidence("name shape", verdict.pattern, "name"),
                Evidence("decomposition", verdict.explanation, "name"),
                Evidence("score", f"{verdict.score:.2f}", "name"),
            ),
            hint=(
                "check what the package is and who needs it "
                f"(`{manager_for(ctx.lockfile.format).why} {pkg.name}`); if it is legitimate: "
                + allow_entry(pkg.name, pkg.version, self.id)
            ),
            score=verdict.score,
        )
