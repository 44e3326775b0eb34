"""Every ```toml block in the docs is a policy file npmguard accepts (keys, levels, options)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from npmguard import __version__
from npmguard.errors import PolicyError
from npmguard.policy.parse import parse_text

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _toml_blocks(path: Path) -> list[tuple[int, str]]:
    blocks: list[tuple[int, str]] = []
    start: int | None = None
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if start is None and re.fullmatch(r"```\s*toml\s*", line.strip()):
            start, body = number, []
        elif start is not None and line.strip().startswith("```"):
            blocks.append((start, "\n".join(body) + "\n"))
            start = None
        elif start is not None:
            body.append(line)
    return blocks


BLOCKS = [(p, n, text) for p in DOC_FILES for n, text in _toml_blocks(p)]


def test_docs_show_policy_examples() -> None:
    assert any(p.name == "faq.md" for p, _, _ in BLOCKS)


@pytest.mark.parametrize(
    ("path", "line", "text"), BLOCKS, ids=[f"{p.relative_to(ROOT)}:{n}" for p, n, _ in BLOCKS]
)
def test_policy_example_is_valid(path: Path, line: int, text: str) -> None:
    where = f"{path.relative_to(ROOT)}:{line}"
    try:
        parse_text(text, where, version=__version__)
    except PolicyError as e:
        pytest.fail(f"{where}: npmguard rejects this policy example: {e}")
