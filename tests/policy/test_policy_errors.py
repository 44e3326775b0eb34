"""One asset file per invalid policy, with the error it must produce in its ``# expect:`` lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.errors import PolicyError
from npmguard.policy.load import load_policy_file

INVALID = Path(__file__).resolve().parents[1] / "fixtures" / "policy" / "invalid"
CASES = sorted(INVALID.glob("*.toml"))


def _expectations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("# expect: ", 1)[1] for line in lines if line.startswith("# expect: ")]


def test_there_are_cases() -> None:
    assert len(CASES) >= 20
    for path in CASES:
        assert _expectations(path), f"{path.name} has no # expect: line"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_invalid_policy_names_file_line_and_key(path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    message = str(info.value)
    assert path.name in message.split(":", 1)[0]  # starts with the file
    for expected in _expectations(path):
        assert expected in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("unknown-option", "allowed keys: level, days"),
        ("unknown-setting", "allowed keys: fail-on, prompt-on, on-unreachable"),
        ("bad-level", "one of: block, warn, info, off"),
        ("bad-fail-on", "one of: block, warn, info"),
        ("unknown-rule-id", "`npmguard rules` lists every rule id"),
        ("requires-newer", "install npmguard >=99.0 as its README's installation section says"),
    ],
)
def test_errors_say_what_is_allowed_instead(name: str, hint: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_file(INVALID / f"{name}.toml")
    assert hint in info.value.hint


def test_requires_is_checked_before_unknown_keys() -> None:
    # a policy for a newer npmguard may use rules this one does not know: say "upgrade"
    with pytest.raises(PolicyError) as info:
        load_policy_file(INVALID / "requires-newer.toml")
    assert "needs npmguard >=99.0" in str(info.value)
    assert "unknown rule" not in str(info.value)


@pytest.mark.parametrize("name", ["allow-without-reason", "unknown-rule-id", "syntax-error"])
def test_cli_exits_2_without_traceback(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["policy", "validate", str(INVALID / f"{name}.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{name}.toml" in err
    assert "Traceback" not in err
    assert err.startswith("npmguard: error: ")
