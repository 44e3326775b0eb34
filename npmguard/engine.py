"""The engine: lockfile + facts + rules + policy -> findings -> verdicts -> a ``Report``.

It takes its collaborators as arguments (rules, policy, a facts source) so tests hand it
fakes and the CLI is only wiring.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timezone
from graphlib import CycleError, TopologicalSorter
from typing import Any, Protocol

from npmguard import __version__
from npmguard.facts import Need, PackageFacts
from npmguard.model import (
    Evidence,
    Finding,
    Level,
    LockedPackage,
    Lockfile,
    PackageVerdict,
    PolicyNote,
    Report,
    Verdict,
)
from npmguard.policy.model import Policy
from npmguard.rules.base import CheckContext, ProjectInfo, Rule, all_rules

log = logging.getLogger(__name__)

DENY_RULE = "policy-deny"


class FactsSource(Protocol):
    """Where facts come from: the reputation cache in practice, a dict in tests."""

    def facts_for(
        self, packages: Sequence[LockedPackage], needs: frozenset[Need]
    ) -> Mapping[str, PackageFacts]: ...


class Progress(Protocol):
    """A small observer the engine reports progress to (drawn with rich on a terminal)."""

    def update(self, message: str) -> None: ...


class _NoProgress:
    def update(self, message: str) -> None:
        pass


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
    if pkg.dev and not policy.include_dev:
        return False
    if pkg.optional and not policy.include_optional:
        return False
    return not (pkg.peer and not policy.include_peer)


class Engine:
    def __init__(
        self,
        policy: Policy,
        *,
        rules: Sequence[Rule] | None = None,
        facts_source: FactsSource | None = None,
        project: ProjectInfo | None = None,
        allowed_registries: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        now: datetime | None = None,
        only: set[str] | None = None,
    ) -> None:
        self.policy = policy
        self.rules = list(enabled_rules(policy) if rules is None else rules)
        self.facts_source = facts_source
        self.project = project or ProjectInfo()
        self.allowed_registries = tuple(allowed_registries) + tuple(policy.allowed_registries)
        self.extra = dict(extra or {})
        self.progress = progress or _NoProgress()
        self.now = now or datetime.now(timezone.utc)
        # when set, only these name@version keys are checked (pre-commit: changed entries)
        self.only = only

    @property
    def needs(self) -> frozenset[Need]:
        needs: set[Need] = set()
        for rule in self.rules:
            needs |= rule.needs
        return frozenset(needs)

    def run(self, lockfiles: Sequence[Lockfile]) -> Report:
        try:
            return self._run(lockfiles)
        finally:
            close = getattr(self.progress, "close", None)
            if close is not None:
                close()  # stop a spinner before the report or a prompt is printed

    def _run(self, lockfiles: Sequence[Lockfile]) -> Report:
        all_findings: list[Finding] = []
        verdicts: list[PackageVerdict] = []
        used_allows: set[int] = set()
        for lockfile in lockfiles:
            scoped = self._scope(lockfile)
            # With `only` (--changed-since), facts are gathered and verdicts given for the
            # changed packages alone, but rules still see the whole tree, so a new package
            # that depends on (or clones) an existing spam package is still caught.
            focus = scoped if self.only is None else self._focus(scoped)
            facts = self._facts(focus)
            findings = self._findings(scoped, facts)
            if self.only is not None:
                findings = [f for f in findings if f.key in self.only]
            findings += self._denials(focus)
            findings = [self._apply_allow(f, used_allows) for f in findings]
            all_findings += findings
            verdicts += self._verdicts(focus, findings)
        verdict = max((v.verdict for v in verdicts), key=lambda v: v.rank, default=Verdict.OK)
        return Report(
            lockfiles=tuple(lockfiles),
            packages=tuple(verdicts),
            findings=tuple(all_findings),
            verdict=verdict,
            notes=tuple(self._notes(used_allows)),
            tool_version=__version__,
        )

    # -- stages -----------------------------------------------------------------------------

    def _scope(self, lockfile: Lockfile) -> Lockfile:
        packages = tuple(p for p in lockfile.packages if _in_scope(p, self.policy))
        return replace(lockfile, packages=packages)

    def _focus(self, lockfile: Lockfile) -> Lockfile:
        only = self.only or set()
        return replace(lockfile, packages=tuple(p for p in lockfile.packages if p.key in only))

    def _facts(self, lockfile: Lockfile) -> Mapping[str, PackageFacts]:
        needs = self.needs - {Need.LOCKFILE}
        if self.facts_source is None or not needs:
            return {}
        self.progress.update(f"gathering facts for {len(lockfile.packages)} packages")
        return self.facts_source.facts_for(lockfile.packages, frozenset(needs))

    def _findings(self, lockfile: Lockfile, facts: Mapping[str, PackageFacts]) -> list[Finding]:
        earlier: dict[str, tuple[Finding, ...]] = {}
        ctx = CheckContext(
            lockfile=lockfile,
            facts=facts,
            options=self.policy.options,
            allowed_registries=self.allowed_registries,
            project=self.project,
            now=self.now,
            earlier=earlier,
            extra=self.extra,
        )
        out: list[Finding] = []
        for rule in self.rules:
            self.progress.update(f"rule {rule.id}")
            level = self.policy.level_for(rule.id, rule.level)
            produced = tuple(_with_level(rule.check(ctx), level, rule.level))
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
                            rule=DENY_RULE,
                            package=pkg.name,
                            version=pkg.version,
                            message=f"denied by policy: {entry.reason}",
                            evidence=(Evidence("deny entry", entry.matcher.package, entry.source),),
                            hint="remove this dependency, or change the policy's deny entry",
                            level=Level.BLOCK,
                            line=pkg.line,
                        )
                    )
        return out

    def _apply_allow(self, finding: Finding, used: set[int]) -> Finding:
        if finding.rule == DENY_RULE:
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

    def _notes(self, used: set[int]) -> Iterable[PolicyNote]:
        today: date = self.now.date()
        for index, entry in enumerate(self.policy.allow):
            if entry.expired(today):
                yield PolicyNote(
                    "expired-allow",
                    f"allow entry for {entry.matcher.package} expired on {entry.expires}: "
                    f"{entry.reason}",
                    entry.source,
                )
            elif index not in used and self.only is None:
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
            shifted = max(
                Level.INFO, min(Level.BLOCK, Level(int(f.level) + int(level) - int(default)))
            )
            yield replace(f, level=shifted)
