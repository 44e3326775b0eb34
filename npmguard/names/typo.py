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

from npmguard.names.popularity import popular_names

_SEPARATORS = re.compile(r"[-_.]")
_JS_SUFFIX = re.compile(r"(?:[-_.]?js)$")


@dataclass(frozen=True, slots=True)
class TyposquatMatch:
    """``name`` is ``kind`` away from the popular ``target``."""

    name: str
    target: str
    target_downloads: int
    kind: str  # "insertion", "deletion", "substitution", "transposition", "separator", "js-suffix"


@dataclass(frozen=True)
class TypoIndex:
    targets: Mapping[str, int]  # popular name -> monthly downloads
    deletes: Mapping[str, tuple[str, ...]]  # name or one-deletion variant -> targets
    squashed: Mapping[str, tuple[str, ...]]  # name without separators -> targets

    def matches(self, name: str) -> list[TyposquatMatch]:
        """Every popular target ``name`` is one slip from (never ``name`` itself)."""
        found: dict[str, str] = {}
        scope = name[1:].split("/", 1)[0] if name.startswith("@") and "/" in name else None
        for target in self.squashed.get(_SEPARATORS.sub("", name), ()):
            if target != name:
                found[target] = "separator"
        for variant in {name, *_deletions(name)}:
            for target in self.deletes.get(variant, ()):
                if target != name and target not in found:
                    kind = edit_kind(name, target)
                    if kind is not None:
                        found[target] = kind
        stripped = _JS_SUFFIX.sub("", name)
        if stripped != name and stripped in self.targets and stripped not in found:
            found[stripped] = "js-suffix"
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
            (TyposquatMatch(name, t, self.targets[t], k) for t, k in found.items()),
            key=lambda m: -m.target_downloads,
        )


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


@functools.cache
def build_index(min_downloads: int = 1_000_000, min_length: int = 4) -> TypoIndex:
    """The index over shipped popular names with at least ``min_downloads`` a month."""
    # short names are one edit from too much; they are only matched with a ".js" suffix added
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
