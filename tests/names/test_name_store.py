"""The derived name store: built once per snapshot, atomically, and the same answers as memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from npmguard.names import store as store_module
from npmguard.names.popularity import popular_names
from npmguard.names.snapshot import snapshot_key
from npmguard.names.store import open_store, store_path
from npmguard.names.typo import StoredTypoIndex, build_memory_index


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> store_module.NameStore:
    return open_store(tmp_path_factory.mktemp("names"), prebuilt=False)


def test_built_once_into_a_content_named_file(built: store_module.NameStore) -> None:
    assert built.path is not None and built.path.is_file()
    assert built.path == store_path(built.path.parent, snapshot_key())
    assert not [p for p in built.path.parent.iterdir() if p.suffix == ".tmp"]
    mtime = built.path.stat().st_mtime_ns
    again = open_store(built.path.parent, prebuilt=False)  # warm: opened, not rebuilt
    assert again.path == built.path and built.path.stat().st_mtime_ns == mtime
    assert again.downloads("lodash") == popular_names()["lodash"]


def test_many_downloads_at_once_are_the_one_by_one_answers(tmp_path: Path) -> None:
    """``downloads_of`` (spam-name asks it for every name of a tree) answers as ``downloads``
    does, across several queries' worth of names, known and unknown, repeated."""
    names = popular_names()
    known = sorted(names)[:: max(1, len(names) // 1000)]
    asked = [*known, *(f"surely-not-popular-{i}" for i in range(300)), *known[:50]]
    assert len(set(asked)) > 2 * store_module._CHUNK
    one_by_one = open_store(tmp_path / "a")
    at_once = open_store(tmp_path / "b")
    at_once.downloads("lodash")  # one answer memoised before
    found = at_once.downloads_of(asked)
    assert list(found) == list(dict.fromkeys(asked))
    assert found == {n: one_by_one.downloads(n) for n in asked}
    assert all(found[n] == names[n] for n in known)
    assert at_once.downloads_of([]) == {}


def test_a_failed_look_up_remembers_nothing(tmp_path: Path) -> None:
    """A query that fails (a name SQLite cannot take) leaves no name remembered as unknown."""
    store = open_store(tmp_path)
    with pytest.raises(UnicodeEncodeError):
        store.downloads_of(["lodash", "x\ud800"])
    assert store.downloads("lodash") == popular_names()["lodash"]


def test_lookups_match_the_snapshot(built: store_module.NameStore) -> None:
    names = popular_names()
    for name in ("lodash", "@types/node", "react-dom", "express"):
        assert built.downloads(name) == names[name]
    assert built.downloads("surely-not-a-popular-package-name") is None
    assert built.is_word("webpack") and built.is_word("types")
    assert not built.is_word("rendangkyu")


def test_stored_index_answers_like_the_memory_index(built: store_module.NameStore) -> None:
    memory = build_memory_index(1_000_000, 5)
    stored = StoredTypoIndex(built, 1_000_000, 5)
    probes = [
        "electorn",
        "mongose",
        "crossenv",
        "cross_env",
        "jquery.js",
        "d3.js",
        "lodashs",
        "lodahs",
        "@types/nodee",
        "expres",
        "reactt",
        "babelcli",
        "toastr2",
        "some-new-name",
    ]
    for name in probes:
        assert stored.matches(name) == memory.matches(name), name
        assert stored.target_downloads(name) == memory.target_downloads(name)
    with pytest.raises(ValueError):
        built.near_targets({"x"}, 1000, 5)  # below the stored index's threshold


def test_unwritable_dir_falls_back_to_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    fallback = open_store(blocked / "sub", prebuilt=False)
    assert fallback.path is None
    assert fallback.downloads("lodash") == popular_names()["lodash"]


def test_interrupted_build_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_module, "_build", boom)
    with pytest.raises(OSError):
        store_module._build_file(tmp_path, tmp_path / "names-x.sqlite")
    assert os.listdir(tmp_path) == []


def test_scope_known_is_a_prefix_lookup(built: store_module.NameStore) -> None:
    assert built.scope_known("babel")  # @babel/core and friends are popular
    assert not built.scope_known("bab")  # a prefix of a scope is another scope
    assert not built.scope_known("kelana7")


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    import sqlite3

    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: sorted(conn.execute(f"SELECT * FROM {n}").fetchall()) for n in names}
    finally:
        conn.close()


def test_the_install_ships_the_store_a_fresh_build_makes(built: store_module.NameStore) -> None:
    # pip install (-e) . builds it (setup.py); a checkout without it costs a first run seconds
    shipped = store_module.prebuilt_path()
    assert shipped is not None, "npmguard/data/names.sqlite missing: reinstall (pip install -e .)"
    assert built.path is not None
    assert _tables(shipped) == _tables(built.path)
    opened = open_store(built.path.parent)
    assert opened.path == shipped and opened.downloads("lodash") == popular_names()["lodash"]


def test_a_stale_or_missing_prebuilt_store_is_rebuilt_in_the_cache(
    built: store_module.NameStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import sqlite3

    assert built.path is not None
    stale = tmp_path / "names.sqlite"
    shutil.copyfile(built.path, stale)
    conn = sqlite3.connect(stale)
    conn.execute("UPDATE meta SET value = 'another snapshot' WHERE key = 'snapshot-sha256'")
    conn.commit()
    conn.close()
    for shipped in (stale, None):
        monkeypatch.setattr(store_module, "prebuilt_path", lambda shipped=shipped: shipped)
        cache = tmp_path / f"cache-{shipped is None}"
        opened = open_store(cache)
        assert opened.path == store_path(cache, snapshot_key())
        assert opened.downloads("lodash") == popular_names()["lodash"]
        opened.close()
