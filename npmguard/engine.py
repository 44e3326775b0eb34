"""The engine: lockfile + facts + rules + policy -> findings -> verdicts -> a ``Report``.

It takes its collaborators as arguments (rules, policy, facts providers) so tests hand it
fakes; :mod:`npmguard.app` is the one place that builds it for real.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timezone
from graphlib import CycleError, TopologicalSorter
from typing import Protocol

from npmguard import __version__
from npmguard.coverage import coverage
from npmguard.coverage import merge as merge_gaps
from npmguard.facts import Facts, Need, PackageFacts, RegistryLookup
from npmguard.model import (
    Evidence,
    Finding,
    Gap,
    Level,
    LockedPackage,
    Lockfile,
    Omit,
    PackageVerdict,
    PolicyNote,
    ProjectInfo,
    Report,
    Verdict,
)
from npmguard.policy.model import DENY_RULE, Policy
from npmguard.progress import NoProgress, Observer
from npmguard.rules.advice import one_advice
from npmguard.rules.base import CheckContext, Rule, all_rules

log = logging.getLogger(__name__)


class FactsProvider(Protocol):
    """Gathers one kind of fact for a tree. ``serves`` are the needs it answers; the engine
    calls :meth:`gather` only when an enabled rule needs one of them, with the needs asked."""

    serves: frozenset[Need]

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        """The facts for ``packages`` (registry errors follow the policy's on-unreachable)."""

    def close(self) -> None:
        """Release what :meth:`gather` opened (stores, sessions); safe to call twice."""


def enabled_rules(policy: Policy, rules: Mapping[str, type[Rule]] | None = None) -> list[Rule]:
    """Instances of the rules the policy leaves on, ordered so ``after`` dependencies run first."""
    registry = all_rules() if rules is None else rules
    graph = {rid: [a for a in cls.after if a in registry] for rid, cls in registry.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as e:  # a programming error in rule definitions
        raise RuntimeError(f"rules depend on each other in a loop: {e.args[1]}") from e
    return [
        registry[rid]()
        for rid in order
        if policy.level_for(rid, registry[rid].level) is not Level.OFF
    ]


def _in_scope(pkg: LockedPackage, policy: Policy) -> bool:
    """Whether npm installs the package when the policy's excluded types are omitted."""
    omit = Omit(
        dev=not policy.include_dev,
        optional=not policy.include_optional,
        peer=not policy.include_peer,
    )
    return not pkg.omitted_by(omit)


class Engine:
    """Runs the enabled rules over lockfiles with the facts the providers gather.

    ``providers`` are asked only for needs an enabled rule has (see :class:`Need`);
    ``observer`` hears about progress and is closed when a run ends (before a report or a
    prompt is printed); ``now`` is the rules' clock (default: the current time);
    ``left_out``: ids of rules the policy enables but this run does not run
    (``--lockfile-only``), so an allow entry for them is not called unused.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        rules: Sequence[Rule] | None = None,
        providers: Sequence[FactsProvider] = (),
        project: ProjectInfo | None = None,
        allowed_registries: Sequence[str] = (),
        registries: RegistryLookup | None = None,
        observer: Observer | None = None,
        now: datetime | None = None,
        left_out: Sequence[str] = (),
    ) -> None:
        self.policy = policy
        self.rules = list(enabled_rules(policy) if rules is None else rules)
        self.left_out = tuple(left_out)  # rules the policy enables that this run does not run
        self.providers = tuple(providers)
        self.project = project or ProjectInfo()
        self.allowed_registries = tuple(allowed_registries) + tuple(policy.allowed_registries)
        self.registries = registries
        self.observer: Observer = observer or NoProgress()
        self.now = now or datetime.now(timezone.utc)

    @property
    def needs(self) -> frozenset[Need]:
        needs: set[Need] = set()
        for rule in self.rules:
            needs |= rule.needs
        return frozenset(needs)

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        """What the providers serving ``needs`` know about ``packages``, merged."""
        facts = Facts()
        for provider in self.providers:
            asked = needs & provider.serves
            if asked:
                facts = facts.merged(provider.gather(packages, frozenset(asked)))
        return facts

    def run(
        self,
        lockfiles: Sequence[Lockfile],
        *,
        only: Collection[str] | None = None,
        skip: frozenset[Need] = frozenset(),
    ) -> Report:
        """Judge every package of ``lockfiles``.

        ``only``: name@version keys to gather facts for and give verdicts on (``--changed-since``:
        the changed entries); rules still see the whole tree, so a new package that depends on
        an existing package with a spam name is still caught. Facts are gathered for ``only``
        alone: what other packages' facts would add (their content, their publish times: a
        clone, a ring held together by weak signals) is for a full run. ``skip``: rules with
        any of these needs do not run (``explain`` of a name no lockfile has skips the
        lockfile-field rules).
        """
        try:
            return self._run(lockfiles, only, skip)
        finally:
            self.observer.close()  # stop a spinner before the report or a prompt is printed

    def _run(
        self, lockfiles: Sequence[Lockfile], only: Collection[str] | None, skip: frozenset[Need]
    ) -> Report:
        rules = [r for r in self.rules if not r.needs & skip]
        all_findings: list[Finding] = []
        verdicts: list[PackageVerdict] = []
        gathered: dict[str, PackageFacts] = {}
        gaps: list[Gap] = []
        used_allows: set[int] = set()
        unjudged: set[int] = set()  # allow entries whose rules could not judge their packages
        for lockfile in lockfiles:
            scoped = self._scope(lockfile)
            focus = scoped if only is None else self._focus(scoped, only)
            facts = self._facts(focus, rules)
            gathered.update(facts.packages)
            gaps += coverage(focus.packages, facts, rules, self.now)
            findings = self._findings(scoped, facts, rules, only)
            if only is not None:
                findings = [f for f in findings if f.key in only]
            findings += self._denials(focus)
            findings = one_advice([self._apply_allow(f, used_allows) for f in findings])
            all_findings += findings
            verdicts += self._verdicts(focus, findings)
            unjudged |= self._unjudged_allows(focus, facts, rules)
        verdict = max((v.verdict for v in verdicts), key=lambda v: v.rank, default=Verdict.OK)
        return Report(
            lockfiles=tuple(lockfiles),
            packages=tuple(verdicts),
            findings=tuple(all_findings),
            verdict=verdict,
            notes=tuple(self._notes(used_allows | unjudged, partial=only is not None)),
            tool_version=__version__,
            facts=gathered,
            coverage=merge_gaps(gaps),
        )

    # -- stages -----------------------------------------------------------------------------

    def _scope(self, lockfile: Lockfile) -> Lockfile:
        packages = tuple(p for p in lockfile.packages if _in_scope(p, self.policy))
        return replace(lockfile, packages=packages)

    def _focus(self, lockfile: Lockfile, only: Collection[str]) -> Lockfile:
        return replace(lockfile, packages=tuple(p for p in lockfile.packages if p.key in only))

    def _facts(self, lockfile: Lockfile, rules: Sequence[Rule]) -> Facts:
        needs: set[Need] = set()
        for rule in rules:
            needs |= rule.needs
        if not needs & {p for provider in self.providers for p in provider.serves}:
            return Facts()
        self.observer.update(f"gathering facts for {len(lockfile.packages)} packages")
        return self.gather(lockfile.packages, frozenset(needs))

    def _findings(
        self,
        lockfile: Lockfile,
        facts: Facts,
        rules: Sequence[Rule],
        only: Collection[str] | None = None,
    ) -> list[Finding]:
        """Every rule's findings on ``lockfile``. With ``only`` (keys), a package rule skips the
        other packages unless a later rule reads its findings (``after``): the findings about
        ``only`` are the same as a full run's, at the cost of the changed entries alone."""
        earlier: dict[str, tuple[Finding, ...]] = {}
        read = {rid for rule in rules for rid in rule.after}
        ctx = CheckContext(
            lockfile=lockfile,
            facts=facts.packages,
            options=self.policy.options,
            allowed_registries=self.allowed_registries,
            project=self.project,
            now=self.now,
            earlier=earlier,
            feed=facts.feed,
            names=facts.names,
            registries=self.registries,
        )
        focused = ctx if only is None else replace(ctx, only=frozenset(only))
        out: list[Finding] = []
        for rule in rules:
            self.observer.update(f"rule {rule.id}")
            level = self.policy.level_for(rule.id, rule.level)
            seen = ctx if rule.id in read else focused
            produced = tuple(_with_level(rule.check(seen), level, rule.level))
            earlier[rule.id] = produced
            out += produced
        return out

    def _denials(self, lockfile: Lockfile) -> list[Finding]:
        out = []
        for pkg in lockfile.packages:
            for entry in self.policy.deny:
                if entry.matcher.matches(pkg.name, pkg.version):
                    out.append(
                        Finding(
                            rule=DENY_RULE.id,
                            package=pkg.name,
                            version=pkg.version,
                            message=f"denied by policy: {entry.reason}",
                            evidence=(Evidence("deny entry", entry.matcher.package, entry.source),),
                            hint="remove this dependency, or change the policy's deny entry",
                            level=DENY_RULE.level,
                            line=pkg.line,
                        )
                    )
        return out

    def _apply_allow(self, finding: Finding, used: set[int]) -> Finding:
        if finding.rule == DENY_RULE.id:
            return finding  # deny always blocks
        today = self.now.date()
        expired = None  # an expired entry only counts when no live entry covers the finding
        for index, entry in enumerate(self.policy.allow):
            if entry.covers(finding.rule, finding.package, finding.version):
                used.add(index)
                if not entry.expired(today):
                    return replace(finding, allowed_by=entry.reason)
                expired = expired or entry
        if expired is not None:
            return replace(
                finding,
                evidence=(
                    *finding.evidence,
                    Evidence(
                        "expired allow entry",
                        f"{expired.reason} (expired {expired.expires})",
                        expired.source,
                    ),
                ),
            )
        return finding

    def _unjudged_allows(self, lockfile: Lockfile, facts: Facts, ran: Sequence[Rule]) -> set[int]:
        """Allow entries this run cannot call unused: one of their packages is here and one of
        the rules they cover (every enabled rule when they name none) did not run, or ran
        without the facts to judge that package (a coverage gap)."""
        enabled = {r.id for r in self.rules} | set(self.left_out)
        out = set()
        for index, entry in enumerate(self.policy.allow):
            covered = enabled if entry.rules is None else enabled & set(entry.rules)
            rules = [r for r in ran if r.id in covered]
            for pkg in lockfile.packages:
                if not entry.matcher.matches(pkg.name, pkg.version):
                    continue
                if len(rules) < len(covered) or coverage([pkg], facts, rules, self.now):
                    out.add(index)
                    break
        return out

    def _verdicts(self, lockfile: Lockfile, findings: Iterable[Finding]) -> list[PackageVerdict]:
        by_key: dict[str, list[Finding]] = defaultdict(list)
        for f in findings:
            by_key[f.key].append(f)
        out = []
        for pkg in lockfile.packages:
            mine = tuple(by_key.get(pkg.key, ()))
            top = max((f.effective_level for f in mine), default=Level.OFF)
            out.append(PackageVerdict(package=pkg, verdict=Verdict.from_level(top), findings=mine))
        return out

    def _notes(self, used: set[int], *, partial: bool) -> Iterable[PolicyNote]:
        today: date = self.now.date()
        for copy in self.policy.copies:  # in the report, so --quiet cannot hide it
            if copy.stale:
                yield PolicyNote("stale-policy", copy.describe(), copy.url)
        for index, entry in enumerate(self.policy.allow):
            if entry.expired(today):
                yield PolicyNote(
                    "expired-allow",
                    f"allow entry for {entry.matcher.package} expired on {entry.expires}: "
                    f"{entry.reason}",
                    entry.source,
                )
            elif index not in used and not partial:
                # with --changed-since most entries are not looked at: "unused" would be noise
                yield PolicyNote(
                    "unused-allow",
                    f"allow entry for {entry.matcher.package} matched nothing in this run",
                    entry.source,
                )


def _with_level(findings: Iterable[Finding], level: Level, default: Level) -> Iterable[Finding]:
    """Give findings the policy's level for their rule.

    A rule may emit a finding above or below its default (a worse or milder case); the
    policy's level shifts it by the same amount, clamped to info..block.
    """
    for f in findings:
        if f.level == default:
            yield replace(f, level=level)
        else:
            shifted = int(f.level) + int(level) - int(default)  # clamped before it is a Level
            yield replace(f, level=Level(max(Level.INFO, min(Level.BLOCK, shifted))))


def combine(reports: Sequence[Report]) -> Report:
    """Reports of several projects (each checked with its own policy) as one report."""
    if len(reports) == 1:
        return reports[0]
    facts: dict[str, PackageFacts] = {}
    for r in reports:
        facts.update(r.facts)
    return Report(
        lockfiles=tuple(lf for r in reports for lf in r.lockfiles),
        packages=tuple(p for r in reports for p in r.packages),
        findings=tuple(f for r in reports for f in r.findings),
        verdict=max((r.verdict for r in reports), key=lambda v: v.rank, default=Verdict.OK),
        notes=tuple(n for r in reports for n in r.notes),
        tool_version=__version__,
        facts=facts,
        coverage=merge_gaps([g for r in reports for g in r.coverage]),
        as_of=reports[0].as_of if reports else None,
    )
