"""The facts provider for ``Need.NAMES``: the shipped popular-names data."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from npmguard.facts import Facts, Need
from npmguard.model import LockedPackage
from npmguard.names.store import NameStore, open_store


class NamesProvider:
    """Opens (building on first use) the derived name tables under ``cache_dir``.

    It is also a :class:`~npmguard.facts.NameLookup` itself, opening the tables only when
    first asked (the packument provider asks it which tarballs are worth reading).
    """

    serves = frozenset({Need.NAMES})

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._store: NameStore | None = None

    def lookup(self) -> NameStore:
        """The store, opened once; other providers share it (tarball selection)."""
        if self._store is None:
            self._store = open_store(self.cache_dir)
        return self._store

    def downloads(self, name: str) -> int | None:
        return self.lookup().downloads(name)

    def downloads_of(self, names: Iterable[str]) -> Mapping[str, int | None]:
        return self.lookup().downloads_of(names)

    def is_word(self, word: str) -> bool:
        return self.lookup().is_word(word)

    def scope_known(self, scope: str) -> bool:
        return self.lookup().scope_known(scope)

    def near_targets(
        self, variants: Collection[str], min_downloads: int, min_length: int
    ) -> dict[str, int]:
        return self.lookup().near_targets(variants, min_downloads, min_length)

    def squashed_targets(self, key: str, min_downloads: int, min_length: int) -> dict[str, int]:
        return self.lookup().squashed_targets(key, min_downloads, min_length)

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        del packages, needs  # looked up per name by the rules
        return Facts(names=self.lookup())

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
