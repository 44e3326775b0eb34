"""The facts provider for ``Need.FEED``: the imported known-bad records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from npmguard.facts import Facts, Need
from npmguard.feeds.store import FeedStore, default_path, open_feed_store
from npmguard.model import LockedPackage


class FeedProvider:
    """Opens the feed store (``<data dir>/feeds.sqlite``, or ``path``) on first use.

    With no feed imported the facts say so (``Facts.feed`` is None): ``known-malicious``
    cannot judge, which is reported, never read as clean.
    """

    serves = frozenset({Need.FEED})

    def __init__(self, path: Path | None = None) -> None:
        self.path = default_path() if path is None else path
        self._store: FeedStore | None = None
        self._opened = False

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        del packages, needs  # looked up per package by the rule, through the store's index
        if not self._opened:
            self._store = open_feed_store(self.path)
            self._opened = True
        return Facts(feed=self._store)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
