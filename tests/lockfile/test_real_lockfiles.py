"""Real lockfiles from public projects: the registry packages we read are the ones npm sees.

The oracle is npm's own ``npm ls --all --json --package-lock-only`` output, stored next to
each lockfile in the shared data (``*.npm-ls-wsstub.json.gz`` where npm needed stand-ins for
workspace folders, which is the better oracle, else ``*.npm-ls.json.gz``).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from npmguard.cli import main
from npmguard.lockfile.npm import parse
from npmguard.model import SourceKind
from npmguard.urls import registry_tarball_name

# the same place conftest's `shared_data` fixture looks; needed at collection time here
SHARED_DATA = Path(
    os.environ.get(
        "NPMGUARD_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def _oracle_cases() -> list[tuple[str, str]]:
    """(lockfile, oracle) pairs, relative to lockfiles/, for every npm file with an oracle."""
    manifest = SHARED_DATA / "lockfiles" / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    cases = []
    with manifest.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if not row["format"].startswith(("npm-", "shrinkwrap")):
                continue
            base = row["path"].removesuffix(".gz")
            for suffix in (".npm-ls-wsstub.json.gz", ".npm-ls.json.gz"):
                if (SHARED_DATA / "lockfiles" / (base + suffix)).is_file():
                    cases.append((row["path"], base + suffix))
                    break
    return cases


def _npm_nodes(tree: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for folder, node in tree.get("dependencies", {}).items():
        yield folder, node
        yield from _npm_nodes(node)


def npm_registry_packages(tree: dict[str, Any]) -> set[str]:
    """The registry name@version set in npm's ``ls --json`` tree.

    - A node is printed in full once (it then carries ``overridden`` and usually
      ``resolved``); later references are "deduped" and carry only ``version``, so they add
      nothing new and are skipped. Nodes npm reports as ``missing``/``invalid`` without a
      version (``file:`` folders absent from disk) are not installed packages at all.
    - Aliases are keyed by the alias; the real name is the one in the ``resolved`` tarball URL.
    - ``resolved`` that is not a registry tarball (git, ``file:`` links to workspaces and
      folders) is not a registry package, on either side of the comparison.
    - A node without ``resolved`` whose version is plain semver is a registry package under
      its folder name (the lockfile had no ``resolved`` either; npm fetches name@version
      from the registry). ``extraneous`` nodes are listed by npm and read by us: kept.
    """
    found: set[str] = set()
    for folder, node in _npm_nodes(tree):
        if "overridden" not in node and "resolved" not in node:
            continue  # a deduped reference, or a missing/invalid edge
        version, resolved = node.get("version"), node.get("resolved")
        if version is None:
            continue
        if resolved:
            name = registry_tarball_name(resolved)
            if resolved.startswith(("http://", "https://")) and name:
                found.add(f"{name}@{version}")
        elif _SEMVER.match(version):
            found.add(f"{folder}@{version}")
    return found


@pytest.mark.parametrize(("lockfile", "oracle"), _oracle_cases())
def test_registry_packages_match_npm(shared_data: Path, lockfile: str, oracle: str) -> None:
    raw = gzip.decompress((shared_data / "lockfiles" / lockfile).read_bytes())
    name = Path(lockfile.removesuffix(".gz")).name.split("__")[-1]
    parsed = parse(raw, Path(name))
    ours = {p.key for p in parsed.packages if p.source is SourceKind.REGISTRY}
    with gzip.open(shared_data / "lockfiles" / oracle) as fh:
        theirs = npm_registry_packages(json.load(fh))
    assert theirs, "the oracle should list packages"
    assert sorted(ours - theirs) == [] and sorted(theirs - ours) == []


def test_there_are_oracles(shared_data: Path) -> None:
    assert len(_oracle_cases()) >= 14


def test_every_entry_of_a_real_lockfile_has_its_line(shared_data: Path) -> None:
    raw = gzip.decompress(
        (
            shared_data / "lockfiles/npm-v1/mochajs__mocha__dbba2768__package-lock.json.gz"
        ).read_bytes()
    )
    lines = raw.decode().splitlines()
    parsed = parse(raw, Path("package-lock.json"))
    for pkg in parsed.packages:
        for occ in pkg.occurrences:
            folder = occ.path.rpartition("node_modules/")[2]
            assert occ.line is not None
            assert lines[occ.line - 1].strip() == f'"{folder}": {{'


def test_ls_lists_every_installed_package(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lockfile = tmp_path / "package-lock.json"
    lockfile.write_bytes(
        gzip.decompress((shared_data / "bench" / "webapp-456.package-lock.json.gz").read_bytes())
    )
    assert main(["ls", str(lockfile), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 455
    assert len({(r["name"], r["version"]) for r in rows}) == 439
    assert main(["ls", str(lockfile)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 456  # a header and 455 rows
    assert "455 installed packages" in err


def test_parse_is_fast(shared_data: Path) -> None:
    raw = gzip.decompress(
        (shared_data / "bench" / "fullstack-1122.package-lock.json.gz").read_bytes()
    )
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        parsed = parse(raw, Path("package-lock.json"))
        best = min(best, time.perf_counter() - start)
    assert sum(len(p.occurrences) for p in parsed.packages) == 1121
    assert sum(1 for p in parsed.packages for o in p.occurrences if o.dev) == 803
    assert best < 0.25  # ~35 ms measured; generous for slow CI machines
