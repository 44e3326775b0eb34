"""``lines=False`` (the lockfile --changed-since compares with): the same entries, no lines."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npmguard.lockfile import parse_lockfile_text, with_lines
from npmguard.lockfile.jsonfile import KeyLines
from npmguard.model import Lockfile


def _without_lines(lockfile: Lockfile) -> Lockfile:
    packages = tuple(
        dataclasses.replace(
            p, occurrences=tuple(dataclasses.replace(o, line=None) for o in p.occurrences)
        )
        for p in lockfile.packages
    )
    return dataclasses.replace(lockfile, packages=packages)


def test_every_reference_lockfile_reads_the_same_without_lines(shared_data: Path) -> None:
    with (shared_data / "lockfiles" / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert {r["format"].split("-")[0] for r in rows} >= {"npm", "pnpm", "yarn", "shrinkwrap"}
    for row in rows:
        data = gzip.decompress((shared_data / "lockfiles" / row["path"]).read_bytes())
        name = Path(Path(row["path"]).name.removesuffix(".gz").split("__")[-1])
        full = parse_lockfile_text(data, name)
        bare = parse_lockfile_text(data, name, lines=False)
        assert any(o.line for p in full.packages for o in p.occurrences), row["path"]
        assert _without_lines(bare) == _without_lines(full), row["path"]
        if not row["format"].startswith("yarn"):  # yarn's reader learns lines as it reads
            assert all(o.line is None for p in bare.packages for o in p.occurrences), row["path"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "bun.lock",
            '{"lockfileVersion": 1, "workspaces": {"": {"name": "app", "dependencies": '
            '{"a": "1.0.0"}}}, "packages": {"a": ["a@1.0.0", "", {}, "sha512-AAAA"]}}',
        ),
    ],
)
def test_bun_reads_the_same_without_lines(name: str, text: str) -> None:
    full = parse_lockfile_text(text.encode(), Path(name))
    bare = parse_lockfile_text(text.encode(), Path(name), lines=False)
    assert bare == _without_lines(full)


def _npm_rows(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "lockfiles" / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if r["format"].startswith(("npm", "shrinkwrap"))]


def test_lines_found_later_are_the_lines_a_read_with_lines_gives(shared_data: Path) -> None:
    """``--changed-since`` reads npm lockfiles without lines and finds the changed entries'
    lines afterwards (few keys: no pass over every key; many: the whole pass)."""
    rng = random.Random(15)
    rows = _npm_rows(shared_data)
    assert len(rows) >= 5
    for row in rows:
        data = gzip.decompress((shared_data / "lockfiles" / row["path"]).read_bytes())
        name = Path(Path(row["path"]).name.removesuffix(".gz").split("__")[-1])
        full = parse_lockfile_text(data, name)
        later = parse_lockfile_text(data, name, lines_later=True)
        assert later.kept is not None, row["path"]
        assert all(o.line is None for p in later.packages for o in p.occurrences), row["path"]
        lined = {(p.key, o.path): o.line for p in full.packages for o in p.occurrences}
        for size in (1, 3, 40, 200):
            keys = {p.key for p in rng.sample(full.packages, min(size, len(full.packages)))}
            found = with_lines(later, keys)
            for p in found.packages:
                for o in p.occurrences:
                    want = lined[(p.key, o.path)] if p.key in keys else None
                    assert o.line == want, (row["path"], p.key, o.path)
        assert _without_lines(with_lines(later, keys)) == _without_lines(full)
        # the document is not kept past the lines (it would stay alive for the whole check)
        assert with_lines(later, keys).kept is None and with_lines(later, set()).kept is None


def test_a_lockfile_read_with_lines_is_left_as_it_is(shared_data: Path) -> None:
    row = _npm_rows(shared_data)[0]
    data = gzip.decompress((shared_data / "lockfiles" / row["path"]).read_bytes())
    full = parse_lockfile_text(data, Path("package-lock.json"))
    assert full.kept is None
    assert with_lines(full, {full.packages[0].key}) is full


_KEYS = st.sampled_from(["packages", "", "node_modules/a", "node_modules/b", "a"])


# the key after other text on its line (minified), in a value, lines ended by CRLF or CR
_SHAPES = ('"K": {', '"K": {', '"K" :{ "x": 1', '"K": "v",', "}")
_ODD = (
    '"x": {"K": {',
    '"x": "K", "K": {',
    '{"K": {"K": {',
    '"K": {\r',
    '"K": {\r"K": {',
    '\f"K": {',
)


@st.composite
def _key_texts(draw: st.DrawFn) -> str:
    """JSON-like text laid out every which way: objects opened under keys at random indents
    (mostly spaces, some tabs), repeated keys, keys on one line, other lines between."""
    out = ["{"] if draw(st.booleans()) else []  # or a key on the first line
    for _ in range(draw(st.integers(0, 40))):
        indent = " " * draw(st.integers(0, 8)) + draw(st.sampled_from(["", "", "", "\t"]))
        key = draw(_KEYS)
        shape = draw(st.sampled_from([*_SHAPES, *_ODD]))
        out.append(indent + shape.replace("K", key))
    out.append("}")
    return "\n".join(out)


@given(text=_key_texts(), data=st.data())
@settings(max_examples=500, deadline=None)
def test_a_few_keys_lines_are_the_whole_pass_lines(text: str, data: st.DataObject) -> None:
    """:meth:`KeyLines.lines_for` gives exactly what the pass over every key gives, however
    the keys are indented."""
    whole = KeyLines(text.encode())
    whole.line()
    assert whole._lines is not None
    known = sorted(whole._lines)
    wanted = data.draw(st.sets(st.sampled_from(known), max_size=4)) if known else set()
    wanted |= data.draw(st.sets(st.lists(_KEYS, min_size=1, max_size=3).map(tuple), max_size=2))
    expected = {p: n for p in wanted if (n := whole.line(*p)) is not None}
    assert KeyLines(text.encode()).lines_for(wanted) == expected
