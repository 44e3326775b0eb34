"""docs/exit-codes.md documents every ExitCode, with its number."""

from __future__ import annotations

import re
from pathlib import Path

from npmguard.errors import ExitCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md"


def test_every_exit_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = {int(n): name for n, name in re.findall(r"^\| (\d+) \| `(\w+)` \|", text, re.M)}
    assert documented == {int(code): code.name for code in ExitCode}


def test_a_crash_is_never_exit_1() -> None:
    assert [c for c in ExitCode if c == 1] == [ExitCode.BLOCKED]
    assert "never 1" in DOC.read_text(encoding="utf-8").lower()
