"""``--as-of``: a package's registry picture as it stood at a past moment.

An audit asks "would this lockfile have passed on the day it was merged?", a replay "what
would the rules have said an hour after this release?". Both need the facts the registry
showed then, and the rules' clock set to then. :func:`facts_as_of` cuts one
:class:`~npmguard.facts.PackageFacts` back to a moment; :class:`AsOfProvider` applies it to
everything a facts provider hands out. Rules never see the cut: they read ordinary facts.

What the cut keeps, from a full registry document (real publish times):

- the versions published at or before the moment, with their publish times, publishers,
  maintainers, scripts, bins and dependencies (all fixed at publish);
- ``created`` as it was; ``unpublished`` only if it happened by then; ``modified`` becomes
  unknown (the document does not say what it was then);
- dist-tags: ``latest`` is the highest stable version published by then (npm's default on
  ``npm publish``; a package that tagged its releases otherwise differed), the other tags are
  kept where their version was already published;
- ``maintainers``: those listed on the newest version published by then;
- deprecation becomes unknown, for the package and every version: the registry does not date
  a deprecation, so whether it had been made by then cannot be told;
- manifest and tarball facts of the locked version as they are (immutable once published).

A package created after the moment, or a locked version published after it, could not have
been in a lockfile then: its facts become unknown, with the reason in ``error``. Without
publish times (a mirror's stripped document) no version can be dated: the versions up to the
locked one (semver order, what the history rules compare) are kept and the rest dropped, and
the rules that need times say nothing, as they do without ``--as-of``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timezone
from typing import Protocol

from npmguard.facts import Facts, FactsStatus, Need, PackageFacts, VersionInfo
from npmguard.model import LockedPackage
from npmguard.semver import valid_version, version_key
from npmguard.versions import VersionList


def parse_as_of(text: str, *, now: datetime | None = None) -> datetime:
    """``--as-of``'s value as an aware UTC datetime.

    ``YYYY-MM-DD`` means the end of that day in UTC (everything published that day counts);
    an ISO 8601 date and time (``2021-11-04T15:00Z``, ``2021-11-04 15:00:00+01:00``) means
    that moment, UTC when no offset is given. Raises ``ValueError`` with a message fit for
    the user for anything else, and for a moment after ``now`` (default: the clock).
    """
    raw = text.strip()
    value = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        if len(value) == 10:
            when = datetime.combine(date.fromisoformat(value), time(23, 59, 59), timezone.utc)
        else:
            when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 date and time "
            "(YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])"
        ) from None
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    when = when.astimezone(timezone.utc)
    current = now or datetime.now(timezone.utc)
    if when > current:
        raise ValueError(f"{text!r} is in the future; leave --as-of out to judge as of now")
    return when


def facts_as_of(facts: PackageFacts, when: datetime) -> PackageFacts:
    """``facts`` as the registry showed them at ``when`` (see the module docs). Pure."""
    if facts.status is not FactsStatus.KNOWN or facts.versions is None:
        return replace(facts, as_of=when)
    if facts.created is not None and facts.created > when:
        return _not_yet(facts, when, f"{facts.name} was created {_stamp(facts.created)}")
    mine = facts.version_info()
    if mine is not None and mine.published is not None and mine.published > when:
        return _not_yet(facts, when, f"{facts.key} was published {_stamp(mine.published)}")
    versions = _visible(facts, when)
    names = [v.version for v in versions]
    timed = [v for v in versions if v.published is not None]
    newest = max(timed, key=lambda v: v.published or when, default=None)
    unpublished = facts.unpublished if facts.unpublished and facts.unpublished <= when else None
    manifest = facts.manifest
    if manifest is not None:
        manifest = replace(manifest, deprecated=None)
    return replace(
        facts,
        versions=versions,
        dist_tags=None if facts.dist_tags is None else _tags(facts.dist_tags, names),
        modified=None,
        unpublished=unpublished,
        maintainers=newest.maintainers if newest is not None else None,
        package_deprecated=None,
        version_present=facts.version in names,
        manifest=manifest,
        as_of=when,
    )


def _not_yet(facts: PackageFacts, when: datetime, what: str) -> PackageFacts:
    return PackageFacts(
        facts.name,
        facts.version,
        FactsStatus.UNKNOWN,
        registry=facts.registry,
        fetched_at=facts.fetched_at,
        from_cache=facts.from_cache,
        error=f"{what}, after the --as-of moment {_stamp(when)}: not on the registry then",
        as_of=when,
    )


def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="minutes").replace("+00:00", "Z")


def _visible(facts: PackageFacts, when: datetime) -> Sequence[VersionInfo]:
    """The versions published by ``when``; undated ones up to the locked version (semver)."""
    listed = facts.versions or ()
    mine = version_key(facts.version)
    if isinstance(listed, VersionList):  # the store's columns: cut them, build no objects
        cutoff = when.timestamp() * 1000
        me = listed.index_of(facts.version)
        rank = -1 if me is None else listed.ranks[me]
        keep = [
            i
            for i, (ms, r) in enumerate(zip(listed.times, listed.ranks, strict=True))
            if (ms <= cutoff if ms is not None else i == me or 0 <= r <= rank)
        ]
        return listed.select(keep, blank_deprecation=True)
    out = []
    for info in listed:
        if info.published is not None:
            seen = info.published <= when
        else:
            key = version_key(info.version)
            seen = info.version == facts.version or (
                key is not None and mine is not None and key <= mine
            )
        if seen:
            out.append(replace(info, deprecated=None) if info.deprecated is not None else info)
    return tuple(out)


def _tags(tags: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    present = set(names)
    out = {k: v for k, v in tags.items() if k != "latest" and v in present}
    stable = [v for v in names if valid_version(v) and "-" not in v.split("+", 1)[0]]
    pool = stable or [v for v in names if valid_version(v)]
    if pool:
        out = {"latest": max(pool, key=lambda v: version_key(v) or ()), **out}
    return out


class _Provider(Protocol):
    """What :class:`AsOfProvider` needs of the provider it wraps (an
    ``npmguard.engine.FactsProvider``; named here so the values layer imports no engine)."""

    serves: frozenset[Need]

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts: ...

    def close(self) -> None: ...


class AsOfProvider:
    """A facts provider that hands out ``inner``'s package facts cut back to ``when``
    (feeds and names pass through unchanged). :func:`npmguard.app.build` wraps every
    provider in one for ``--as-of``."""

    def __init__(self, inner: _Provider, when: datetime) -> None:
        self.inner = inner
        self.when = when
        self.serves = inner.serves

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        got = self.inner.gather(packages, needs)
        if not got.packages:
            return got
        cut = {key: facts_as_of(facts, self.when) for key, facts in got.packages.items()}
        return replace(got, packages=cut)

    def close(self) -> None:
        self.inner.close()
