"""Lockfiles shaped by an attacker (issue 13): tiny inputs that used to crash (exit 4), a
name long enough to stall the report, and secrets in ``resolved`` URLs. ``ls`` and ``check``
read them alike; every output format stays free of secrets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hostile import run_cli

REGISTRY = "https://registry.npmjs.org/"


@pytest.fixture(autouse=True)
def _names(names_cache: None) -> None:
    """The popular-names store built once, not per test."""


def _lock(folder: Path, entries: dict[str, dict[str, Any]], raw: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {"": {"name": "app", "version": "1.0.0"}, **entries},
    }
    (folder / "package-lock.json").write_text(raw if raw is not None else json.dumps(doc))
    return folder / "package-lock.json"


def _entry(name: str, resolved: str | None = None) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "resolved": resolved or f"{REGISTRY}{name}/-/{name}-1.0.0.tgz",
        "integrity": "sha512-" + "A" * 86 + "==",
    }


def test_an_integer_of_4301_digits_is_read_as_node_reads_it(tmp_path: Path) -> None:
    """Node reads every number as a double; Python's int() refused more than 4,300 digits
    (ValueError: exit 4). npm accepts the file, so ls and check do."""
    entry = json.dumps(_entry("x"))[:-1] + ', "size": ' + "1" * 4301 + "}"
    raw = (
        '{"name": "app", "lockfileVersion": 3, "packages": {"": {"name": "app"}, '
        f'"node_modules/x": {entry}}}}}'
    )
    lock = _lock(tmp_path, {}, raw)
    code, out, err = run_cli("ls", str(lock), "--format", "json")
    assert code == 0, err
    assert [p["name"] for p in json.loads(out)] == ["x"]
    code, out, err = run_cli("check", str(lock), "--lockfile-only", "--format", "json")
    assert code == 0, err
    assert [p["name"] for p in json.loads(out)["packages"]] == ["x"]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_name_with_a_lone_surrogate_is_no_crash(tmp_path: Path, fmt: str) -> None:
    """``"node_modules/x\\ud800"`` decodes to a string no UTF-8 output (SQLite, a terminal,
    a report) can hold: it is read with U+FFFD in its place, by ls and check alike."""
    raw = json.dumps({"name": "app", "lockfileVersion": 3, "packages": {"": {}}})[:-2]
    raw += ', "node_modules/x\\ud800": ' + json.dumps(_entry("x")) + "}}"
    lock = _lock(tmp_path, {}, raw)
    code, out, err = run_cli("ls", str(lock), "--format", "json")
    assert code == 0, err
    assert [p["name"] for p in json.loads(out)] == ["x\ufffd"]
    code, out, err = run_cli("check", str(lock), "--lockfile-only", "--format", fmt)
    assert code in (0, 1), err
    shown = out if fmt == "text" else json.dumps(json.loads(out), ensure_ascii=False)
    assert "x\ufffd" in shown


def test_a_40000_character_name_does_not_stall_the_report(tmp_path: Path) -> None:
    """The URL scrubber's regex backtracked over the name: 12 s per report. It is linear."""
    name = "a" * 40_000
    lock = _lock(tmp_path, {f"node_modules/{name}": _entry(name, f"http://x/{name}.tgz")})
    started = time.monotonic()
    for fmt in ("text", "json", "sarif"):
        code, out, err = run_cli("check", str(lock), "--lockfile-only", "--format", fmt)
        assert code == 1, err  # plain http: lock-insecure-url
        assert name in out
    assert time.monotonic() - started < 6.0  # three reports; the regex took 12 s for one


SECRETS = ("AMZSIGSECRET", "AMZTOKENSECRET", "APIKEYSECRET", "ss-SECRET", "p%40ss-SECRET")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_secrets_in_resolved_urls_never_reach_a_report(tmp_path: Path, fmt: str) -> None:
    """Redaction is an allow-list: scheme, host, path and harmless query keys are shown;
    X-Amz-Signature, X-Amz-Security-Token, apikey values and userinfo (even one holding an
    "@") are not."""
    signed = (
        "https://bucket.example.com/signed/-/signed-1.0.0.tgz?X-Amz-Signature=AMZSIGSECRET"
        "&X-Amz-Security-Token=AMZTOKENSECRET&apikey=APIKEYSECRET&v=1"
    )
    lock = _lock(
        tmp_path,
        {
            "node_modules/signed": _entry("signed", signed),
            "node_modules/userinfo": _entry(
                "userinfo", "https://u:p@ss-SECRET@mirror.example.com/userinfo/-/userinfo-1.0.0.tgz"
            ),
        },
    )
    code, out, err = run_cli("check", str(lock), "--lockfile-only", "--format", fmt)
    assert code == 1, err  # resolved from hosts that are not the registry: lock-host
    for secret in SECRETS:
        assert secret not in out and secret not in err, secret
    assert "bucket.example.com/signed/-/signed-1.0.0.tgz?X-Amz-Signature=***" in out
    assert "&v=1" in out
    assert "https://***@mirror.example.com/userinfo/-/userinfo-1.0.0.tgz" in out
    code, out, err = run_cli("ls", str(lock))
    assert code == 0 and not [s for s in SECRETS if s in out + err]


def test_a_yarn_classic_name_with_a_lone_surrogate_is_no_crash(tmp_path: Path) -> None:
    """yarn.lock's quoted strings are JSON strings: ``"a\\ud800@1.0.0"`` is read with U+FFFD
    in its place (as the npm and bun readers do), not kept to crash the names store."""
    lock = tmp_path / "yarn.lock"
    lock.write_text(
        "# yarn lockfile v1\n\n\n"
        '"x\\ud800@^1.0.0":\n'
        '  version "1.0.0"\n'
        '  resolved "https://registry.yarnpkg.com/x/-/x-1.0.0.tgz#abc"\n'
        '  integrity "sha512-' + "A" * 86 + '=="\n',
        encoding="utf-8",
    )
    code, out, err = run_cli("check", str(lock), "--lockfile-only", "--format", "json")
    assert code in (0, 1), err
    assert [p["name"] for p in json.loads(out)["packages"]] == ["x\ufffd"]
