"""The tree-level view of a spam flood: many packages of one tree that look like one campaign.

A live flood leaves its mark on the tree as a whole before any single package is convincing:
an account's packages share a generated naming scheme, one publisher, publish times seconds or
minutes apart and one template, and they depend on each other. ``spam-cluster`` groups the
packages of a tree on those links and, where a group is built around campaign-shaped names
(``spam-name``), reports every member with what the group shares. ``spam-score`` gives the
finding the weight of strong evidence.

Publishers and publish times come from the package document (``_npmUser``, ``time``); where
the registry does not give them (a stripped mirror) they are *unknown*: they neither link
packages nor count against a group, and the evidence says they could not be checked.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from npmguard.facts import NameLookup, Need, PackageFacts
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.names.tokens import parts, split_scope
from npmguard.rules.base import DAYS, MANY, CheckContext, Option, Rule, register
from npmguard.rules.history import allow_entry
from npmguard.rules.spam_graph import clone_signatures

FAMILY = "spam"


@dataclass(frozen=True, slots=True)
class Member:
    """What one package brings to the grouping; ``None`` where the registry did not say."""

    pkg: LockedPackage
    suspect: bool  # spam-name flagged its name (at warn or above, not allowed)
    publisher: str | None
    published: datetime | None
    templates: frozenset[str]
    affixes: frozenset[str]  # naming-scheme keys: rare first/last words, the scope


def naming_keys(name: str, names: NameLookup | None) -> frozenset[str]:
    """Keys two names of one generated scheme share: a first or last word npm people do not
    use (``*-kyuki``, ``*_z3n``, ``tearich-*``), and a scope. Common words (``plugin``,
    ``utils``) are no scheme; without the name data (``names`` None) only scopes count."""
    scope, bare = split_scope(name.lower())
    keys: set[str] = {f"scope:{scope}"} if scope else set()
    words = parts(bare)
    if len(words) >= 2 and names is not None:
        first, last = words[0], words[-1]
        if len(last) >= 3 and not names.is_word(last):
            keys.add(f"word:{last}")
        if len(first) >= 4 and first.isalpha() and not names.is_word(first):
            keys.add(f"word:{first}")
    return frozenset(keys)


def _suffix(member: Member) -> str | None:
    """The last word of a member's name when it is a naming-scheme word (``naming_keys``)."""
    words = parts(split_scope(member.pkg.name.lower())[1])
    last = words[-1] if len(words) >= 2 else ""
    return last if f"word:{last}" in member.affixes else None


