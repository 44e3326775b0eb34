"""The shipped popular-names data: npm names with their approximate monthly downloads.

``npmguard/data/popular-names.txt.gz`` lists every name with at least ``FLOOR`` downloads a
month (from a snapshot; regenerate with ``benchmarks/build_popular_names.py``), as
``name<TAB>decibels`` where decibels = round(10 * log10(downloads)). A name that is absent has
fewer than ``FLOOR`` downloads a month, or is not in the snapshot.

Look-ups go through the derived SQLite tables of ``npmguard.names.store`` (a
:class:`~npmguard.facts.NameLookup`, handed to rules by the names provider), so a run pays
for the names it asks about, not for the whole list; ``popular_names`` parses the whole
snapshot (for builds, tests and bulk use).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

FLOOR = 30_000  # the build script's --min-downloads


@functools.cache
def popular_names() -> Mapping[str, int]:
    """name -> approximate monthly downloads, for every name the shipped data lists."""
    from npmguard.names.snapshot import parse_snapshot, shipped_snapshot

    return parse_snapshot(shipped_snapshot())
