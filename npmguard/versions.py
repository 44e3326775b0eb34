"""A package's versions as the facts store keeps them: columns, made into objects on demand.

A big tree's pictures list ~90,000 versions, and building a :class:`VersionInfo` for each on
every warm run costs more than everything else the run does. :class:`VersionList` keeps the
decoded columns (version strings, publish times, semver ranks, ...) and behaves as a
read-only sequence of ``VersionInfo``: an item is built the first time it is asked for, and the
questions the rules ask of every package (this version's info, the previous version, the last
release before it; see :mod:`npmguard.rules.history`) are answered from the columns, building
only the objects they return.

It compares equal to a tuple of the same ``VersionInfo`` objects, so code that builds
``PackageFacts`` from tuples (tests, the cold path) and code that reads the store agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import overload

from npmguard.facts import Detail, VersionInfo

_UTC = timezone.utc
REF_BASE = 0x31  # a stored reference r is the character chr(r + REF_BASE), skipping surrogates
_UNKNOWN_REF = chr(REF_BASE - 1)  # the reference -1: unknown


def ref_at(column: str, index: int) -> int:
    """The reference stored at ``index`` of an encoded column (-1: none)."""
    code = ord(column[index])
    return (code - 0x800 if code >= 0xD800 else code) - REF_BASE


class VersionList(Sequence[VersionInfo]):
    """Versions in packument order. ``times`` are absolute milliseconds (None: unknown);
    ``ranks`` are npm-semver ranks (-1: not a valid version; dense as stored, with gaps in a
    :meth:`select`-ed list); ``columns`` are the stored publisher, install-script, provenance,
    deprecation, bin-names, dependency-names and maintainers columns, one character per
    version (:func:`ref_at`), where publishers, deprecations, bins, dependencies and
    maintainers are indexes into ``tables`` (-1: unknown) and the flags are 0, 1 or -1
    (unknown)."""

    __slots__ = (
        "_all",
        "_columns",
        "_found",
        "_items",
        "_tables",
        "names",
        "ranks",
        "timed",
        "times",
    )

    def __init__(
        self,
        names: list[str],
        times: list[int | None],
        ranks: Sequence[int],
        columns: tuple[str, str, str, str, str, str, str],
        tables: tuple[
            list[str],
            list[str],
            Sequence[tuple[str, ...]],
            Sequence[tuple[str, ...]],
            Sequence[tuple[str, ...]],
        ],
    ) -> None:
        self.names = names
        self.times = times
        self.ranks = ranks
        self.timed = times.count(None) != len(times)  # any publish time known
        self._columns = columns
        self._tables = tables
        self._items: dict[int, VersionInfo] = {}
        self._found: dict[str, int] = {}
        self._all: tuple[VersionInfo, ...] | None = None

    def item(self, index: int) -> VersionInfo:
        got = self._items.get(index)
        if got is None:
            _, i, _, _, b, d, m = (ref_at(column, index) for column in self._columns)
            _, _, bins, deps, people = self._tables
            got = VersionInfo(
                self.names[index],
                self.published_at(index),
                self.publisher_at(index),
                None if i < 0 else bool(i),
                self.provenance_at(index),
                self.deprecation_at(index),
                None if b < 0 else bins[b],
                None if d < 0 else deps[d],
                None if m < 0 else people[m],
            )
            self._items[index] = got
        return got

    def known_details(self) -> frozenset[Detail]:
        """The details some version carries, answered from the columns (no objects built)."""
        unknown = _UNKNOWN_REF
        known = {Detail.PUBLISH_TIMES} if self.timed else set()
        if self._columns[0].strip(unknown):
            known.add(Detail.PUBLISHERS)
        if self._columns[2].strip(unknown):
            known.add(Detail.PROVENANCE)
        return frozenset(known)

    def select(self, indexes: Sequence[int], *, blank_deprecation: bool = False) -> VersionList:
        """The versions at ``indexes`` (ascending positions), as a list of their own that
        shares this one's tables: what ``--as-of`` keeps (see :mod:`npmguard.asof`).
        ``blank_deprecation`` makes every deprecation unknown."""
        p, i, a, x, b, d, m = ("".join(column[k] for k in indexes) for column in self._columns)
        if blank_deprecation:
            x = _UNKNOWN_REF * len(indexes)
        return VersionList(
            [self.names[k] for k in indexes],
            [self.times[k] for k in indexes],
            [self.ranks[k] for k in indexes],  # a list: --as-of keeps a few
            (p, i, a, x, b, d, m),
            self._tables,
        )

    def publisher_times(self, publisher: str) -> list[int]:
        """Publish times (ms) of the versions ``publisher`` published (known times only)."""
        try:
            ref = self._tables[0].index(publisher)
        except ValueError:
            return []
        column = self._columns[0]
        return [t for i, t in enumerate(self.times) if t is not None and ref_at(column, i) == ref]

    def any_provenance(self) -> bool:
        """Whether some version is known to carry a provenance attestation."""
        return chr(1 + REF_BASE) in self._columns[2]

    def publishers_at(self, indexes: Sequence[int]) -> set[str]:
        """The known publishers of the versions at ``indexes`` (no objects built)."""
        column, table = self._columns[0], self._tables[0]
        if not table:  # no publisher known (mirrors drop ``_npmUser``)
            return set()
        refs = {ref_at(c, 0) for c in {column[i] for i in indexes}}
        return {table[r] for r in refs if r >= 0 and table[r]}

    def publishers_known(self) -> bool:
        """False when no version names a publisher (then every publisher question answers
        "none" without looking at a version)."""
        return bool(self._tables[0])

    def maintainers_known(self) -> bool:
        """False when no version lists maintainers (as :meth:`publishers_known`)."""
        return bool(self._tables[4])

    def maintainers_at(self, indexes: Sequence[int]) -> set[str]:
        """Everyone listed as a maintainer on a version at ``indexes`` (no objects built)."""
        column, table = self._columns[6], self._tables[4]
        if not table:
            return set()
        refs = {ref_at(c, 0) for c in {column[i] for i in indexes}}
        return {name for r in refs if r >= 0 for name in table[r]}

    def publisher_at(self, index: int) -> str | None:
        """The publisher of the version at ``index`` (no object built)."""
        ref = ref_at(self._columns[0], index)
        return None if ref < 0 else self._tables[0][ref]

    def provenance_at(self, index: int) -> bool | None:
        """Whether the version at ``index`` carries a provenance attestation (None: unknown)."""
        flag = ref_at(self._columns[2], index)
        return None if flag < 0 else bool(flag)

    def deprecation_at(self, index: int) -> str | None:
        """The deprecation message of the version at ``index`` (None: none known)."""
        ref = ref_at(self._columns[3], index)
        return None if ref < 0 else self._tables[1][ref]

    def published_at(self, index: int) -> datetime | None:
        """When the version at ``index`` was published (None: unknown)."""
        ms = self.times[index]
        return None if ms is None else datetime.fromtimestamp(ms / 1000, _UTC)

    def index_of(self, version: str) -> int | None:
        """The position of ``version`` (its first listing), or None."""
        found = self._found.get(version, -2)  # rules ask for the locked version many times
        if found == -2:
            try:
                found = self.names.index(version)
            except ValueError:
                found = -1
            self._found[version] = found
        return None if found < 0 else found

    def find(self, version: str) -> VersionInfo | None:
        index = self.index_of(version)
        return None if index is None else self.item(index)

    def materialize(self) -> tuple[VersionInfo, ...]:
        if self._all is None:
            self._all = tuple(self.item(i) for i in range(len(self.names)))
        return self._all

    # -- Sequence ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> VersionInfo: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[VersionInfo, ...]: ...

    def __getitem__(self, index: int | slice) -> VersionInfo | tuple[VersionInfo, ...]:
        if isinstance(index, slice):
            return self.materialize()[index]
        size = len(self.names)
        if not -size <= index < size:
            raise IndexError("version index out of range")
        return self.item(index % size)

    def __iter__(self) -> Iterator[VersionInfo]:
        return iter(self.materialize())

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, VersionInfo):
            return False
        index = self.index_of(value.version)
        return index is not None and value in self.materialize()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, VersionList):
            return self.materialize() == other.materialize()
        if isinstance(other, Sequence):
            return self.materialize() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.materialize())

    def __repr__(self) -> str:
        return f"VersionList({len(self.names)} versions)"
