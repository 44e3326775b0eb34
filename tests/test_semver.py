"""Our cached version ordering must agree with node-semver's exactly."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from pathlib import Path

import nodesemver

from npmguard.semver import compare, sort_versions, valid_version

TABLE = [
    "1.0.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "2.0.0", "1.10.0", "1.2.0", "0.0.1-security",
    "0.0.1-security.1", "v1.2.3", "=1.2.3", "1.2.3+build.5", "1.2.3-0", "1.2.3-a.0",
    "1.2.3-a.00", "01.2.3", "1.2", "x", "1.2.3-", "1.2.3-0a", "1.2.3-a-b.1",
    "1.2.3-01",
]  # fmt: skip
# (npm's JavaScript semver trims spaces and refuses numbers above 2**53 - 1; the Python port
# differs on both, so those cases are left out of the comparison: we follow npm.)


def _node_valid(v: str) -> bool:
    try:
        return nodesemver.valid(v, loose=False) is not None
    except (ValueError, TypeError):
        return False


def test_validity_agrees_with_node_semver() -> None:
    for v in TABLE:
        assert valid_version(v) == _node_valid(v), v


def test_order_agrees_with_node_semver_on_the_table() -> None:
    good = [v for v in TABLE if valid_version(v)]
    for a, b in itertools.product(good, good):
        assert compare(a, b) == nodesemver.compare(a, b, loose=False), (a, b)


def test_order_agrees_on_real_versions(shared_data: Path) -> None:
    with gzip.open(shared_data / "bench" / "fullstack-1122.package-lock.json.gz") as fh:
        packages = json.load(fh)["packages"]
    versions = sorted({e["version"] for e in packages.values() if "version" in e})
    rng = random.Random(7)
    for a, b in (rng.sample(versions, 2) for _ in range(3000)):
        assert compare(a, b) == nodesemver.compare(a, b, loose=False), (a, b)
    assert sort_versions(versions) == sorted(
        versions,
        key=__import__("functools").cmp_to_key(lambda a, b: nodesemver.compare(a, b, False)),
    )
