"""The effective policy: what a team accepts. Loading and merging live in ``policy.load``."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Literal

from npmguard.model import Level
from npmguard.policy.settings import DEFAULTS
from npmguard.semver import satisfies


@dataclass(frozen=True, slots=True)
class PackageMatcher:
    """A package name or scope glob (``@acme/*``) and an optional npm version range.

    ``include_prerelease`` is npm's option of that name: deny entries take it, so that
    publishing ``2.0.0-rc.1`` does not step out of ``version = ">=1.0.0"``; allow entries do
    not (npm's default: a prerelease matches only a range that names one of its own)."""

    package: str
    version: str | None = None
    include_prerelease: bool = False

    def matches(self, name: str, version: str) -> bool:
        if not fnmatch.fnmatchcase(name, self.package):
            return False
        return self.version is None or satisfies(
            version, self.version, include_prerelease=self.include_prerelease
        )


@dataclass(frozen=True, slots=True)
class AllowEntry:
    matcher: PackageMatcher
    reason: str
    rules: tuple[str, ...] | None = None  # None: every rule
    expires: date | None = None
    source: str = ""  # "file:line" it came from

    def covers(self, rule: str, name: str, version: str) -> bool:
        if self.rules is not None and rule not in self.rules:
            return False
        return self.matcher.matches(name, version)

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True, slots=True)
class PolicyFinding:
    """A finding the policy itself makes (not a registered rule): described once, here, for
    the engine, ``docs/rules.md`` and SARIF rule metadata."""

    id: str
    level: Level
    family: str
    description: str  # one line
    help: str  # Markdown


DENY_RULE = PolicyFinding(
    id="policy-deny",
    level=Level.BLOCK,
    family="policy",
    description="A package matches a deny entry of the policy.",
    help=(
        "The policy names this package (and version range) in a `deny` entry, with a reason; "
        "the finding quotes it. Denied packages always block: allow entries do not cover "
        "them. Remove the dependency or change the policy."
    ),
)


@dataclass(frozen=True, slots=True)
class DenyEntry:
    matcher: PackageMatcher
    reason: str
    source: str = ""


def ago(then: datetime, now: datetime | None = None) -> str:
    """``then`` as people say it: "3 minutes ago", "120 minutes ago", "5 hours ago"."""
    seconds = max(0.0, ((now or datetime.now(timezone.utc)) - then).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 180:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 72:
        return f"{hours} hours ago"
    return f"{hours // 24} days ago"


@dataclass(frozen=True, slots=True)
class PolicyCopy:
    """A policy named by URL, as this run got it: ``fetched`` now, ``revalidated`` (the
    server said the cached copy is current), ``cached`` (young enough to use without asking),
    or ``stale`` (the server could not be asked; an older copy is used). ``fetched_at``: when
    the copy in use came from the server (UTC)."""

    url: str  # redacted, as shown
    fetched_at: datetime
    state: Literal["fetched", "revalidated", "cached", "stale"]

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    def describe(self, now: datetime | None = None) -> str:
        when = ago(self.fetched_at, now)
        if self.state == "fetched":
            return f"{self.url}: fetched now"
        if self.state == "revalidated":
            return f"{self.url}: the copy cached {when}, confirmed current by the server"
        if self.state == "cached":
            return f"{self.url}: the copy cached {when} (not asked again yet; --refresh asks)"
        return f"{self.url}: cannot refresh the policy; using the copy cached {when}"


@dataclass(frozen=True)
class Policy:
    """The merged policy. ``Policy()`` is the built-in default with no files read."""

    levels: Mapping[str, Level] = field(default_factory=dict)  # rule id -> level override
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    allow: tuple[AllowEntry, ...] = ()
    deny: tuple[DenyEntry, ...] = ()
    # [settings]: keys, kinds, defaults and descriptions in npmguard.policy.settings
    fail_on: Level = DEFAULTS["fail_on"]
    prompt_on: Level = DEFAULTS["prompt_on"]
    on_unreachable: str = DEFAULTS["on_unreachable"]
    allowed_registries: tuple[str, ...] = DEFAULTS["allowed_registries"]
    include_dev: bool = DEFAULTS["include_dev"]
    include_optional: bool = DEFAULTS["include_optional"]
    include_peer: bool = DEFAULTS["include_peer"]
    noninteractive_warn: str = DEFAULTS["noninteractive_warn"]
    cache_url: str = DEFAULTS["cache_url"]
    # key path (settings.fail-on, rules.too-new.days) -> "file:line" it came from
    sources: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # the files read, most specific first
    copies: tuple[PolicyCopy, ...] = ()  # the policies named by URL: which copy was used

    def level_for(self, rule_id: str, default: Level) -> Level:
        return self.levels.get(rule_id, default)
