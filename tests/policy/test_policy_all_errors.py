"""Every policy error at once (file:line each, one exit 2), underscores in setting keys, and a
misspelt preset with its line and a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.errors import PolicyError, PolicyErrors
from npmguard.model import Level
from npmguard.policy.load import load_policy

THREE_ERRORS = """\
[settings]
fail-onn = "warn"

[rules]
typosquat = "loud"

[[allow]]
package = "esbuild"
rules = ["install-script"]
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # files are named relative to the working folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_error_in_a_file_is_reported_in_line_order(tmp_path: Path) -> None:
    policy = write(tmp_path / "npmguard.toml", THREE_ERRORS)
    with pytest.raises(PolicyErrors) as info:
        load_policy(policy, tmp_path)
    messages = [str(e) for e in info.value.errors]
    assert len(messages) == 3
    assert messages[0].startswith("npmguard.toml:2: settings.fail-onn: unknown key")
    assert messages[1].startswith("npmguard.toml:5: rules.typosquat: 'loud' is not a level")
    assert messages[2].startswith("npmguard.toml:7: allow[0].reason: missing")
    assert info.value.exit_code == 2


def test_the_cli_prints_them_all_with_their_hints_and_exits_2_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "npmguard.toml", THREE_ERRORS)
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "validate"]) == 2
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if line.startswith("npmguard: error: ")]
    assert [e.split(": ")[2] for e in errors] == [
        "npmguard.toml:2",
        "npmguard.toml:5",
        "npmguard.toml:7",
    ]
    assert "npmguard: hint: one of: block, warn, info, off" in err
    assert err[-1] == "npmguard: 3 errors in the policy"


def test_errors_in_a_base_and_in_the_file_that_extends_it_come_together(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", '[rules]\nnot-a-rule = "warn"\n')
    main_file = write(
        tmp_path / "p.toml", 'extends = ["base.toml", "missing.toml"]\n[settings]\nfail-on = 3\n'
    )
    with pytest.raises(PolicyErrors) as info:
        load_policy(main_file, tmp_path)
    text = str(info.value)
    assert "base.toml:2: rules.not-a-rule: unknown rule id" in text
    assert "p.toml:1: extends: missing.toml: no such policy file" in text
    assert "p.toml:3: settings.fail-on: an integer is not a level" in text


def test_a_single_error_stays_a_single_error(tmp_path: Path) -> None:
    policy = write(tmp_path / "p.toml", '[settings]\nfail-on = "never"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(policy, tmp_path)
    assert not isinstance(info.value, PolicyErrors)
    assert str(info.value).startswith("p.toml:2: settings.fail-on:")


@pytest.mark.parametrize(
    ("key", "field", "value"),
    [
        ("fail_on", "fail_on", Level.WARN),
        ("prompt_on", "prompt_on", Level.INFO),
        ("noninteractive_warn", "noninteractive_warn", "block"),
        ("include_dev", "include_dev", False),
    ],
)
def test_setting_keys_accept_underscores_as_rule_options_do(
    tmp_path: Path, key: str, field: str, value: object
) -> None:
    toml = {Level.WARN: '"warn"', Level.INFO: '"info"', "block": '"block"', False: "false"}
    policy = write(tmp_path / "p.toml", f"[settings]\n{key} = {toml[value]}\n")  # type: ignore[index]
    loaded = load_policy(policy, tmp_path)
    assert getattr(loaded, field) == value
    hyphen = key.replace("_", "-")
    assert loaded.sources[f"settings.{hyphen}"].endswith("p.toml:2")


def test_a_setting_given_both_ways_is_an_error(tmp_path: Path) -> None:
    policy = write(tmp_path / "p.toml", '[settings]\nfail-on = "warn"\nfail_on = "block"\n')
    with pytest.raises(PolicyError, match=r"p\.toml:3: settings\.fail_on: set twice"):
        load_policy(policy, tmp_path)


def test_a_misspelt_preset_in_extends_names_the_line_and_the_preset_meant(tmp_path: Path) -> None:
    policy = write(tmp_path / "p.toml", '# org policy\nextends = ["npmguard:strickt"]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(policy, tmp_path)
    assert str(info.value) == (
        "p.toml:2: extends: npmguard:strickt: no such built-in policy; did you mean "
        '"npmguard:strict"?'
    )
    assert "npmguard:default, npmguard:strict, npmguard:ci" in info.value.hint


def test_a_misspelt_preset_on_the_command_line_is_suggested_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "show", "--policy", "npmguard:cii"]) == 2
    assert 'npmguard:cii: no such built-in policy; did you mean "npmguard:ci"?' in (
        capsys.readouterr().err
    )


DOCS_EXAMPLE = """\
# team policy
extends = ["npmguard:strickt"]

[rules.too-new]
level = "block"
days = 7
dayz = 3

[[allow]]
package = "esbuild"
reason = "platform binary"
[[allow]]
package = "sharp"
"""


def test_the_errors_example_in_the_policy_docs_is_what_npmguard_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    section = docs.split("## Errors", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    write(tmp_path / "npmguard.toml", DOCS_EXAMPLE)
    assert main(["policy", "validate"]) == 2
    assert capsys.readouterr().err.splitlines() == shown
