"""A package's release history, as the takeover and spam rules read it from ``PackageFacts``.

"The previous version" of a locked version is defined once, here: among the versions published
*before* it (by publish time), the highest one lower than it by semver order. So a backport
``1.2.9`` published after ``2.0.0`` is compared with ``1.2.8``, not with ``2.0.0``; and a
version published right after ``2.0.0`` on the same line is compared with ``2.0.0``. When no
lower version was published earlier (a backport line's first release), the version published
last before it is used. Without publish times, the order is semver alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from npmguard.facts import PackageFacts, VersionInfo
from npmguard.semver import compare, sort_versions, valid_version, version_key


def _is_prerelease(version: str) -> bool:
    return "-" in version.split("+", 1)[0]


def earlier_versions(facts: PackageFacts) -> list[VersionInfo]:
    """Versions released before the locked one: by publish time when both times are known,
    else by semver order. Oldest first (by time where known)."""
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


def _time_key(info: VersionInfo) -> tuple[int, float]:
    return (0, info.published.timestamp()) if info.published is not None else (1, 0.0)


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


def last_release_before(facts: PackageFacts) -> VersionInfo | None:
    """The version published most recently before the locked one (publish times needed)."""
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
