"""Who published a release, and whether it ended a quiet period: the context signals the
takeover rules combine with what a release adds.

Real release histories (``benchmarks/replay_history.py``) are full of benign publisher changes
and wake-ups: team members and release bots take over releases, maintainers come back after a
year. So a publisher change is a *change of hands* only when the account is new to the
project in every way the registry shows:

- it published none of the package's earlier versions (``same``);
- it was not listed as a maintainer on any earlier version (``maintainer``: the version
  documents of the public registry list who could publish when each version was published);
- it published none of the project's other packages before this release, among the facts in
  view: the packages of the same scope, or with the same source repository (``team``);
- the release carries no provenance attestation (``trusted``: a move to CI publishing
  changes the account but proves the source).

Only what is left is ``new-hand``. Unknown publishers are ``unknown``, never a change. A
change of hands is a ``new-hand`` publisher, or a release without the provenance attestation
earlier releases had (published outside the CI pipeline that published them). :class:`Signals`
bundles them with the wake-up for the rules that combine them.
Everything here is computed from ``PackageFacts`` alone; thresholds come from the rules.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import attrgetter

from npmguard.facts import PackageFacts, VersionInfo
from npmguard.model import Evidence
from npmguard.rules.history import (
    earlier_maintainers,
    earlier_publishers,
    earlier_versions,
    last_release_before,
    locked_detail,
    newest,
    previous_version,
)
from npmguard.versions import VersionList


class PublisherKind(str, enum.Enum):
    SAME = "same"  # published an earlier version
    MAINTAINER = "maintainer"  # listed as a maintainer on an earlier version
    TEAM = "team"  # published the project's other packages (same scope or repository)
    TRUSTED = "trusted"  # new account, but the release has a provenance attestation
    NEW_HAND = "new-hand"  # none of the above: a change of hands
    UNKNOWN = "unknown"  # no publisher, or no earlier publisher, known

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class PublisherHistory:
    """How this release's publisher relates to the package's earlier releases."""

    kind: PublisherKind
    publisher: str | None = None
    earlier_publishers: tuple[str, ...] = ()
    earlier_maintainers: tuple[str, ...] = ()
    sibling: str | None = None  # for ``team``: a package of the project the account published
    # the account's first release among the facts in view, this one excepted (None: none seen)
    first_seen: datetime | None = None
    first_seen_package: str | None = None


@dataclass(frozen=True, slots=True)
class Wake:
    """The release ends a quiet period: ``gap`` since ``last``, the release before it."""

    last: VersionInfo
    gap: timedelta


def published(facts: PackageFacts) -> datetime | None:
    return locked_detail(facts, VersionList.published_at, attrgetter("published"))


def has_provenance(facts: PackageFacts) -> bool | None:
    has = locked_detail(facts, VersionList.provenance_at, attrgetter("has_provenance"))
    if has is None and facts.manifest is not None:
        has = facts.manifest.has_attestations
    return has


def publisher_of(facts: PackageFacts) -> str | None:
    publisher = locked_detail(facts, VersionList.publisher_at, attrgetter("publisher"))
    if publisher is None and facts.manifest is not None:
        publisher = facts.manifest.publisher
    return publisher


def provenance_lost(facts: PackageFacts) -> tuple[VersionInfo, VersionInfo | None] | None:
    """(the earlier version with provenance it is compared with, the newest earlier version
    with provenance) when this version has none, though its previous version (the one it is
    compared with, see :mod:`npmguard.rules.history`) or the latest release before it had
    one. Both count: stolen tokens publish bursts of versions across release lines (nx, 2025:
    eight versions in four hours), each one following another that lacks provenance too."""
    if has_provenance(facts) is not False:
        return None
    if isinstance(facts.versions, VersionList) and not facts.versions.any_provenance():
        return None  # no version had one: none lost (answered from the stored column)
    known = [v for v in earlier_versions(facts) if v.has_provenance is not None]
    compared = [v for v in (previous_version(facts), *known[-1:]) if v and v.has_provenance]
    if not compared:
        return None
    return compared[0], newest(v for v in known if v.has_provenance)


def wake_up(
    facts: PackageFacts, now: datetime, *, quiet: timedelta, recent: timedelta
) -> Wake | None:
    """A :class:`Wake` when the locked version was published within ``recent`` of ``now``
    after at least ``quiet`` without a release; None otherwise or when times are unknown."""
    when = published(facts)
    if when is None or now - when > recent:
        return None  # before the search for the release before it: most releases are old
    prev = last_release_before(facts)
    if prev is None or prev.published is None:
        return None
    gap = when - prev.published
    return Wake(prev, gap) if gap >= quiet else None


def publisher_history(
    facts: PackageFacts, others: Mapping[str, PackageFacts] | None = None
) -> PublisherHistory:
    """Classify this release's publisher (see the module docs). ``others`` are the facts in
    view (the tree's), searched for the project's other packages and the account's record."""
    publisher = publisher_of(facts)
    earlier = earlier_publishers(facts)
    if publisher is None or not earlier:
        return PublisherHistory(PublisherKind.UNKNOWN, publisher, tuple(earlier))
    if publisher in earlier:
        return PublisherHistory(PublisherKind.SAME, publisher, tuple(earlier))
    listed = earlier_maintainers(facts)
    base = PublisherHistory(PublisherKind.MAINTAINER, publisher, tuple(earlier), tuple(listed))
    if publisher in listed:
        return base
    when = published(facts)
    sibling, first, first_name = _record(facts, publisher, when, others or {})
    if sibling is not None:
        return _with(base, PublisherKind.TEAM, sibling, first, first_name)
    kind = PublisherKind.TRUSTED if has_provenance(facts) else PublisherKind.NEW_HAND
    return _with(base, kind, None, first, first_name)


def _with(
    base: PublisherHistory,
    kind: PublisherKind,
    sibling: str | None,
    first: datetime | None,
    first_name: str | None,
) -> PublisherHistory:
    return PublisherHistory(
        kind,
        base.publisher,
        base.earlier_publishers,
        base.earlier_maintainers,
        sibling,
        first,
        first_name,
    )


def _record(
    facts: PackageFacts,
    publisher: str,
    when: datetime | None,
    others: Mapping[str, PackageFacts],
) -> tuple[str | None, datetime | None, str | None]:
    """(a sibling package the account published before ``when``, the account's first release
    among the facts in view and its package), this release excepted."""
    scope = facts.name.split("/", 1)[0] if facts.name.startswith("@") else None
    repo = repository_key(facts.manifest.repository if facts.manifest else None)
    sibling: str | None = None
    first: datetime | None = None
    first_name: str | None = None
    seen: set[str] = set()
    for other in others.values():
        if other.name in seen or not other.versions:
            continue
        seen.add(other.name)
        for at in _times_by(other.versions, publisher):
            if when is not None and at >= when:
                continue
            if first is None or at < first:
                first, first_name = at, other.name
            if sibling is None and other.name != facts.name and _same_project(other, scope, repo):
                sibling = other.name
    return sibling, first, first_name


def _same_project(other: PackageFacts, scope: str | None, repo: str | None) -> bool:
    if scope is not None and other.name.startswith(scope + "/"):
        return True
    theirs = repository_key(other.manifest.repository if other.manifest else None)
    return repo is not None and theirs == repo


def _times_by(versions: Iterable[VersionInfo], publisher: str) -> list[datetime]:
    if isinstance(versions, VersionList):
        return [
            datetime.fromtimestamp(ms / 1000, timezone.utc)
            for ms in versions.publisher_times(publisher)
        ]
    return [v.published for v in versions if v.publisher == publisher and v.published]


_SHORTHAND = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}


