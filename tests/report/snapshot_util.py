"""Compare output to a file under tests/report/snapshots/; NPMGUARD_UPDATE_SNAPSHOTS=1 rewrites."""

from __future__ import annotations

import os
from pathlib import Path

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = "NPMGUARD_UPDATE_SNAPSHOTS"


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get(UPDATE) == "1":
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert path.exists(), (
        f"no snapshot {path}; create it with {UPDATE}=1 pytest {Path(__file__).parent}"
    )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from snapshot {path.name}; if the change is intended, review the diff and "
        f"rerun with {UPDATE}=1 to update it"
    )
