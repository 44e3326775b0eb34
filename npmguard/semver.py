"""npm's version and range semantics (node-semver), in one place."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import nodesemver


def satisfies(version: str, spec: str, *, include_prerelease: bool = False) -> bool:
    """Whether ``version`` is in npm range ``spec``, exactly as npm decides it."""
    try:
        return bool(
            nodesemver.satisfies(version, spec, loose=False, include_prerelease=include_prerelease)
        )
    except (ValueError, TypeError):
        return False


def valid_range(spec: str) -> bool:
    try:
        return nodesemver.valid_range(spec, loose=False) is not None
    except (ValueError, TypeError):
        return False


def valid_version(version: str) -> bool:
    try:
        return nodesemver.valid(version, loose=False) is not None
    except (ValueError, TypeError):
        return False


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Valid semver versions in ascending order; invalid ones are dropped."""
    good = [v for v in versions if valid_version(v)]
    return sorted(good, key=functools.cmp_to_key(compare))


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as npm orders two valid versions."""
    return int(nodesemver.compare(a, b, loose=False))
