"""End to end: `npmguard check --lockfile-only` under policies, and `npmguard policy ...`.

The fixture lockfile resolves left-pad over plain http from the project's registry (an
internal mirror named in its .npmrc), which `lock-insecure-url` blocks.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from npmguard.cli import main

LOCKFILE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "policy" / "lockfiles" / "insecure-v3.json"
)
ALLOW = (
    '[[allow]]\npackage = "left-pad"\nversion = "^1.3.0"\nrules = ["lock-insecure-url"]\n'
    'reason = "the internal mirror speaks http only"\n'
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(LOCKFILE, root / "package-lock.json")
    (root / ".npmrc").write_text("registry=http://npm.internal.example/\n")
    monkeypatch.chdir(root)
    return root


def check(*extra: str) -> int:
    return main(["check", "--lockfile-only", "-q", "package-lock.json", *extra])


def report(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = check("--format", "json", *extra)
    return code, json.loads(capsys.readouterr().out)


def test_without_a_policy_the_http_entry_blocks(project: Path) -> None:
    assert check() == 1


def test_policy_next_to_the_lockfile_is_used(project: Path) -> None:
    (project / "npmguard.toml").write_text('[rules]\nlock-insecure-url = "warn"\n')
    assert check() == 0


def test_policy_above_the_lockfile_is_used(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project.parent / ".npmguard.toml").write_text('[rules]\nlock-insecure-url = "warn"\n')
    monkeypatch.chdir(project.parent)
    assert main(["check", "--lockfile-only", "-q", "project/package-lock.json"]) == 0


def test_explicit_policy_overrides_the_one_found(project: Path, tmp_path: Path) -> None:
    (project / "npmguard.toml").write_text('[rules]\nlock-insecure-url = "warn"\n')
    strict = tmp_path / "strict.toml"
    strict.write_text('[rules]\nlock-insecure-url = "block"\n')
    assert check("--policy", str(strict)) == 1


def test_user_level_policy_applies_when_the_repo_has_none(project: Path) -> None:
    config = Path(os.environ["NPMGUARD_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "npmguard.toml").write_text('[rules]\nlock-insecure-url = "info"\n')
    assert check() == 0
    (project / "npmguard.toml").write_text("")  # a repo policy replaces the user's
    assert check() == 1


def test_fail_on_warn_fails_on_a_warning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "npmguard.toml").write_text(
        '[settings]\nfail-on = "warn"\n[rules]\nlock-insecure-url = "warn"\n'
    )
    assert check() == 1
    assert main(["check", "--lockfile-only", "package-lock.json"]) == 1
    out, err = capsys.readouterr()
    assert "verdict: WARN" in out
    assert 'exit 1: verdict warn, and the policy\'s fail-on = "warn" fails the run' in err


def test_allow_with_reason_turns_block_into_allowed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text(ALLOW)
    code, data = report(capsys)
    assert code == 0
    assert data["verdict"] == "ok"
    finding = next(f for f in data["findings"] if f["rule"] == "lock-insecure-url")
    assert finding["allowed"] is True
    assert finding["allowed_reason"] == "the internal mirror speaks http only"
    assert not [n for n in data["notes"] if n["kind"] == "unused-allow"]


def test_expired_allow_blocks_again_and_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yesterday = date.today() - timedelta(days=1)
    (project / "npmguard.toml").write_text(ALLOW + f"expires = {yesterday.isoformat()}\n")
    code, data = report(capsys)
    assert code == 1
    assert data["verdict"] == "block"
    assert [n["kind"] for n in data["notes"]] == ["expired-allow"]
    assert f"expired on {yesterday.isoformat()}" in data["notes"][0]["message"]
    assert data["notes"][0]["source"].endswith("npmguard.toml:1")
    finding = next(f for f in data["findings"] if f["rule"] == "lock-insecure-url")
    assert finding["allowed"] is False
    assert "expired allow entry" in json.dumps(finding["evidence"])


def test_unused_allow_entry_is_reported_without_failing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text(
        '[rules]\nlock-insecure-url = "warn"\n[[allow]]\npackage = "gone"\nreason = "old"\n'
    )
    code, data = report(capsys)
    assert code == 0
    assert [n["kind"] for n in data["notes"]] == ["unused-allow"]
    assert "gone" in data["notes"][0]["message"]


def test_deny_blocks_with_its_reason(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "npmguard.toml").write_text(
        '[rules]\nlock-insecure-url = "off"\n'
        '[[deny]]\npackage = "left-*"\nversion = "<2"\nreason = "use String.padStart"\n'
        # a deny entry is never undone by an allow entry
        '[[allow]]\npackage = "left-pad"\nreason = "try to undo the deny"\n'
    )
    code, data = report(capsys)
    assert code == 1
    finding = next(f for f in data["findings"] if f["rule"] == "policy-deny")
    assert "use String.padStart" in finding["message"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ('[[allow]]\npackage = "left-pad"\n', "npmguard.toml:1: allow[0].reason: missing"),
        ('[rules]\nlock-insecure-urls = "warn"\n', "npmguard.toml:2: rules.lock-insecure-urls"),
    ],
    ids=["allow-without-reason", "unknown-rule-id"],
)
def test_invalid_policy_exits_2_naming_the_file(
    project: Path, capsys: pytest.CaptureFixture[str], policy: str, expected: str
) -> None:
    (project / "npmguard.toml").write_text(policy)
    assert check() == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_extends_loop_exits_2_with_the_chain(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text('extends = ["base.toml"]\n')
    (project / "base.toml").write_text('extends = ["npmguard.toml"]\n')
    assert check() == 2
    err = capsys.readouterr().err
    assert "extends loop: npmguard.toml -> base.toml -> npmguard.toml" in err


# -- npmguard policy show / validate / init ----------------------------------------------------


def test_policy_show_says_where_each_value_came_from(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "base.toml").write_text(
        '[rules]\ninstall-script = "block"\n[rules.too-new]\nlevel = "block"\ndays = 5\n'
    )
    (project / "npmguard.toml").write_text(
        'extends = ["base.toml"]\n[rules.install-script]\nlevel = "warn"\n' + ALLOW
    )
    assert main(["policy", "show", "--lockfile", "package-lock.json"]) == 0
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "# npmguard.toml" in lines and "# base.toml" in lines
    section = lines.index("[rules.install-script]")
    assert lines[section + 1] == 'level = "warn" # npmguard.toml:3'
    section = lines.index("[rules.too-new]")
    assert lines[section + 1 : section + 3] == [
        'level = "block" # base.toml:4',
        "days = 5 # base.toml:5",
    ]
    assert 'fail-on = "block" # default' in lines
    assert "[[allow]] # npmguard.toml:4" in lines

    assert main(["policy", "show", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_key = {v["key"]: v for v in data["values"]}
    assert by_key["rules.install-script.level"] == {
        "key": "rules.install-script.level",
        "value": "warn",
        "source": "npmguard.toml:3",
    }
    assert by_key["rules.lock-host.level"]["source"] == "default"
    assert data["files"] == ["npmguard.toml", "base.toml"]
    assert data["allow"][0]["reason"] == "the internal mirror speaks http only"


def test_policy_show_toml_loads_back_to_the_same_policy(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from npmguard.policy.load import load_policy

    (project / "npmguard.toml").write_text(
        'extends = ["npmguard:strict"]\n' + ALLOW + "expires = 2031-01-01\n"
    )
    assert main(["policy", "show", "--format", "toml"]) == 0
    flat = project / "flat.toml"
    flat.write_text(capsys.readouterr().out)
    a = load_policy(None, project)
    b = load_policy(flat, project)
    assert b.levels["install-script"] is a.levels["install-script"]
    assert b.options["too-new"]["days"] == a.options["too-new"]["days"]
    # list options come back as the TOML arrays `policy show` writes for their defaults
    assert list(b.options["too-new"].get("exclude", ())) == list(
        a.options["too-new"].get("exclude", ())
    )
    assert b.allow[0].expires == a.allow[0].expires
    assert b.allow[0].matcher == a.allow[0].matcher


def test_policy_validate(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "npmguard.toml").write_text('extends = ["npmguard:strict"]\n')
    assert main(["policy", "validate"]) == 0
    assert capsys.readouterr().out.strip() == "npmguard.toml: ok (with npmguard:strict)"
    bad = project / "bad.toml"
    bad.write_text('[settings]\nfail-on = "sometimes"\n')
    assert main(["policy", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml:2: settings.fail-on: 'sometimes' is not a level" in err
    assert "hint: one of: block, warn, info" in err


@pytest.mark.parametrize("preset", ["default", "strict", "ci"])
def test_policy_init_writes_a_policy_that_loads(
    project: Path, capsys: pytest.CaptureFixture[str], preset: str
) -> None:
    from npmguard.policy.load import load_policy

    assert main(["policy", "init", "--preset", preset]) == 0
    text = (project / "npmguard.toml").read_text()
    assert f'extends = ["npmguard:{preset}"]' in text
    assert text.count("\n#") > 20  # commented
    policy = load_policy(None, project)
    assert policy.files == ("npmguard.toml", f"npmguard:{preset}")


def test_policy_init_refuses_to_overwrite(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text("# mine\n")
    assert main(["policy", "init"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (project / "npmguard.toml").read_text() == "# mine\n"
    assert main(["policy", "init", "--force", "--preset", "ci"]) == 0
    assert "npmguard:ci" in (project / "npmguard.toml").read_text()
    assert not list(project.glob(".*tmp"))


def test_policy_init_to_stdout(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "init", "--output", "-", "--preset", "strict"]) == 0
    assert 'extends = ["npmguard:strict"]' in capsys.readouterr().out
    assert not (project / "npmguard.toml").exists()


def test_a_live_entry_allows_even_when_an_expired_one_also_matches(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text(
        ALLOW + "expires = 2020-01-01\n" + ALLOW.replace("http only", "http only, renewed")
    )
    code, data = report(capsys)
    assert code == 0
    finding = next(f for f in data["findings"] if f["rule"] == "lock-insecure-url")
    assert finding["allowed_reason"] == "the internal mirror speaks http only, renewed"
    assert [n["kind"] for n in data["notes"]] == ["expired-allow"]


def test_policy_show_with_explicit_policy(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text('[rules]\ndeprecated = "off"\n')
    other = tmp_path / "other.toml"
    other.write_text('[rules]\ndeprecated = "block"\n')
    assert main(["policy", "show", "--policy", str(other), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    value = next(v for v in data["values"] if v["key"] == "rules.deprecated.level")
    assert value["value"] == "block"
    assert value["source"].endswith("other.toml:2")


def test_an_allow_entry_for_a_rule_that_did_not_run_is_not_called_unused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --lockfile-only does not run install-script (it reads tarballs): the entry for left-pad
    # (in the tree) cannot have matched; the entry for a package not in the tree is unused
    # whatever runs, and so is one for a rule that ran on left-pad and found nothing.
    (project / "npmguard.toml").write_text(
        '[rules]\nlock-insecure-url = "warn"\n'
        '[[allow]]\npackage = "left-pad"\nrules = ["install-script"]\nreason = "builds"\n'
        '[[allow]]\npackage = "left-pad"\nreason = "every rule"\n'
        '[[allow]]\npackage = "gone"\nrules = ["install-script"]\nreason = "old"\n'
        '[[allow]]\npackage = "left-pad"\nrules = ["lock-no-integrity"]\nreason = "ran"\n'
    )
    code, data = report(capsys)
    assert code == 0
    unused = [n for n in data["notes"] if n["kind"] == "unused-allow"]
    assert [n["source"].rsplit(":", 1)[1] for n in unused] == ["10", "14"]
    assert "gone" in unused[0]["message"] and "left-pad" in unused[1]["message"]
