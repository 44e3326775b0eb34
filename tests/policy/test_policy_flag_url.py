"""``--policy URL`` (check, policy show/validate): fetched like an ``extends`` URL, its
``//`` kept, credentials never shown."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

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


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/team.toml":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(POLICY)))
        self.end_headers()
        self.wfile.write(POLICY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
