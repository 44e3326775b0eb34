"""The shipped JSON schema is generated from the registry and agrees with the loader."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from npmguard.policy.load import PRESETS, builtin_text, load_policy
from npmguard.policy.schema import REGENERATE, policy_schema, schema_text
from npmguard.policy.template import starter_policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "npmguard" / "schemas" / "policy.schema.json"
FULL = ROOT / "tests" / "fixtures" / "policy" / "valid" / "full.toml"
INVALID = ROOT / "tests" / "fixtures" / "policy" / "invalid"


def _as_json(value: Any) -> Any:
    """TOML values as an editor hands them to a JSON schema validator (dates as strings)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _validate(text: str) -> None:
    jsonschema.validate(
        _as_json(tomllib.loads(text)),
        policy_schema(),
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )


def test_shipped_schema_is_up_to_date() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema_text(), (
        f"npmguard/schemas/policy.schema.json is out of step with the rule registry; "
        f"regenerate it with `{REGENERATE}`"
    )
    jsonschema.Draft7Validator.check_schema(json.loads(SHIPPED.read_text(encoding="utf-8")))


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_validate_against_the_schema(preset: str) -> None:
    _validate(builtin_text(preset))


def test_full_example_loads_and_validates() -> None:
    _validate(FULL.read_text(encoding="utf-8"))
    policy = load_policy(FULL, ROOT)
    assert policy.options["dormant-wake"]["quiet_days"] == 500
    assert policy.options["too-new"]["days"] == 14
    assert len(policy.allow) == 2 and len(policy.deny) == 1


def test_starter_policy_validates() -> None:
    _validate(starter_policy("strict"))


@pytest.mark.parametrize(
    "name",
    [
        "allow-without-reason",
        "unknown-rule-id",
        "unknown-option",
        "option-wrong-type",
        "bad-level",
        "unknown-top-key",
        "unknown-setting",
        "allow-unknown-key",
        "deny-without-reason",
    ],
)
def test_schema_rejects_what_the_loader_rejects(name: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        _validate((INVALID / f"{name}.toml").read_text(encoding="utf-8"))
