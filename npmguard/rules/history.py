"""A package's release history, as the takeover and spam rules read it from ``PackageFacts``.

"The previous version" of a locked version is defined once, here: among the versions published
*before* it (by publish time), the highest one lower than it by semver order. So a backport
``1.2.9`` published after ``2.0.0`` is compared with ``1.2.8``, not with ``2.0.0``; and a
version published right after ``2.0.0`` on the same line is compared with ``2.0.0``. When no
lower version was published earlier (a backport line's first release), the version published
last before it is used. Without publish times, the order is semver alone.

Facts read from the store carry a lazy :class:`~npmguard.versions.VersionList`;
for it, these questions are answered from its columns (publish times in ms, semver ranks
computed when the picture was stored), with the same answers, building only the objects
returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from npmguard.facts import PackageFacts, VersionInfo
from npmguard.semver import compare, sort_versions, valid_version, version_key
from npmguard.versions import VersionList

T = TypeVar("T")


def locked_detail(
    facts: PackageFacts,
    from_column: Callable[[VersionList, int], T | None],
    from_info: Callable[[VersionInfo], T | None],
) -> T | None:
    """One detail of the locked version (its publisher, publish time, ...): read from the
    stored columns when the versions are a :class:`VersionList` (no object built), else from
    its :class:`VersionInfo`; None when the version is not listed or the detail unknown."""
    listed = facts.versions
    if isinstance(listed, VersionList):
        at = listed.index_of(facts.version)
        return None if at is None else from_column(listed, at)
    info = facts.version_info()
    return None if info is None else from_info(info)


def _is_prerelease(version: str) -> bool:
    return "-" in version.split("+", 1)[0]


def earlier_versions(facts: PackageFacts) -> list[VersionInfo]:
    """Versions released before the locked one: by publish time when both times are known,
    else by semver order. Oldest first (by time where known)."""
    listed = facts.versions
    if isinstance(listed, VersionList):
        indexes = _earlier_indexes(facts, listed)
        if indexes is not None:
            return [listed.item(i) for i in indexes]
    current = facts.version_info()
    when = current.published if current is not None else None
    mine = version_key(facts.version)
    out: list[VersionInfo] = []
    for info in facts.versions or ():
        if info.version == facts.version:
            continue
        if when is not None and info.published is not None:
            if info.published < when:
                out.append(info)
        elif mine is not None:
            key = version_key(info.version)
            if key is not None and key < mine:
                out.append(info)
    out.sort(key=_time_key)
    return out


def earlier_publishers(facts: PackageFacts) -> list[str]:
    """The publishers of :func:`earlier_versions`, sorted (unknown ones left out)."""
    listed = facts.versions
    if isinstance(listed, VersionList):
        if not listed.publishers_known():
            return []  # no version names its publisher (mirrors drop ``_npmUser``)
        indexes = _earlier_indexes(facts, listed)
        if indexes is not None:
            return sorted(listed.publishers_at(indexes))
    return sorted({v.publisher for v in earlier_versions(facts) if v.publisher})


def earlier_maintainers(facts: PackageFacts) -> list[str]:
    """Everyone listed as a maintainer on one of :func:`earlier_versions`, sorted."""
    listed = facts.versions
    if isinstance(listed, VersionList):
        if not listed.maintainers_known():
            return []  # no version lists its maintainers
        indexes = _earlier_indexes(facts, listed)
        if indexes is not None:
            return sorted(listed.maintainers_at(indexes))
    return sorted({m for v in earlier_versions(facts) for m in v.maintainers or ()})


def _time_key(info: VersionInfo) -> tuple[int, float]:
    return (0, info.published.timestamp()) if info.published is not None else (1, 0.0)


# earlier positions per facts object (checked by identity), as for ``previous_version``
_EARLIER: dict[int, tuple[PackageFacts, list[int] | None]] = {}


def _earlier_indexes(facts: PackageFacts, listed: VersionList) -> list[int] | None:
    """``earlier_versions`` as positions in ``listed`` (same order), or None when the locked
    version is not listed (its semver rank is then unknown: the general path answers).
    The list is shared between callers: never change it."""
    cached = _EARLIER.get(id(facts))
    if cached is not None and cached[0] is facts and facts.versions is listed:
        return cached[1]
    found = _compute_earlier_indexes(facts, listed)
    if len(_EARLIER) > 100_000:
        _EARLIER.clear()
    _EARLIER[id(facts)] = (facts, found)
    return found


def _compute_earlier_indexes(facts: PackageFacts, listed: VersionList) -> list[int] | None:
    me = listed.index_of(facts.version)
    if me is None:
        return None
    names, times, ranks = listed.names, listed.times, listed.ranks
    when = times[me]
    mine = ranks[me]
    if not listed.timed:  # semver order alone, in listing order (the common mirror case)
        return [i for i, r in enumerate(ranks) if 0 <= r < mine] if mine >= 0 else []
    version = facts.version
    out: list[int] = []
    for i, name in enumerate(names):
        if name == version:
            continue
        t = times[i]
        if when is not None and t is not None:
            if t < when:
                out.append(i)
        elif mine >= 0:
            r = ranks[i]
            if 0 <= r < mine:
                out.append(i)
    # as _time_key: timed ones by time, then the rest; a stable sort keeps listing order
    out.sort(key=lambda i: (0, times[i]) if times[i] is not None else (1, 0))
    return out


# Several rules ask for the same package's previous version; facts objects are immutable,
# so the answer is kept per object (checked by identity) for the life of the process.
_PREVIOUS: dict[int, tuple[PackageFacts, VersionInfo | None]] = {}


def previous_version(facts: PackageFacts) -> VersionInfo | None:
    """The version this one should be compared with (see the module docs)."""
    cached = _PREVIOUS.get(id(facts))
    if cached is not None and cached[0] is facts:
        return cached[1]
    found = _previous_version(facts)
    if len(_PREVIOUS) > 100_000:
        _PREVIOUS.clear()
    _PREVIOUS[id(facts)] = (facts, found)
    return found


def _previous_version(facts: PackageFacts) -> VersionInfo | None:
    listed = facts.versions
    if isinstance(listed, VersionList):
        me = listed.index_of(facts.version)
        if me is not None and not listed.timed:
            # semver order alone: the first listed of the highest rank below this one
            rank, ranks = listed.ranks[me], listed.ranks
            if rank <= 0:
                return None
            try:  # stored ranks are dense: the rank just below is nearly always there
                return listed.item(ranks.index(rank - 1))
            except ValueError:  # a gap (a list --as-of cut back)
                top = max(filter(rank.__gt__, ranks), default=-1)
            return listed.item(ranks.index(top)) if top >= 0 else None
        indexes = _earlier_indexes(facts, listed)
        if indexes is not None:
            return _previous_from_columns(facts, listed, indexes)
    before = earlier_versions(facts)
    if not before:
        return None
    mine = version_key(facts.version)
    if mine is not None:
        best: VersionInfo | None = None
        best_key = None
        for info in before:
            key = version_key(info.version)
            if key is not None and key < mine and (best_key is None or key > best_key):
                best, best_key = info, key
        if best is not None:
            return best
    timed = [v for v in before if v.published is not None]
    return timed[-1] if timed else before[-1]


def _previous_from_columns(
    facts: PackageFacts, listed: VersionList, before: list[int]
) -> VersionInfo | None:
    if not before:
        return None
    ranks, times = listed.ranks, listed.times
    me = listed.index_of(facts.version)
    mine = -1 if me is None else ranks[me]
    if mine >= 0:
        best, best_rank = -1, -1
        for i in before:  # the first of the highest lower rank, in ``before`` order
            r = ranks[i]
            if 0 <= r < mine and r > best_rank:
                best, best_rank = i, r
        if best >= 0:
            return listed.item(best)
    timed = [i for i in before if times[i] is not None]
    return listed.item(timed[-1] if timed else before[-1])


def last_release_before(facts: PackageFacts) -> VersionInfo | None:
    """The version published most recently before the locked one (publish times needed)."""
    listed = facts.versions
    if isinstance(listed, VersionList):
        me = listed.index_of(facts.version)
        at = None if me is None else listed.times[me]
        if at is None:
            return None
        best, best_time = -1, None
        for i, t in enumerate(listed.times):  # the first of the latest, as max() picks
            if t is not None and t < at and (best_time is None or t > best_time):
                best, best_time = i, t
        return None if best < 0 else listed.item(best)
    current = facts.version_info()
    if current is None or current.published is None:
        return None
    when = current.published
    timed = [(v.published, v) for v in facts.versions or () if v.published and v.published < when]
    return max(timed, key=lambda pair: pair[0], default=(when, None))[1]


def newest(
    infos: Iterable[VersionInfo], *, below: str | None = None, stable: bool = True
) -> VersionInfo | None:
    """The highest version among ``infos`` (optionally lower than ``below``; stable only)."""
    pool = {
        v.version: v
        for v in infos
        if valid_version(v.version) and not (stable and _is_prerelease(v.version))
    }
    if below is not None and valid_version(below):
        pool = {k: v for k, v in pool.items() if compare(k, below) < 0}
    ordered = sort_versions(pool)
    return pool[ordered[-1]] if ordered else None


def has_publish_times(facts: PackageFacts) -> bool:
    """Whether any version of the package has a known publish time."""
    listed = facts.versions
    if isinstance(listed, VersionList):
        return listed.timed
    return any(v.published is not None for v in listed or ())


def day(when: datetime | None) -> str:
    return "unknown" if when is None else when.date().isoformat()


def is_prerelease(version: str) -> bool:
    return _is_prerelease(version)


def allow_entry(name: str, version: str, rule: str) -> str:
    """The policy allow entry that would accept this finding, as TOML on one line."""
    return (
        f'[[allow]] package = "{name}", version = "{version}", rules = ["{rule}"], '
        f'reason = "reviewed: ..."'
    )
