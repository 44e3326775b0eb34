"""When Python's cyclic garbage collector runs during an npmguard run.

It is off for a whole run (:func:`npmguard.cli.main`): a run builds large acyclic structures
(the tree, every package's facts) and frees them at exit, and with Python's default
thresholds the collector walked them again and again (10% of a warm check's CPU on 1,100
packages, 20% on 8,000; still 7% with 50,000 allocations between collections). Reference
counting frees at once everything not in a cycle; a warm check of 1,100 packages leaves ~500
objects in cycles at its end. Downloads are the exception: HTTP responses, futures and their
callbacks make cycles, so the collector runs (rarely) while documents are fetched, which
keeps a cold check's peak memory where it was (``benchmarks/bench_scale.py``, 8,000 packages).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# thresholds while collecting: far fewer passes than Python's default of one per 700 net
# allocations (the documents being parsed are large and acyclic)
FEWER_COLLECTIONS = (50_000, 50, 100)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside; the collector's state is restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def collecting() -> Iterator[None]:
    """Cyclic collection on inside (with :data:`FEWER_COLLECTIONS`); restored after."""
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.set_threshold(*FEWER_COLLECTIONS)
    gc.enable()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not enabled:
            gc.disable()
