"""npm's version and range semantics (node-semver), in one place.

Ranges go through node-semver, which implements npm's rules exactly. Versions are parsed
here into sort keys (semver 2.0 precedence, as node-semver orders them) and cached: rules
compare the versions of every package in a tree, and node-semver's own parsing is far too
slow to call millions of times.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# semver 2.0.0, with node-semver's tolerance for a leading "v"
_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)
_MAX_SAFE = 2**53 - 1  # node-semver refuses numbers JavaScript cannot hold exactly

VersionKey = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]


@functools.lru_cache(maxsize=262144)
def version_key(version: str) -> VersionKey | None:
    """A key that sorts valid versions as npm does, or None for an invalid version."""
    plain = version.split(".")
    if len(plain) == 3 and all(
        p.isdigit() and p.isascii() and (p == "0" or p[0] != "0") and len(p) < 16 for p in plain
    ):  # the common plain "1.2.3": no regex needed
        return (int(plain[0]), int(plain[1]), int(plain[2]), 1, ())
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        return None
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    if max(major, minor, patch) > _MAX_SAFE or len(version) > 256:
        return None
    pre = match.group(4)
    if pre is None:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)


@functools.lru_cache(maxsize=65536)
def satisfies(version: str, spec: str, *, include_prerelease: bool = False) -> bool:
    """Whether ``version`` is in npm range ``spec``, exactly as npm decides it."""
    import nodesemver  # ~6 ms to import: only when a range is checked

    try:
        return bool(
            nodesemver.satisfies(version, spec, loose=False, include_prerelease=include_prerelease)
        )
    except (ValueError, TypeError):
        return False


@functools.lru_cache(maxsize=4096)
def valid_range(spec: str) -> bool:
    import nodesemver

    try:
        return nodesemver.valid_range(spec, loose=False) is not None
    except (ValueError, TypeError):
        return False


def valid_version(version: str) -> bool:
    return version_key(version) is not None


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Valid semver versions in ascending order; invalid ones are dropped."""
    keyed = [(k, v) for v in versions if (k := version_key(v)) is not None]
    keyed.sort(key=lambda pair: pair[0])
    return [v for _, v in keyed]


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as npm orders two valid versions (ValueError for an invalid one)."""
    ka, kb = version_key(a), version_key(b)
    if ka is None or kb is None:
        raise ValueError(f"invalid version: {a if ka is None else b!r}")
    return (ka > kb) - (ka < kb)
