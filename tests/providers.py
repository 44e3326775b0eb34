"""Facts providers for tests: prepared package facts, the shipped name data, a feed store.

The engine takes providers (``npmguard.facts.FactsProvider``); these hand it what a test
prepared, and record what they were asked for.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from npmguard.facts import Facts, FeedLookup, Need, PackageFacts
from npmguard.model import LockedPackage
from npmguard.names.store import NameStore, open_store


@functools.cache
def shipped_names() -> NameStore:
    """The real name tables built from the shipped snapshot, once per test session."""
    return open_store(Path(tempfile.mkdtemp(prefix="npmguard-test-names-")))


class FakeFacts:
    """Prepared packument/tarball facts by name@version; records the needs and keys asked."""

    serves = frozenset({Need.PACKUMENT, Need.TARBALL})

    def __init__(self, facts: Mapping[str, PackageFacts]) -> None:
        self.facts = dict(facts)
        self.asked: list[frozenset[Need]] = []
        self.keys: list[str] = []

    def facts_for(
        self, packages: Sequence[LockedPackage], needs: frozenset[Need]
    ) -> Mapping[str, PackageFacts]:
        self.asked.append(needs)
        self.keys.extend(p.key for p in packages)
        return {p.key: self.facts[p.key] for p in packages if p.key in self.facts}

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        return Facts(packages=self.facts_for(packages, needs))

    def close(self) -> None:
        pass


class ShippedNames:
    """``Need.NAMES`` from the shipped snapshot."""

    serves = frozenset({Need.NAMES})

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        return Facts(names=shipped_names())

    def close(self) -> None:
        pass


class StaticFeed:
    """``Need.FEED`` from a given lookup (None: no feed imported)."""

    serves = frozenset({Need.FEED})

    def __init__(self, feed: FeedLookup | None) -> None:
        self.feed = feed

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        return Facts(feed=self.feed)

    def close(self) -> None:
        pass
