"""The facts provider for ``Need.FEED``: the imported known-bad records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from npmguard.facts import Facts, Need
from npmguard.feeds import default_path
from npmguard.model import LockedPackage

if TYPE_CHECKING:
    from npmguard.feeds.store import FeedStore
    from npmguard.store.redis import SharedCache


class FeedProvider:
    """Opens the feed store (``<data dir>/feeds.sqlite``, or ``path``) on first use.

    With no feed imported the facts say so (``Facts.feed`` is None): ``known-malicious``
    cannot judge, which is reported, never read as clean. With a team cache (``shared``),
    the sources it holds that this machine has not seen are brought in first
    (:func:`npmguard.feeds.shared.sync`).
    """

    serves = frozenset({Need.FEED})

    def __init__(self, path: Path | None = None, shared: SharedCache | None = None) -> None:
        self.path = default_path() if path is None else path
        self.shared = shared
        self._store: FeedStore | None = None
        self._opened = False

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        del packages, needs  # looked up per package by the rule, through the store's index
        if not self._opened:
            if self.shared is not None:
                from npmguard.feeds.shared import sync

                sync(self.shared, self.path)
            if self.path.exists():  # else no feed was imported: nothing to import or open
                from npmguard.feeds.store import open_feed_store

                self._store = open_feed_store(self.path)
            self._opened = True
        return Facts(feed=self._store)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
