"""A policy named by URL says which copy was used: ``--refresh`` asks the server again,
``policy show`` and ``cache info`` say a copy is cached and how old, and a stale copy is
said in the report itself, so ``-q`` cannot hide it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from staticserver import StaticServer

from npmguard.cli import main
from npmguard.policy.load import load_policy

ORG = b'[rules]\nlock-no-integrity = "block"\n'
LOCK = {
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "app", "version": "1.0.0", "dependencies": {"a": "1.0.0"}},
        "node_modules/a": {
            "version": "1.0.0",
            "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz",
            "integrity": "sha512-" + "A" * 86 + "==",
        },
    },
}


@pytest.fixture
def server() -> Iterator[StaticServer]:
    with StaticServer({"/org.toml": ORG}, validators=True) as s:
        yield s


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: StaticServer) -> Path:
    (tmp_path / "package-lock.json").write_text(json.dumps(LOCK))
    (tmp_path / "npmguard.toml").write_text(f'extends = ["{server.url}/org.toml"]\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def age_http_cache(minutes: int, *, expired: bool) -> None:
    """Make every cached answer ``minutes`` old (and past its expiry when ``expired``)."""
    from requests_cache.backends.sqlite import SQLiteCache

    cache = SQLiteCache(Path(os.environ["NPMGUARD_CACHE_DIR"]) / "http.sqlite")
    then = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    for key, response in list(cache.responses.items()):
        response.created_at = then.replace(tzinfo=None)
        response.expires = (
            (then + timedelta(minutes=1))
            if expired
            else datetime.now(timezone.utc) + timedelta(hours=1)
        ).replace(tzinfo=None)
        cache.responses[key] = response
    cache.close()


def test_refresh_fetches_an_extends_url_again_even_when_fresh(
    project: Path, server: StaticServer
) -> None:
    load_policy(None, project)
    load_policy(None, project)
    assert server.hits == ["/org.toml"]  # fresh: used as cached
    policy = load_policy(None, project, refresh=True)
    assert server.hits == ["/org.toml"] * 2
    assert [c.state for c in policy.copies] == ["revalidated"]  # the server said: unchanged
    assert main(["check", "--lockfile-only", "-q", "--refresh"]) == 0
    assert server.hits == ["/org.toml"] * 3


def test_policy_show_says_which_copy_and_how_old(
    project: Path, server: StaticServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "show"]) == 0
    assert f"#   {server.url}/org.toml: fetched now" in capsys.readouterr().out
    age_http_cache(42, expired=False)
    assert main(["policy", "show"]) == 0
    out = capsys.readouterr().out
    assert f"#   {server.url}/org.toml: the copy cached 42 minutes ago (not asked again" in out
    assert server.hits == ["/org.toml"]
    assert main(["policy", "show", "--format", "json"]) == 0
    copies = json.loads(capsys.readouterr().out)["copies"]
    assert [(c["url"], c["state"]) for c in copies] == [(f"{server.url}/org.toml", "cached")]


def test_a_stale_copy_is_said_in_the_report_even_with_quiet(
    project: Path, server: StaticServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--lockfile-only", "-q"]) == 0
    capsys.readouterr()
    server.files.clear()  # the policy server is gone
    age_http_cache(120, expired=True)
    assert main(["check", "--lockfile-only", "-q"]) == 0
    out, err = capsys.readouterr()
    said = (
        f"{server.url}/org.toml: cannot refresh the policy; using the copy cached 120 minutes ago"
    )
    assert f"stale-policy: {said}" in out
    assert err == ""  # -q: nothing on stderr, and still said
    assert main(["check", "--lockfile-only", "-q", "--format", "json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert {"kind": "stale-policy", "message": said, "source": f"{server.url}/org.toml"} in notes
    assert main(["check", "--lockfile-only", "-q", "--format", "sarif"]) == 0
    run = json.loads(capsys.readouterr().out)["runs"][0]
    told = run["invocations"][0]["toolExecutionNotifications"]
    stale = [n for n in told if n["descriptor"]["id"] == "stale-policy"]
    assert stale and stale[0]["level"] == "warning" and said in stale[0]["message"]["text"]


def test_cache_info_lists_cached_policies_and_the_current_names_index(
    project: Path, server: StaticServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = Path(os.environ["NPMGUARD_CACHE_DIR"])
    from npmguard.names.store import open_store

    assert main(["check", "--lockfile-only", "-q"]) == 0  # fetches the policy
    open_store(cache, prebuilt=False).close()  # the index a check builds (none shipped)
    (cache / "names-0123456789abcdef.sqlite").write_bytes(b"")  # another version's index
    age_http_cache(7, expired=False)
    capsys.readouterr()
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"policy:   {server.url}/org.toml: cached 7 minutes ago" in out
    names = [line for line in out.splitlines() if line.startswith("names:")]
    assert len(names) == 2
    assert sum("current: the index of the list shipped with this npmguard" in n for n in names) == 1
    assert any("names-0123456789abcdef.sqlite" in n and "unused here" in n for n in names)


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "show", "--refresh"],
        ["policy", "validate", "--refresh"],
        ["check", "--lockfile-only", "--refresh"],
    ],
)
def test_refresh_with_the_server_down_warns_that_the_cached_copy_is_used(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    (tmp_path / "package-lock.json").write_text(json.dumps(LOCK))
    monkeypatch.chdir(tmp_path)
    with StaticServer({"/org.toml": ORG}, validators=True) as s:
        url = f"{s.url}/org.toml"
        (tmp_path / "npmguard.toml").write_text(f'extends = ["{url}"]\n')
        assert main(["policy", "show"]) == 0  # cached now, younger than a minute
    capsys.readouterr()
    assert main(argv) == 0  # the server is gone: --refresh cannot ask it
    out, err = capsys.readouterr()
    said = f"{url}: cannot refresh the policy; using the copy cached less than a minute ago"
    assert said in out + err
    assert "not asked again yet" not in out + err