class _Union:
    def __init__(self, keys: Sequence[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _suspects(ctx: CheckContext) -> set[str]:
    return {
        f.key
        for f in ctx.earlier.get("spam-name", ())
        if f.allowed_by is None and f.level > Level.INFO
    }


ESTABLISHED_DAYS = 180
ESTABLISHED_VERSIONS = 5


def established(facts: PackageFacts) -> bool:
    """A release history no flood has: at least 5 versions over at least 180 days (publish
    times known). Unknown times say nothing."""
    times = [v.published for v in facts.versions or () if v.published is not None]
    if len(times) < ESTABLISHED_VERSIONS:
        return False
    return (max(times) - min(times)).days >= ESTABLISHED_DAYS


def _member(ctx: CheckContext, pkg: LockedPackage, suspect: bool) -> Member:
    facts = ctx.facts_for(pkg)
    publisher = published = None
    templates: frozenset[str] = frozenset()
    if facts is not None:
        # a campaign-shaped name on a package with months of releases is not a live flood
        suspect = suspect and not established(facts)
        info = facts.version_info()
        if info is not None:
            publisher, published = info.publisher, info.published
        if publisher is None and facts.manifest is not None:
            publisher = facts.manifest.publisher
        templates = frozenset(clone_signatures(ctx, pkg))
    keys = naming_keys(pkg.name, ctx.names)
    return Member(pkg, suspect, publisher, published, templates, keys)


def _shared(a: Member, b: Member, burst_seconds: float) -> list[str]:
    """The links two packages share (a dependency edge is added by the caller)."""
    out = []
    if a.publisher is not None and a.publisher == b.publisher:
        out.append("publisher")
    if a.templates & b.templates:
        out.append("template")
    if a.affixes & b.affixes:
        out.append("naming")
    if (
        a.published is not None
        and b.published is not None
        and abs((a.published - b.published).total_seconds()) <= burst_seconds
    ):
        out.append("burst")
    return out


@register
class SpamCluster(Rule):
    id = "spam-cluster"
    level = Level.WARN
    family = FAMILY
    description = (
        "Many packages in the tree look like one campaign: campaign-shaped names sharing a "
        "publisher, a publish burst, a template or dependency links."
    )
    help = (
        "A spam account publishes its packages from one script: the names come from one "
        "generator, the publisher is the same account, the publish times are seconds or minutes"
        " apart, the files come from one template, and the packages depend on each other. "
        "Packages are linked when two of them share the publisher (`_npmUser`), a publish burst"
        " (`burst-minutes`), a template (the file list and root files, as `clone-cluster` "
        "compares them), a naming-scheme word (a first or last word npm people do not use, like"
        " `*-kyuki` or `*_z3n`) or a dependency edge; two campaign-shaped names (`spam-name`) "
        "need one link, a campaign-shaped name and another package need two. A group of at "
        "least `min-size` packages, at least half of them with campaign-shaped names, that "
        "agrees on a publisher, a publish burst, a template or a last word shared by three "
        "names (generators append an account's word; a project's own family shares its first "
        "word, `neutrino-middleware-*`, which links packages but agrees on nothing) is reported"
        " on every member with what it shares; `spam-score` counts it as strong evidence, so "
        "each campaign-shaped member is blocked and a member whose own name passed is blocked "
        "with one more signal. Names that only depend on each other are `spam-ring`'s case, not"
        " a group. A package with an established history (5 versions over 180 days or more) "
        "does not count as campaign-shaped here: a live flood is new. Publishers and publish "
        "times the registry does not give (a stripped mirror) are unknown: they link nothing "
        "and the evidence says so. A group whose members all share one scope is one owner's "
        "namespace (a monorepo's siblings) and is not reported."
    )
    needs = frozenset({Need.PACKUMENT, Need.TARBALL, Need.NAMES})
    after = ("spam-name",)
    options: ClassVar[Mapping[str, Option]] = {
        "min-size": Option(3, "how many packages make a campaign group", 1, MANY),
        "burst-minutes": Option(
            30, "publish times at most this many minutes apart link two packages", 0, DAYS * 1440
        ),
    }

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        suspects = _suspects(ctx)
        if len(suspects) < 2:
            return
        members = {
            p.key: _member(ctx, p, p.key in suspects)
            for p in ctx.lockfile.packages
            if p.on_registry
        }
        burst = 60.0 * float(ctx.option(self, "burst-minutes"))
        links = self._links(members, burst)
        union = _Union(list(members))
        for (a, b), shared in links.items():
            both = members[a].suspect and members[b].suspect
            if (both and shared) or len(shared) >= 2:
                union.join(a, b)
        groups: dict[str, list[str]] = defaultdict(list)
        for key in members:
            groups[union.find(key)].append(key)
        wanted = int(ctx.option(self, "min-size"))
        for keys in groups.values():
            group = [members[k] for k in sorted(keys)]
            named = [m for m in group if m.suspect]
            if len(group) < wanted or len(named) < 2 or 2 * len(named) < len(group):
                continue
            scopes = {m.pkg.scope for m in group}
            if len(scopes) == 1 and None not in scopes:
                continue  # one scope is one owner's namespace: a monorepo's siblings
            agreed, unknown = _agreement(group, links, burst)
            if agreed:
                yield from self._report(group, agreed, unknown)

    def _links(
        self, members: Mapping[str, Member], burst: float
    ) -> dict[tuple[str, str], list[str]]:
        """Every pair of packages (sorted keys) sharing a link, at least one of them a suspect."""
        out: dict[tuple[str, str], list[str]] = {}
        suspects = [k for k, m in members.items() if m.suspect]
        order = {k: i for i, k in enumerate(suspects)}
        for i, a in enumerate(suspects):
            for b, other in members.items():
                if b == a or order.get(b, len(order)) <= i:
                    continue  # each pair of suspects once
                shared = _shared(members[a], other, burst)
                if shared:
                    out[_pair(a, b)] = shared
        for key in suspects:
            for dep in members[key].pkg.requires:
                shared = out.setdefault(_pair(key, dep), []) if dep in members else []
                if dep in members and dep != key and "dependency" not in shared:
                    shared.append("dependency")
        return out

    def _report(
        self, group: list[Member], agreed: list[Evidence], unknown: list[Evidence]
    ) -> Iterator[Finding]:
        names = [m.pkg.name for m in group]
        named = sum(1 for m in group if m.suspect)
        for member in group:
            others = [n for n in names if n != member.pkg.name]
            evidence = [
                Evidence(
                    "group", ", ".join(names[:12]) + (" ..." if len(names) > 12 else ""), "lockfile"
                ),
                Evidence(
                    "campaign-shaped names", f"{named} of {len(group)} (spam-name)", "findings"
                ),
                *agreed,
                *unknown,
            ]
            if not member.suspect:
                evidence.append(
                    Evidence("this name", "not campaign-shaped itself; linked to the group", "name")
                )
            yield self.finding(
                member.pkg,
                f"one of {len(group)} packages in the tree that look like one campaign "
                f"({', '.join(e.label for e in agreed)}): {', '.join(others[:4])}"
                + (" ..." if len(others) > 4 else ""),
                evidence=tuple(evidence),
                hint=(
                    "remove the package that pulls the group in (see spam-ring's path); if "
                    "reviewed: " + allow_entry(member.pkg.name, member.pkg.version, self.id)
                ),
            )


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _agreement(
    group: list[Member], links: Mapping[tuple[str, str], list[str]], burst: float
) -> tuple[list[Evidence], list[Evidence]]:
    """What the group agrees on beyond its names, and what could not be checked."""
    keys = {m.pkg.key for m in group}
    out: list[Evidence] = []
    known = [m.publisher for m in group if m.publisher is not None]
    if len(known) >= 2 and len(set(known)) == 1:
        out.append(
            Evidence("one publisher", f"{known[0]} ({len(known)} of {len(group)})", "registry")
        )
    times = sorted(m.published for m in group if m.published is not None)
    if len(times) >= 3:
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        close = sum(1 for g in gaps if g <= burst)
        if 2 * close >= len(gaps):
            span = (times[-1] - times[0]).total_seconds()
            out.append(
                Evidence(
                    "publish burst",
                    f"{len(times)} published within {_duration(span)} "
                    f"(median gap {_duration(sorted(gaps)[len(gaps) // 2])})",
                    "registry",
                )
            )
    template: dict[str, int] = defaultdict(int)
    for m in group:
        for sig in m.templates:
            template[sig] += 1
    same = max(template.values(), default=0)
    if same >= 2:
        out.append(Evidence("one template", f"{same} of {len(group)} share files", "tarball"))
    # generators append an account's word (``*-kyuki``, ``*_z3n``); a project's own family
    # shares a first word (``neutrino-middleware-*``), which links packages but agrees on nothing
    suffixes: dict[str, int] = defaultdict(int)
    for m in group:
        last = _suffix(m)
        if last is not None:
            suffixes[last] += 1
    word, count = max(suffixes.items(), key=lambda kv: kv[1], default=("", 0))
    if count >= 3:
        out.append(Evidence("one naming scheme", f"{count} names end in {word!r}", "name"))
    if not out:
        return out, []  # campaign-shaped names that only depend on each other: spam-ring's case
    edges = sum(1 for pair, shared in links.items() if "dependency" in shared and set(pair) <= keys)
    if edges:
        out.append(
            Evidence("depend on each other", f"{edges} edge(s) inside the group", "lockfile")
        )
    unknown = []
    if not known:
        unknown.append(
            Evidence("publisher", "unknown: the registry's document names none", "registry")
        )
    if not times:
        unknown.append(
            Evidence("publish times", "unknown: the registry's document has none", "registry")
        )
    return out, unknown


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"
