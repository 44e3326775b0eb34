"""The shipped popular-names data: npm names with their approximate monthly downloads.

``npmguard/data/popular-names.txt.gz`` lists every name with at least ``FLOOR`` downloads a
month (from a snapshot; regenerate with ``benchmarks/build_popular_names.py``), as
``name<TAB>decibels`` where decibels = round(10 * log10(downloads)). A name that is absent has
fewer than ``FLOOR`` downloads a month, or is not in the snapshot.
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Mapping
from importlib import resources

FLOOR = 30_000  # the build script's --min-downloads


@functools.cache
def popular_names() -> Mapping[str, int]:
    """name -> approximate monthly downloads, for every name the shipped data lists."""
    raw = resources.files("npmguard").joinpath("data/popular-names.txt.gz").read_bytes()
    out: dict[str, int] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        name, _, db = line.partition("\t")
        out[name] = round(10 ** (int(db) / 10))
    return out


def downloads(name: str) -> int | None:
    """Approximate monthly downloads of ``name``, or None if below ``FLOOR`` / unknown."""
    return popular_names().get(name)


@functools.cache
def popular_words() -> frozenset[str]:
    """Every letter run in the popular names (scope dropped): the words npm people use."""
    found: set[str] = set()
    for name in popular_names():
        found.update(w for w in re.split(r"[^a-z]+", name.lower().rsplit("/", 1)[-1]) if w)
    return frozenset(found)
