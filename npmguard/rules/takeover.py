"""Dormant traps and takeovers: when and by whom a release was published.

Every rule here reads the registry's package document (``Need.PACKUMENT``). Unknown facts
(no publish times, no publisher, no provenance flag) never produce a finding; the parts of
the document a rule cannot judge without are its ``details``, reported as coverage
(:mod:`npmguard.coverage`). "The previous version" is defined in
:mod:`npmguard.rules.history`, the context signals (who published, a wake-up, lost provenance)
in :mod:`npmguard.rules.handover`; what a release *adds* (an install script, a command, a
dependency) is judged in :mod:`npmguard.rules.additions`, where these signals are combined.

Measured on 21,926 real releases (``benchmarks/replay_history.py``, docs/measurements.md):
a publisher change or a wake-up alone is routine, so ``publisher-change`` and
``dormant-wake`` inform and do not warn.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import ClassVar

from npmguard.facts import Detail, Need, PackageFacts, VersionInfo
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import DAYS, CheckContext, Option, PackageRule, register
from npmguard.rules.handover import (
    PublisherKind,
    Signals,
    Wake,
    provenance_lost,
    published,
    publisher_history,
    wake_up,
)
from npmguard.rules.history import (
    allow_entry,
    day,
    has_publish_times,
    newest,
    previous_version,
)
from npmguard.semver import satisfies
from npmguard.versions import VersionList

FAMILY = "dormant trap / takeover"
PACKUMENT = frozenset({Need.PACKUMENT})


def shifted(rule: PackageRule, by: int) -> Level:
    """The rule's default level moved ``by`` steps, kept within info..block."""
    return Level(max(Level.INFO, min(Level.BLOCK, int(rule.level) + by)))


def pin_hint(facts: PackageFacts, prev: VersionInfo | None, what: str, rule: str) -> str:
    if prev is not None:
        return (
            f"review {facts.key} before installing it; {facts.name}@{prev.version} is the "
            f"previous release ({what}); pin that exact version, or once reviewed: "
            + allow_entry(facts.name, facts.version, rule)
        )
    return f"review {facts.key}; once reviewed: " + allow_entry(facts.name, facts.version, rule)


# --- the context of a release: change of hands, wake-up -----------------------------------------


def release_signals(facts: PackageFacts, ctx: CheckContext) -> Signals:
    """Who published the locked version, whether it ended a quiet period (``dormant-wake``'s
    thresholds) and whether it lost provenance."""
    lost = provenance_lost(facts)
    return Signals(
        publisher_history(facts, ctx.facts),
        dormant_gap(facts, ctx),
        lost[0] if lost is not None else None,
    )


@register
class DormantWake(PackageRule):
    id = "dormant-wake"
    level = Level.INFO
    family = FAMILY
    description = "The locked version was published recently after a long quiet period."
    help = (
        "A package that had no release for a long time (`quiet_days`, default 365) and then "
        "gets a new one, published within `recent_days` (default 30) of the check. On real "
        "release histories about one release in thirty follows a year-long gap (maintainers "
        "come back), so a wake-up alone is information. It counts in combination: "
        "`new-install-script`, `new-bin` and `new-dependency` are raised when the release "
        "that adds something also ends a quiet period (coa 2.0.3 and rc 1.2.9, November 2021: "
        "years-old packages republished with a malicious preinstall). Needs real publish times."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISH_TIMES})
    options: ClassVar[Mapping[str, Option]] = {
        "recent_days": Option(30, "the release is recent when at most this many days old", 0, DAYS),
        "quiet_days": Option(
            365, "a gap of at least this many days before it is a quiet period", 0, DAYS
        ),
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
        if facts is None:
            return
        wake = dormant_gap(facts, ctx, self)
        if wake is None:
            return
        when = published(facts)
        yield self.finding(
            pkg,
            f"released {day(when)} after {wake.gap.days} days without a release",
            evidence=(
                Evidence("published", day(when), "registry"),
                Evidence(
                    "last release before this one",
                    f"{wake.last.version} on {day(wake.last.published)}",
                    "registry",
                ),
                Evidence("quiet period", f"{wake.gap.days} days", "registry"),
            ),
            hint=pin_hint(facts, wake.last, f"published {day(wake.last.published)}", self.id),
        )


def dormant_gap(
    facts: PackageFacts, ctx: CheckContext, rule: type[DormantWake] | DormantWake = DormantWake
) -> Wake | None:
    """The wake-up (last release before, gap) when the locked version is one, else None."""
    if not has_publish_times(facts):
        return None  # no time known: not a wake-up (the options are not even read)
    return wake_up(
        facts,
        ctx.now,
        quiet=timedelta(days=int(ctx.option(rule, "quiet_days"))),
        recent=timedelta(days=int(ctx.option(rule, "recent_days"))),
    )


@register
class PublisherChange(PackageRule):
    id = "publisher-change"
    level = Level.INFO
    family = FAMILY
    description = "The locked version was published by an account new to the project."
    help = (
        "The account that published this version (`_npmUser`) published none of the earlier "
        "versions, was listed as a maintainer on none of them, and published none of the "
        "project's other packages in view (same scope, or same repository) before: a change "
        "of hands, as when event-stream 3.3.6 came from right9ctrl. Team members and release "
        "bots taking over releases are none of these, and are not reported; neither is a new "
        "account whose release carries a provenance attestation (a move to trusted publishing). "
        "Real histories still show benign changes of hands (a maintainer handing a package "
        "on), so alone this is information; it raises `new-install-script`, `new-bin` and "
        "`new-dependency` when the same release adds something. Phished maintainers publish "
        "under their own name (the 2025 chalk/debug compromise), which this rule does not "
        "see; `provenance-lost` may. Unknown publishers never count."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISHERS})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
        if facts is None:
            return
        if isinstance(facts.versions, VersionList) and not facts.versions.publishers_known():
            return  # no earlier publisher known (a mirror drops them): never a new hand
        history = publisher_history(facts, ctx.facts)
        if history.kind is not PublisherKind.NEW_HAND:
            return
        first = (
            f"{history.first_seen_package} on {day(history.first_seen)}"
            if history.first_seen is not None
            else "none among the packages in view"
        )
        evidence = [
            Evidence("publisher", str(history.publisher), "registry"),
            Evidence("earlier publishers", ", ".join(history.earlier_publishers), "registry"),
            Evidence(
                "earlier maintainers",
                ", ".join(history.earlier_maintainers) or "unknown",
                "registry",
            ),
            Evidence("the account's first release in view", first, "registry"),
        ]
        yield self.finding(
            pkg,
            f"published by {history.publisher}, new to the package (no earlier release, "
            "maintainer entry or sibling package)",
            evidence=tuple(evidence),
            hint=pin_hint(facts, previous_version(facts), "by an earlier publisher", self.id),
        )


