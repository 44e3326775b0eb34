"""docs/policy.md describes every key the loader accepts, and the README names the presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from npmguard.policy.load import PRESETS
from npmguard.policy.parse import ALLOW_KEYS, DENY_KEYS, SETTINGS, TOP_KEYS

ROOT = Path(__file__).resolve().parents[2]
KEYS = sorted({*TOP_KEYS, *SETTINGS, *ALLOW_KEYS, *DENY_KEYS, "level"})


@pytest.mark.parametrize("key", KEYS)
def test_every_key_is_documented(key: str) -> None:
    text = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    assert f"`{key}`" in text or f"`[{key}]`" in text or f"`[[{key}]]`" in text


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_are_documented(preset: str) -> None:
    for doc in ("README.md", "docs/policy.md"):
        assert f"npmguard:{preset}" in (ROOT / doc).read_text(encoding="utf-8"), doc
