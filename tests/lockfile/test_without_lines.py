"""``lines=False`` (the lockfile --changed-since compares with): the same entries, no lines."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from pathlib import Path

import pytest

from npmguard.lockfile import parse_lockfile_text
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
