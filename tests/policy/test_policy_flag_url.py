"""``--policy URL`` (check, policy show/validate): fetched like an ``extends`` URL, its
``//`` kept, credentials never shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from staticserver import StaticServer

from npmguard.cli import main

POLICY = b'extends = ["npmguard:default"]\n\n[rules]\nlock-no-integrity = "block"\n'
LOCK = {
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "app", "version": "1.0.0", "dependencies": {"a": "1.0.0"}},
        "node_modules/a": {
            "version": "1.0.0",
            "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz",
        },
    },
}


@pytest.fixture
def base_url() -> Iterator[str]:
    with StaticServer({"/team.toml": POLICY}) as server:
        yield server.url


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "package-lock.json").write_text(json.dumps(LOCK))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_with_policy_url(
    project: Path, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--lockfile-only", "-q"]) == 0  # no-integrity is a warning by default
    capsys.readouterr()
    url = base_url.replace("http://", "http://alice:PASSWORD@") + "/team.toml"
    assert main(["check", "--lockfile-only", "-q", "--policy", url]) == 1
    assert "PASSWORD" not in "".join(capsys.readouterr())

    assert main(["policy", "validate", f"{base_url}/team.toml"]) == 0
    assert "team.toml: ok" in capsys.readouterr().out
    assert main(["policy", "show", "--policy", f"{base_url}/team.toml", "--format", "json"]) == 0
    shown = capsys.readouterr().out
    assert "lock-no-integrity" in shown and "team.toml" in shown


def test_policy_url_errors_are_clear(
    project: Path, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["check", "--lockfile-only", "--policy", "http://bob:SECRET@example.com/p.toml"]) == 2
    )
    err = capsys.readouterr().err
    assert "http://***@example.com/p.toml: only https URLs" in err
    assert "SECRET" not in err and "no such policy file" not in err

    assert main(["check", "--lockfile-only", "--policy", f"{base_url}/missing.toml"]) == 2
    err = capsys.readouterr().err
    assert f"error: {base_url}/missing.toml: cannot fetch the policy: HTTP 404" in err
    assert "extends" not in err.split("hint:")[0]