@register
class ProvenanceLost(PackageRule):
    id = "provenance-lost"
    level = Level.WARN
    family = FAMILY
    description = "Earlier versions carried provenance attestations; the locked version does not."
    help = (
        "A package that publishes from CI with provenance and then ships a version without it "
        "was likely published by hand, from a stolen token (the pattern of the 2025 Shai-Hulud "
        "and nx compromises). Compared with the previous version (on the same release line) "
        "and with the latest earlier release whose provenance is known: a stolen token "
        "publishes bursts of versions, each following another that lacks provenance too. "
        "Lost provenance counts as a change of hands in the combinations `new-install-script`, "
        "`new-bin` and `new-dependency` judge."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PROVENANCE})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
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
            hint=pin_hint(facts, safe or last, "with provenance", self.id),
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
        "default (fresh versions are normal while upgrading); the strict policy blocks. When "
        "no policy file sets `days`, the age the project already gives its package manager "
        "applies: npm's `min-release-age` (.npmrc), pnpm's `minimumReleaseAge` "
        "(pnpm-workspace.yaml) or yarn's `npmMinimalAgeGate` (.yarnrc.yml), with their "
        "exclusions as `exclude`; `npmguard policy show` says which."
    )
    needs = PACKUMENT
    details = frozenset({Detail.PUBLISH_TIMES})
    options: ClassVar[Mapping[str, Option]] = {
        "days": Option(2, "minimum age of a version, in days", 0, DAYS),
        "exclude": Option(
            (),
            "packages the cool-down skips: names, globs (@acme/*) or name@range; "
            "by default the project's min-release-age-exclude, minimumReleaseAgeExclude "
            "or npmPreapprovedPackages",
        ),
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
        if facts is None or _excluded(pkg, ctx.option(self, "exclude")):
            return
        when = published(facts)
        days = float(ctx.option(self, "days"))
        if when is None or days <= 0 or ctx.now - when >= timedelta(days=days):
            return
        age = ctx.now - when
        cutoff = ctx.now - timedelta(days=days)
        old_enough = newest(
            (v for v in facts.versions or () if v.published is not None and v.published <= cutoff),
            below=facts.version,
        )
        hint = (
            f"wait until {(when + timedelta(days=days)).date().isoformat()}, or use "
            f"{facts.name}@{old_enough.version} (published {day(old_enough.published)})"
            if old_enough is not None
            else f"wait until {(when + timedelta(days=days)).date().isoformat()}"
        )
        yield self.finding(
            pkg,
            f"published {age.total_seconds() / 3600:.0f} hours ago, "
            f"under the {days:g}-day cool-down",
            evidence=(Evidence("published", when.isoformat(timespec="minutes"), "registry"),),
            hint=hint,
        )


def _excluded(pkg: LockedPackage, patterns: Iterable[str]) -> bool:
    """Whether a cool-down exclusion (``name``, ``@scope/*``, ``name@range``) covers ``pkg``:
    the name as a glob, the range as npm reads ranges (pnpm's ``1.0.0||1.0.1`` is one)."""
    for pattern in patterns:
        at = pattern.find("@", 1)
        name, version = (pattern[:at], pattern[at + 1 :]) if at > 0 else (pattern, "")
        if fnmatch.fnmatchcase(pkg.name, name) and (not version or satisfies(pkg.version, version)):
            return True
    return False


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
        "days": Option(30, "a package younger than this many days is new", 0, DAYS)
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
