"""Recording [[allow]] entries (the npm prompt's "allow and record"): the file's comments and
layout kept byte for byte, the result checked by the policy parser, nothing half-written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from npmguard.errors import PolicyError
from npmguard.policy.edit import NewAllow, add_allows, allow_target, with_allows
from npmguard.policy.load import load_policy

ENTRY = NewAllow(
    "loadsh", "4.17.21", ("typosquat",), 'we meant "loadsh" \\ really', date(2027, 1, 31)
)

INTERLEAVED = """\
# team policy: reviewed by security
extends = ["npmguard:default"]  # baseline

[[allow]]
package = "esbuild"   # platform binary
rules = ["install-script"]
reason = "reviewed"

[rules]
deprecated = "off"

[[allow]]
package = "sharp"
reason = "libvips"
# the end, no newline"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_entries_go_after_the_last_line_and_the_rest_stays_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "npmguard.toml"
    path.write_text(INTERLEAVED)
    add_allows(path, [ENTRY], note="recorded at the npm prompt")
    text = path.read_text()
    assert text.startswith(INTERLEAVED + "\n")
    assert text[len(INTERLEAVED) :] == (
        "\n\n# recorded at the npm prompt\n[[allow]]\n"
        'package = "loadsh"\nversion = "4.17.21"\nrules = ["typosquat"]\n'
        'reason = "we meant \\"loadsh\\" \\\\ really"\nexpires = 2027-01-31\n'
    )
    policy = load_policy(path, tmp_path)
    assert [a.matcher.package for a in policy.allow] == ["esbuild", "sharp", "loadsh"]
    recorded = policy.allow[-1]
    assert recorded.reason == ENTRY.reason and recorded.expires == ENTRY.expires
    assert recorded.rules == ("typosquat",) and recorded.matcher.version == "4.17.21"
    assert policy.levels["deprecated"].name == "OFF"  # the rest of the policy unchanged


def test_a_new_file_is_created_with_just_the_entries(tmp_path: Path) -> None:
    path = tmp_path / "npmguard.toml"
    add_allows(
        path, [ENTRY, NewAllow("x", "1.0.0", ("install-script", "too-new"), "ok", ENTRY.expires)]
    )
    policy = load_policy(path, tmp_path)
    assert [(a.matcher.package, a.rules) for a in policy.allow] == [
        ("loadsh", ("typosquat",)),
        ("x", ("install-script", "too-new")),
    ]
    assert path.read_text().startswith("[[allow]]\n")


def test_crlf_files_keep_their_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "npmguard.toml"
    path.write_bytes(b'[settings]\r\nfail-on = "warn"\r\n')
    add_allows(path, [ENTRY])
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    assert load_policy(path, tmp_path).allow[0].matcher.package == "loadsh"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[settings\nfail-on = "warn"\n', "not valid TOML, so not edited"),
        ('allow = [{ package = "a", reason = "b" }]\n', "cannot be added after its last line"),
        ('[rules]\nno-such-rule = "warn"\n', "unknown rule id"),
    ],
    ids=["broken", "static-array", "invalid-policy"],
)
def test_nothing_is_written_when_the_result_would_be_wrong(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "npmguard.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=problem):
        add_allows(path, [ENTRY])
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["npmguard.toml"]  # no temporary left


def test_a_value_that_would_break_the_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not an npm version range"):
        with_allows("", [NewAllow("a", "not a version!", ("typosquat",), "r", ENTRY.expires)], "p")


def test_where_exceptions_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "repo" / "app"
    project.mkdir(parents=True)
    monkeypatch.setenv("NPMGUARD_CONFIG_DIR", str(tmp_path / "config"))
    assert allow_target(None, project) == project / "npmguard.toml"  # nothing applies: a new one
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "npmguard.toml").write_text("")
    assert allow_target(None, project) == (tmp_path / "config" / "npmguard.toml").resolve()
    (tmp_path / "repo" / "npmguard.toml").write_text("")
    assert allow_target(None, project) == tmp_path / "repo" / "npmguard.toml"  # the nearest
    assert allow_target("npmguard:strict", project) is None  # a preset cannot be edited
    assert allow_target("https://policies.example/org.toml", project) is None
