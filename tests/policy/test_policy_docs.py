"""docs/policy.md describes every key the loader accepts, and the README names the presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from npmguard.policy.load import PRESETS
from npmguard.policy.parse import ALLOW_KEYS, DENY_KEYS, TOP_KEYS
from npmguard.policy.settings import BY_KEY as SETTINGS

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


def test_settings_are_described_once() -> None:
    """The Policy fields, their defaults, the parser and the JSON schema all come from the
    settings table: every setting is a Policy field with the table's default, and the schema
    lists exactly the table's keys."""
    from dataclasses import fields

    from npmguard.policy.model import Policy
    from npmguard.policy.schema import policy_schema
    from npmguard.policy.settings import SETTINGS as TABLE

    policy_fields = {f.name: f.default for f in fields(Policy)}
    for setting in TABLE:
        assert policy_fields[setting.field] == setting.default, setting.key
    schema = policy_schema()["properties"]["settings"]["properties"]
    assert list(schema) == [s.key for s in TABLE]
    assert all(schema[s.key]["description"] == s.description for s in TABLE)
