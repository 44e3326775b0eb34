"""The typosquat index: edit kinds, separators, ``.js`` suffixes, scopes, popularity data."""

from __future__ import annotations

import time

import pytest
from providers import shipped_names

from npmguard.names.popularity import FLOOR, popular_names
from npmguard.names.typo import TypoIndex, build_index, edit_kind


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("lodashs", "lodash", "insertion"),
        ("mongose", "mongoose", "deletion"),
        ("reqest", "request", "deletion"),
        ("axois", "axios", "transposition"),
        ("exprass", "express", "substitution"),
        ("express", "express", None),
        ("exp", "express", None),
        ("abcd", "badc", None),
    ],
)
def test_edit_kind(a: str, b: str, kind: str | None) -> None:
    assert edit_kind(a, b) == kind


def small_index() -> TypoIndex:
    targets = {"cross-env": 60_000_000, "lodash": 500_000_000, "d3": 30_000_000}
    deletes: dict[str, list[str]] = {}
    squashed: dict[str, list[str]] = {}
    for name in targets:
        if len(name) < 4:
            continue
        for v in {name, *(name[:i] + name[i + 1 :] for i in range(len(name)))}:
            deletes.setdefault(v, []).append(name)
        squashed.setdefault(name.replace("-", ""), []).append(name)
    return TypoIndex(
        targets,
        {k: tuple(v) for k, v in deletes.items()},
        {k: tuple(v) for k, v in squashed.items()},
    )


@pytest.mark.parametrize(
    ("name", "target", "kind"),
    [
        ("crossenv", "cross-env", "separator"),
        ("cross_env", "cross-env", "separator"),
        ("cross-env.js", "cross-env", "js-suffix"),
        ("d3.js", "d3", "js-suffix"),
        ("lodahs", "lodash", "transposition"),
        ("lodashs", "lodash", "insertion"),
    ],
)
def test_matches(name: str, target: str, kind: str) -> None:
    found = small_index().matches(name)
    assert [(m.target, m.kind) for m in found] == [(target, kind)]


def test_no_match_for_itself_short_names_or_numbered_forks() -> None:
    index = small_index()
    assert index.matches("lodash") == []
    assert index.matches("d4") == []  # two letters: only the .js trick counts
    assert index.matches("lodash2") == []  # a version-numbered fork


def test_shipped_index_finds_real_incident_shapes_and_is_fast() -> None:
    start = time.perf_counter()
    index = build_index(shipped_names(), 1_000_000, 5)
    built = time.perf_counter() - start
    assert built < 5  # measured ~0.3 s; generous for slow CI machines
    assert {m.target for m in index.matches("electorn")} == {"electron"}
    assert "mongoose" in {m.target for m in index.matches("mongose")}
    start = time.perf_counter()
    for i in range(1_000):
        index.matches(f"some-package-name-{i}")
    assert time.perf_counter() - start < 1  # milliseconds in practice


def test_same_scope_is_not_a_squat() -> None:
    index = build_index(shipped_names(), 1_000_000, 5)
    assert all(not m.target.startswith("@types/") for m in index.matches("@types/nodee"))


def test_popularity_data() -> None:
    names = popular_names()
    assert len(names) > 50_000
    store = shipped_names()
    lodash = store.downloads("lodash")
    assert lodash is not None and lodash > 10_000_000
    assert store.downloads("surely-not-a-popular-package-name") is None
    assert all(d >= FLOOR * 0.85 for d in list(names.values())[:1000])
    assert store.is_word("webpack")


def test_a_name_npm_cannot_publish_is_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 40,000-letter name (a hostile lockfile) was compared one deletion at a time: a
    second and a gigabyte (found by the fuzzer). No name npm publishes is that long (214),
    so none is one slip from a longer name: the deletions are never built for it."""
    import npmguard.names.typo as typo

    index = small_index()
    built: list[int] = []
    real = typo._deletions
    monkeypatch.setattr(typo, "_deletions", lambda word: built.append(len(word)) or real(word))
    assert index.matches("a" * 40_000) == []
    assert index.matches("lodash" + "x" * 250) == []
    assert built == []
    assert index.matches("lodahs") and built == [6]  # a publishable name still is
