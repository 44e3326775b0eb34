"""Names one slip away from a popular name: the index behind the ``typosquat`` rule.

A symmetric-delete index: every popular name and each of its one-character deletions point
back to the name, so a candidate's own deletions find every name within one insertion,
deletion, substitution or adjacent transposition in a few dictionary look-ups. Separator
changes (``cross_env`` for ``cross-env``) and a bolted-on ``.js``/``-js`` suffix are checked
through a normalised form.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from npmguard.names.popularity import popular_names

if TYPE_CHECKING:
    from npmguard.facts import NameLookup

_SEPARATORS = re.compile(r"[-_.]")
_JS_SUFFIX = re.compile(r"(?:[-_.]?js)$")


@dataclass(frozen=True, slots=True)
class TyposquatMatch:
    """``name`` is ``kind`` away from the popular ``target``."""

    name: str
    target: str
    target_downloads: int
    kind: str  # "insertion", "deletion", "substitution", "transposition", "separator", "js-suffix"


class NearNames:
    """What ``matches`` needs from an index; ``TypoIndex`` (in memory) and ``StoredTypoIndex``
    (the SQLite tables of ``npmguard.names.store``) answer it."""

    def target_downloads(self, name: str) -> int | None:
        """Downloads of ``name`` if it is a target (popular enough), else None."""
        raise NotImplementedError

    def _near(self, variants: set[str]) -> dict[str, int]:
        """Targets sharing a deletion variant with the candidate: name -> downloads."""
        raise NotImplementedError

    def _squashed(self, key: str) -> dict[str, int]:
        """Targets whose name without separators is ``key``: name -> downloads."""
        raise NotImplementedError

    def matches(self, name: str) -> list[TyposquatMatch]:
        """Every popular target ``name`` is one slip from (never ``name`` itself)."""
        if len(name) > MAX_NAME_LENGTH + 1:  # one slip from no name npm lets anyone publish
            return []
        found: dict[str, str] = {}
        known: dict[str, int] = {}
        scope = name[1:].split("/", 1)[0] if name.startswith("@") and "/" in name else None
        for target, dl in self._squashed(_SEPARATORS.sub("", name)).items():
            if target != name:
                found[target] = "separator"
                known[target] = dl
        for target, dl in self._near({name, *_deletions(name)}).items():
            if target != name and target not in found:
                kind = edit_kind(name, target)
                if kind is not None:
                    found[target] = kind
                    known[target] = dl
        stripped = _JS_SUFFIX.sub("", name)
        if stripped != name and stripped not in found:
            dl_stripped = self.target_downloads(stripped)
            if dl_stripped is not None:
                found[stripped] = "js-suffix"
                known[stripped] = dl_stripped
        if scope is not None:
            # inside one scope only its owner publishes: a near name there is no squat
            found = {t: k for t, k in found.items() if not t.startswith(f"@{scope}/")}
        # "toastr2" for "toastr": a version-numbered fork, not a slip of the finger;
        # "Validator" for "validator": a legacy capitalised name, npm refuses new ones
        found = {
            t: k
            for t, k in found.items()
            if not (k == "insertion" and name[-1].isdigit() and name[:-1] == t)
            and name.lower() != t
        }
        return sorted(
            (TyposquatMatch(name, t, known[t], k) for t, k in found.items()),
            key=lambda m: -m.target_downloads,
        )


@dataclass(frozen=True)
class TypoIndex(NearNames):
    """The index in memory: built from a mapping of targets (tests, non-default thresholds)."""

    targets: Mapping[str, int]  # popular name -> monthly downloads
    deletes: Mapping[str, tuple[str, ...]]  # name or one-deletion variant -> targets
    squashed: Mapping[str, tuple[str, ...]]  # name without separators -> targets

    def target_downloads(self, name: str) -> int | None:
        return self.targets.get(name)

    def _near(self, variants: set[str]) -> dict[str, int]:
        return {t: self.targets[t] for v in variants for t in self.deletes.get(v, ())}

    def _squashed(self, key: str) -> dict[str, int]:
        return {t: self.targets[t] for t in self.squashed.get(key, ())}


@dataclass(frozen=True)
class StoredTypoIndex(NearNames):
    """The index in the derived SQLite tables: a few indexed look-ups per candidate."""

    store: NameLookup
    min_downloads: int
    min_length: int

    def target_downloads(self, name: str) -> int | None:
        dl = self.store.downloads(name)
        return dl if dl is not None and dl >= self.min_downloads else None

    def _near(self, variants: set[str]) -> dict[str, int]:
        return dict(self.store.near_targets(variants, self.min_downloads, self.min_length))

    def _squashed(self, key: str) -> dict[str, int]:
        return dict(self.store.squashed_targets(key, self.min_downloads, self.min_length))


# npm refuses to publish a longer name (validate-npm-package-name); a lockfile can hold one
# (a 40,000-letter name took a second and a gigabyte to compare, one deletion at a time)
MAX_NAME_LENGTH = 214


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_kind(a: str, b: str) -> str | None:
    """How ``a`` differs from ``b`` by one Damerau edit, or None if it does not."""
    if a == b:
        return None
    la, lb = len(a), len(b)
    if la == lb + 1:
        return "insertion" if any(a[:i] + a[i + 1 :] == b for i in range(la)) else None
    if lb == la + 1:
        return "deletion" if any(b[:i] + b[i + 1 :] == a for i in range(lb)) else None
    if la != lb:
        return None
    diff = [i for i in range(la) if a[i] != b[i]]
    if len(diff) == 1:
        return "substitution"
    if len(diff) == 2:
        i, j = diff
        if j == i + 1 and a[i] == b[j] and a[j] == b[i]:
            return "transposition"
    return None


def build_index(
    names: NameLookup, min_downloads: int = 1_000_000, min_length: int = 4
) -> NearNames:
    """The index over shipped popular names with at least ``min_downloads`` a month.

    Short names are one edit from too much: targets shorter than ``min_length`` are only
    matched with a ``.js`` suffix added. The default thresholds (and stricter ones) use the
    stored tables of ``names``; looser ones build the index in memory (about 0.4 s, once).
    """
    from npmguard.names.store import INDEX_MIN_DOWNLOADS, INDEX_MIN_LENGTH

    if min_downloads >= INDEX_MIN_DOWNLOADS and min_length >= INDEX_MIN_LENGTH:
        return StoredTypoIndex(names, min_downloads, min_length)
    return build_memory_index(min_downloads, min_length)


@functools.cache
def build_memory_index(min_downloads: int, min_length: int) -> TypoIndex:
    """The whole index in memory, from the parsed snapshot."""
    targets = {n: d for n, d in popular_names().items() if d >= min_downloads}
    deletes: defaultdict[str, list[str]] = defaultdict(list)
    squashed: defaultdict[str, list[str]] = defaultdict(list)
    for name in (n for n in targets if len(n) >= min_length):
        deletes[name].append(name)
        for variant in _deletions(name):
            deletes[variant].append(name)
        squashed[_SEPARATORS.sub("", name)].append(name)
    return TypoIndex(
        targets,
        {k: tuple(v) for k, v in deletes.items()},
        {k: tuple(v) for k, v in squashed.items()},
    )


def meant(names: NameLookup, name: str) -> str | None:
    """The popular name ``name`` is most likely a slip for (``crossenv`` -> ``cross-env``), by
    the ``typosquat`` rule's default thresholds; None when it is popular itself or near none.
    For advice on a package known to be bad: "did you mean ...?"."""
    index = build_index(names, 1_000_000, 5)
    if index.target_downloads(name) is not None:
        return None
    found = index.matches(name)
    return found[0].target if found else None