def repository_key(url: str | None) -> str | None:
    """``host/owner/repo`` of a package.json ``repository`` (a URL, ``git@host:owner/repo``,
    ``github:owner/repo`` or ``owner/repo``), lower-cased; None when it names no repository."""
    if not url:
        return None
    text = url.strip().lower()
    host, colon, rest = text.partition(":")
    if colon and host in _SHORTHAND:
        text = f"{_SHORTHAND[host]}/{rest}"
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        text = "github.com/" + text
    else:
        text = text.removeprefix("git+")
        # a URL, or scp-like git@host:owner/repo
        text = text.split("://", 1)[1] if "://" in text else text.replace(":", "/", 1)
        text = re.sub(r"^[^@/]+@", "", text)
    text = text.split("#", 1)[0].split("?", 1)[0]
    parts = [p for p in text.split("/") if p]
    if len(parts) < 3:
        return None
    return "/".join([*parts[:2], parts[2].removesuffix(".git")])


@dataclass(frozen=True, slots=True)
class Signals:
    """What surrounds a release: who published it, whether it ended a quiet period, whether
    it lost the provenance earlier versions had."""

    publisher: PublisherHistory
    wake: Wake | None = None
    lost: VersionInfo | None = None  # the latest earlier version that had provenance

    @property
    def new_hand(self) -> bool:
        return self.publisher.kind is PublisherKind.NEW_HAND

    @property
    def hands(self) -> bool:
        """A change of hands: an account new to the project, or provenance lost."""
        return self.new_hand or self.lost is not None

    @property
    def any(self) -> bool:
        return self.hands or self.wake is not None

    def evidence(self) -> list[Evidence]:
        out = []
        if self.wake is not None:
            out.append(
                Evidence(
                    "after a quiet period",
                    f"{self.wake.gap.days} days since {self.wake.last.version}",
                    "registry",
                )
            )
        if self.new_hand:
            out.append(
                Evidence(
                    "new publisher",
                    f"{self.publisher.publisher} (earlier: "
                    f"{', '.join(self.publisher.earlier_publishers)})",
                    "registry",
                )
            )
        if self.lost is not None:
            out.append(Evidence("provenance lost", f"{self.lost.version} had it", "registry"))
        return out

    def words(self) -> str:
        parts = []
        if self.new_hand:
            parts.append(f"published by {self.publisher.publisher}, new to the package")
        if self.lost is not None:
            parts.append("without the provenance earlier releases had")
        if self.wake is not None:
            parts.append(f"after {self.wake.gap.days} days without a release")
        return "; ".join(parts)
