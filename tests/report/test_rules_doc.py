"""docs/rules.md is generated from the rule registry and must stay in step with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from npmguard.report.rules_doc import REGENERATE, rules_markdown
from npmguard.rules.base import all_rules

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = ROOT / "docs" / "rules.md"


def test_docs_rules_md_is_up_to_date() -> None:
    committed = RULES_MD.read_text(encoding="utf-8") if RULES_MD.exists() else ""
    assert committed == rules_markdown(), (
        f"docs/rules.md is out of step with the rule registry; regenerate it with `{REGENERATE}` "
        f"(from the repository root) and commit the result"
    )


def test_every_rule_has_a_row_and_a_section() -> None:
    text = rules_markdown()
    for rid, cls in all_rules().items():
        assert f"| [`{rid}`](#{rid}) | {cls.level} |" in text
        assert f"\n### `{rid}`\n" in text
        assert cls.description.strip() in text
        if cls.help:
            assert cls.help.strip() in text
        for option in cls.options:
            assert f"| `{option}` |" in text
    assert "### `policy-deny`" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_cli_prints_the_same_markdown() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "npmguard", "rules", "--format", "markdown"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert proc.stdout == rules_markdown()
