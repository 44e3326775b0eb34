"""The rule interface and the rule registry.

A rule is a small object with an id, a default level, a description, the facts it needs,
long help, and options (thresholds) a policy may set. Docs and SARIF rule metadata are
generated from the registry, never written twice.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, ClassVar

from npmguard.facts import Detail, FeedLookup, NameLookup, Need, PackageFacts, RegistryLookup
from npmguard.model import Finding, Level, LockedPackage, Lockfile, ProjectInfo

# Modules that define rules; imported on first use of the registry, in this order.
RULE_MODULES: tuple[str, ...] = (
    "npmguard.rules.lockfile_integrity",
    "npmguard.rules.feeds",
    "npmguard.rules.known_bad",
    "npmguard.rules.spam_name",
    "npmguard.rules.spam_content",
    "npmguard.rules.content",
    "npmguard.rules.spam_graph",
    "npmguard.rules.spam_cluster",
    "npmguard.rules.takeover",
    "npmguard.rules.additions",
    "npmguard.rules.scripts",
    "npmguard.rules.metadata",
    "npmguard.rules.typosquat",
)


@dataclass(frozen=True, slots=True)
class Option:
    """A threshold or setting a policy may give a rule: ``[rules.<id>] <name> = value``.

    Numbers must lie in ``[minimum, maximum]`` (``policy validate`` says so, the JSON schema
    carries the bounds): a value the rule's arithmetic cannot take (``days = 999999999999``
    overflows a date) is refused where the policy is read, never met mid-run.
    """

    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def type(self) -> type:
        return type(self.default)

    def out_of_range(self, value: Any) -> str | None:
        """Why ``value`` (of the option's type) is not allowed, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value):
            return "must be a finite number"
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be between {_number(low)} and {_number(high)}"
        return None


DAYS = 36_500  # a hundred years: the most a day count may say (dates stay in range)
MANY = 10**12  # a count that is never reached (downloads a month, versions)


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class CheckContext:
    """What a rule may look at. Built by the engine from what the facts providers gathered
    (:class:`~npmguard.facts.Facts`); rules never fetch or open anything themselves."""

    lockfile: Lockfile
    facts: Mapping[str, PackageFacts]  # by name@version; absent means not asked / unknown
    options: Mapping[str, Mapping[str, Any]]  # rule id -> option name -> value
    allowed_registries: tuple[str, ...]  # registry base URLs, normalised with a trailing /
    project: ProjectInfo = field(default_factory=ProjectInfo)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # findings of rules that ran earlier in this run, for rules that combine signals
    earlier: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)
    feed: FeedLookup | None = None  # Need.FEED: None when no feed was imported
    names: NameLookup | None = None  # Need.NAMES: the shipped popular-names data
    # the registry npm uses for each name (.npmrc scopes, replace-registry-host) and the
    # policy's allowed-registries; None: judge hosts against ``allowed_registries`` alone
    registries: RegistryLookup | None = None
    # name@version keys whose findings are wanted (``--changed-since``); None: every package.
    # A :class:`PackageRule` skips the others; a rule that reads other rules' findings
    # (``after``) gets None for the rules it reads, so it still sees the whole tree.
    only: Collection[str] | None = None

    def option(self, rule: Rule | type[Rule], name: str) -> Any:
        values = self.options.get(rule.id, {})
        if name in values:
            return values[name]
        return rule.options[name].default

    def facts_for(self, pkg: LockedPackage) -> PackageFacts | None:
        return self.facts.get(pkg.key)

    @cached_property
    def focus(self) -> tuple[LockedPackage, ...]:
        """The packages whose findings are wanted, in the lockfile's order: those ``only``
        names, else every one (worked out once per context, not once per rule)."""
        if self.only is None:
            return self.lockfile.packages
        only = self.only
        return tuple(p for p in self.lockfile.packages if p.key in only)

    def history_for(self, pkg: LockedPackage) -> PackageFacts | None:
        """``pkg``'s facts when it comes from a registry whose package document lists
        versions (what the rules that read a release history judge), else None."""
        return self._listed.get(pkg.key) if pkg.on_registry else None

    @cached_property
    def _listed(self) -> Mapping[str, PackageFacts]:
        # several rules ask it of every package: sorted out once per context
        return {key: found for key, found in self.facts.items() if found.versions}


class Rule(ABC):
    """One check. Subclasses set the class attributes and implement ``check``."""

    id: ClassVar[str]
    level: ClassVar[Level]  # the default level
    family: ClassVar[str]
    description: ClassVar[str]  # one line
    help: ClassVar[str] = ""  # long help, Markdown
    needs: ClassVar[frozenset[Need]] = frozenset({Need.LOCKFILE})
    # parts of the package document the rule cannot judge without (reported as coverage)
    details: ClassVar[frozenset[Detail]] = frozenset()
    options: ClassVar[Mapping[str, Option]] = {}
    # rules that combine other rules' findings run after those
    after: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterable[Finding]:  # pragma: no cover
        """Yield findings for the tree. ``level`` on them is replaced by the policy's."""

    def finding(self, pkg: LockedPackage, message: str, **kwargs: Any) -> Finding:
        """A finding about ``pkg`` at its first lockfile line, with this rule's default level."""
        kwargs.setdefault("line", pkg.line)
        kwargs.setdefault("level", self.level)
        return Finding(
            rule=self.id, package=pkg.name, version=pkg.version, message=message, **kwargs
        )


class PackageRule(Rule):
    """A rule that looks at one package at a time."""

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for pkg in ctx.focus:
            yield from self.check_package(pkg, ctx)

    @abstractmethod
    def check_package(
        self, pkg: LockedPackage, ctx: CheckContext
    ) -> Iterable[Finding]:  # pragma: no cover
        """Yield findings about one package."""


_REGISTRY: dict[str, type[Rule]] = {}
_LOADED = False


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: add a rule to the registry. Ids are unique."""
    if cls.id in _REGISTRY and _REGISTRY[cls.id] is not cls:
        raise ValueError(f"rule id {cls.id!r} registered twice")
    _REGISTRY[cls.id] = cls
    return cls


def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule by id, in registration order."""
    global _LOADED
    if not _LOADED:
        for module in RULE_MODULES:
            importlib.import_module(module)
        _LOADED = True
    # the order of RULE_MODULES, whatever order the modules happened to be imported in
    order = {name: i for i, name in enumerate(RULE_MODULES)}
    ranked = sorted(
        enumerate(_REGISTRY.items()),
        key=lambda item: (order.get(item[1][1].__module__, len(order)), item[0]),
    )
    return {rid: cls for _, (rid, cls) in ranked}


def get_rule(rule_id: str) -> type[Rule]:
    rules = all_rules()
    if rule_id not in rules:
        raise KeyError(rule_id)
    return rules[rule_id]
