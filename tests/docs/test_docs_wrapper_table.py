"""docs/wrapper-commands.md: every row of the command x flag table names a test that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "wrapper-commands.md"
TESTS = ROOT / "tests" / "wrapper"
REF = re.compile(r"`(test_[\w]+\.py)::(test_\w+)(?:\[([^\]]+)\])?`")


def _rows() -> list[tuple[int, str]]:
    rows = []
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("| `") or line.startswith("| npx"):
            rows.append((number, line))
    return rows


def test_every_row_names_an_existing_test() -> None:
    rows = _rows()
    assert len(rows) >= 30
    for number, line in rows:
        refs = REF.findall(line)
        assert refs, f"docs/wrapper-commands.md:{number}: no test named"
        for file, name, param in refs:
            source = (TESTS / file).read_text(encoding="utf-8")
            assert f"def {name}(" in source, f"docs/wrapper-commands.md:{number}: {file}::{name}"
            if param:
                assert f'"{param}"' in source, f"docs/wrapper-commands.md:{number}: [{param}]"
