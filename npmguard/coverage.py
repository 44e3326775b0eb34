"""Coverage: what the enabled rules could not judge in a run, for how many packages, and why.

A rule that lacks the facts it needs stays quiet (unknown is never bad); the report must
still say so, or "ok" would hide "could not tell". Gaps come from the facts themselves:
packages the registry gave nothing for (offline with nothing cached, a registry error),
package documents without publish times, publishers or provenance (mirrors and many
private registries), tarballs not read, packages that are not from a registry, a
known-bad feed that was never imported or is old, and Yarn Berry platform packages the
lockfile pins no hash for (``lock-no-integrity`` exempts them: yarn writes none).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from npmguard.facts import Detail, Facts, FactsStatus, Need, PackageFacts
from npmguard.model import Gap, LockedPackage, SourceKind
from npmguard.rules.base import Rule
from npmguard.rules.lockfile_integrity import NoIntegrity, yarn_platform_unpinned

FEED_STALE_DAYS = 7  # a feed older than this is reported: new malware appears every day
EXAMPLES = 3

NO_FEED = "no known-bad feed imported: run `npmguard db update`"
NO_FACTS = "no registry facts"  # starts the reason of packages nothing could be learned about
# how a missing detail is said: a mirror's `time` without created/modified is first-seen
# dates, not publish times, and is not read as any
DETAIL_WORDS = {Detail.PUBLISH_TIMES: "trustworthy publish times"}
AS_OF_UNDATED = (
    "--as-of: the registry gives no trustworthy publish times, so what it showed then cannot "
    "be told: versions after the locked one were dropped by version order, not by date"
)
TARBALL_NOT_READ = (
    "tarball content not read (popular packages without install scripts are skipped; "
    "`--all-tarballs` reads every one)"
)
TARBALL_PROBLEM = {  # ContentProblem.kind -> why the content is unknown
    "unreadable": "tarball content could not be read (see the content-unknown finding)",
    "integrity": "tarball bytes are not the locked ones (see the integrity-mismatch finding)",
    "download": "tarball could not be downloaded (on-unreachable = warn)",
}
YARN_UNPINNED = (
    "Yarn Berry platform package (`conditions`): the lockfile pins no checksum, so yarn "
    "installs what the registry serves on a matching platform; npmguard checks those bytes "
    "against the registry's integrity only where it reads the tarball"
)


def coverage(
    packages: Sequence[LockedPackage], facts: Facts, rules: Sequence[Rule], now: datetime
) -> tuple[Gap, ...]:
    """The gaps for ``packages`` (those a run gave verdicts on) under ``rules``."""
    registry = tuple(r.id for r in rules if r.needs & {Need.PACKUMENT, Need.TARBALL})
    tarball = tuple(r.id for r in rules if Need.TARBALL in r.needs)
    feed = tuple(r.id for r in rules if Need.FEED in r.needs)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def group(reason: str, rule_ids: tuple[str, ...]) -> list[str]:
        return groups.setdefault((reason, rule_ids), [])

    # each detail's gap, for the details some registry rule cannot judge without
    by_detail = [
        (d, group(f"the registry gives no {DETAIL_WORDS.get(d, d)}", ids))
        for d in Detail
        if (ids := tuple(r.id for r in rules if d in r.details and r.id in registry))
    ]
    pinning = any(r.id == NoIntegrity.id for r in rules)
    unpinned = group(YARN_UNPINNED, (NoIntegrity.id,)) if pinning else None
    undated = group(AS_OF_UNDATED, registry) if registry else None
    not_read = group(TARBALL_NOT_READ, tarball) if tarball else None
    known_facts = facts.packages
    on_registry: list[str] = []
    for pkg in packages:
        if pkg.source is SourceKind.LINK:
            continue  # the project's own code
        key = pkg.key
        if unpinned is not None and yarn_platform_unpinned(pkg):
            unpinned.append(key)
        if not pkg.on_registry:
            if registry:
                reason = f"not from a registry ({pkg.source}): registry rules do not apply"
                group(reason, registry).append(key)
            continue
        on_registry.append(key)
        if not registry:
            continue
        found = known_facts.get(key)
        if found is None or found.status is FactsStatus.UNKNOWN:
            why = found.error if found is not None and found.error else NO_FACTS
            group(f"{NO_FACTS}: {why}", registry).append(key)
            continue
        if found.status is not FactsStatus.KNOWN:
            continue  # the registry answered (404, or a 403 refusal): known-bad rules judged that
        given = _details_given(found)
        for detail, keys in by_detail:
            if detail not in given:
                keys.append(key)
        if undated is not None and found.as_of is not None and Detail.PUBLISH_TIMES not in given:
            undated.append(key)
        if not_read is not None and found.tarball is None:
            problem = found.content_problem
            if problem is None:
                not_read.append(key)
            else:
                group(TARBALL_PROBLEM.get(problem.kind, TARBALL_NOT_READ), tarball).append(key)
    if feed and on_registry:
        imported = facts.feed.last_imported() if facts.feed is not None else None
        if facts.feed is None or imported is None:
            group(NO_FEED, feed).extend(on_registry)
        elif (now - imported).days > FEED_STALE_DAYS:
            age = (now - imported).days
            reason = f"the known-bad feed was last updated {age} days ago: run `npmguard db update`"
            group(reason, feed).extend(on_registry)
    gaps = [
        Gap(
            rules=rule_ids,
            reason=reason,
            packages=len(keys),
            examples=tuple(sorted(keys)[:EXAMPLES]),
            keys=frozenset(keys),
        )
        for (reason, rule_ids), keys in groups.items()
        if keys
    ]
    return tuple(sorted(gaps, key=lambda g: (-g.packages, g.reason)))


def _details_given(found: PackageFacts) -> frozenset[Detail]:
    """The details ``found`` carries, asked once for all (see :meth:`Detail.given_by`)."""
    known = getattr(found.versions or (), "known_details", None)  # the store's lazy list
    if known is not None:
        given: frozenset[Detail] = known()
        return given
    return frozenset(d for d in Detail if d.given_by(found))


LOCKFILE_ONLY = (
    "not run (--lockfile-only): they need the registry or the known-bad feed, which were not asked"
)


def not_run(packages: Sequence[LockedPackage], rule_ids: Sequence[str], reason: str) -> Gap | None:
    """The gap left by rules the policy enables but this run did not run (``reason`` says
    why), over the packages they would have judged (the project's own links excluded)."""
    keys = sorted(p.key for p in packages if p.source is not SourceKind.LINK)
    if not rule_ids or not keys:
        return None
    return Gap(tuple(rule_ids), reason, len(keys), tuple(keys[:EXAMPLES]), frozenset(keys))


def merge(gaps: Sequence[Gap]) -> tuple[Gap, ...]:
    """Gaps from several lockfiles, the same reason and rules added up."""
    out: dict[tuple[str, tuple[str, ...]], Gap] = {}
    for gap in gaps:
        key = (gap.reason, gap.rules)
        if key in out:
            old = out[key]
            examples = tuple(sorted({*old.examples, *gap.examples})[:EXAMPLES])
            out[key] = Gap(
                gap.rules, gap.reason, old.packages + gap.packages, examples, old.keys | gap.keys
            )
        else:
            out[key] = gap
    return tuple(sorted(out.values(), key=lambda g: (-g.packages, g.reason)))
