"""A hostile or failing registry on loopback (issue 13): every fault fails closed as the
policy says, every answer is bounded in size and time, and unreadable content is never clean.

Each test drives ``npmguard check`` in-process against :class:`FakeRegistry`, which answers
with error statuses, bodies cut short, dripped a byte at a time, too big, or tarballs that
unpack to hundreds of MB (``FakeRegistry.misbehave``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from hostile import STRICT_CI, WARN, bomb_tarball, findings, locked_project, run_cli, serve_tarball

FAST = "fetch-retries=0\n"


@pytest.fixture(autouse=True)
def _no_user_npmrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names_cache: None) -> None:
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    for name in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ({"status": 500, "body": b'{"error": "boom"}'}, "HTTP 500"),
        ({"status": 429, "body": b'{"error": "slow down"}'}, "HTTP 429"),
        ({"truncate": 40}, "cut short"),
        ({"body": b"<html>maintenance</html>"}, "not a JSON package document"),
    ],
    ids=["500", "429", "body-cut-short", "not-json"],
)
def test_a_registry_fault_fails_closed_as_the_policy_says(
    fake_registry: FakeRegistry, tmp_path: Path, how: dict[str, object], said: str
) -> None:
    """Under ``npmguard:strict`` + ``npmguard:ci`` (on-unreachable = fail) a 500, a 429, a
    body dropped mid-way or an error page is exit 3 naming the package, not a warning and
    ``verdict OK``; under on-unreachable = warn it is a warning and a coverage gap."""
    reg = fake_registry
    lock = locked_project(reg, tmp_path / "strict", {"faulty": "1.0.0"}, policy=STRICT_CI)
    reg.misbehave("faulty", **how)  # type: ignore[arg-type]
    (tmp_path / "strict" / ".npmrc").write_text(f"registry={reg.url}\n{FAST}")
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 3, err
    assert "faulty: " in err and said in err
    assert 'on-unreachable = "warn"' in err
    assert out == ""

    lock = locked_project(reg, tmp_path / "warn", {"faulty": "1.0.0"}, npmrc=FAST, policy=WARN)
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 0 and said in err and "on-unreachable = warn" in err
    gaps = [g["reason"] for g in json.loads(out)["coverage"]]
    assert any(g.startswith("no registry facts:") and said in g for g in gaps), gaps


def test_a_fault_with_older_facts_cached_uses_them(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    reg = fake_registry
    lock = locked_project(reg, tmp_path, {"flaky": "1.0.0"}, npmrc=FAST, policy=STRICT_CI)
    assert run_cli("check", str(lock), "-q")[0] in (0, 1)
    reg.misbehave("flaky", status=503)
    code, _, err = run_cli("check", str(lock), "--refresh")
    assert code != 3 and "using cached facts" in err


def test_a_dripping_server_is_bounded_by_fetch_timeout(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    """One byte every 0.2 s never trips a read timeout; fetch-timeout bounds the whole
    attempt (issue 13: a server sending a byte every 3 s held a run for 409 s)."""
    reg = fake_registry
    reg.add_version("dripping", "1.0.0", published="2019-01-01T00:00:00Z")
    reg.add_version("slow-headers", "1.0.0", published="2019-01-01T00:00:00Z")
    reg.misbehave("dripping", drip=0.2)
    many = {f"X-Pad-{i}": "x" for i in range(30)}  # 30 header lines, 0.2 s apart
    reg.misbehave("slow-headers", drip_headers=0.2, headers=many)
    for name in ("dripping", "slow-headers"):
        lock = locked_project(
            reg, tmp_path / name, {name: "1.0.0"}, npmrc=f"fetch-timeout=1000\n{FAST}"
        )
        started = time.monotonic()
        code, _, err = run_cli("check", str(lock), "-q")
        took = time.monotonic() - started
        assert code == 3, err
        assert "no complete answer within 1 s (fetch-timeout)" in err
        assert took < 4.0, took  # the drip alone would take over 6 s


def test_a_package_document_over_its_limit_is_a_fault(
    fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused as it arrives (declared or not), never read whole: see docs/limits.md."""
    import npmguard.limits

    monkeypatch.setattr(npmguard.limits, "PACKUMENT_BYTES", 64 * 1024)
    reg = fake_registry
    reg.add_version("huge", "1.0.0", published="2019-01-01T00:00:00Z")
    reg.add_version("huge-stream", "1.0.0", published="2019-01-01T00:00:00Z")
    padding = b'{"name": "huge", "readme": "' + b"x" * 200_000 + b'"}'
    reg.misbehave("huge", body=padding)
    reg.misbehave("huge-stream", body=lambda: iter([padding[:100_000]] * 5), length=-1)
    for name in ("huge", "huge-stream"):
        lock = locked_project(reg, tmp_path / name, {name: "1.0.0"}, npmrc=FAST)
        code, _, err = run_cli("check", str(lock), "-q")
        assert code == 3 and "package document over the 64 KB limit" in err, err


@pytest.mark.parametrize("registry", ["http://127.0.0.1:99999/", "http://[::1/"])
def test_a_registry_url_npm_cannot_fetch_is_a_usage_error(
    fake_registry: FakeRegistry, tmp_path: Path, registry: str
) -> None:
    lock = locked_project(fake_registry, tmp_path, {"left-pad": "1.0.0"})
    (tmp_path / ".npmrc").write_text(f"registry={registry}\n")
    code, _, err = run_cli("check", str(lock))
    assert code == 2, err
    assert "is not an http(s) URL npm can fetch" in err and "fix registry=" in err


def test_a_tarball_bomb_is_content_unknown(fake_registry: FakeRegistry, tmp_path: Path) -> None:
    """A 200 KB tarball that unpacks to 201 MB (npm installs it) used to have all its
    tarball facts dropped: install-script-suspicious fell back to the registry's scripts
    and a tea.yaml spam package read ok. Its content is unknown, and says so, cold, warm
    and offline (the reading is kept under the verified integrity)."""
    reg = fake_registry
    manifest = {"name": "tea-bomb", "version": "1.0.0", "description": "tea protocol"}
    reg.add_version("tea-bomb", "1.0.0", manifest=manifest, published="2019-01-01T00:00:00Z")
    data = bomb_tarball(manifest, {"tea.yaml": b"version: 1.0.0\n"}, 201 << 20)
    assert len(data) < 500_000
    serve_tarball(reg, "tea-bomb", "1.0.0", data)
    lock = locked_project(reg, tmp_path, {"tea-bomb": "1.0.0"}, npmrc=FAST)
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 1, err
    assert ("tea-bomb", "content-unknown", "block") in findings(out)
    finding = next(f for f in json.loads(out)["findings"] if f["rule"] == "content-unknown")
    assert "more than 200 MB unpacked" in finding["evidence"][0]["value"]
    reg.clear_log()
    for extra in ((), ("--offline",)):
        code, again, _ = run_cli("check", str(lock), "--format", "json", *extra)
        assert code == 1 and ("tea-bomb", "content-unknown", "block") in findings(again)
    assert not [r for r in reg.requests if r.path.endswith(".tgz")]


def test_served_bytes_that_are_not_the_locked_ones_block(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    """The packument and the lockfile agree, the tarball served does not: npm would refuse
    it (EINTEGRITY); it used to be only a warning. Never read, never cached."""
    reg = fake_registry
    reg.add_version(
        "swapped", "1.0.0", scripts={"postinstall": "node setup.js"}, published="2019-01-01"
    )
    lock = locked_project(reg, tmp_path, {"swapped": "1.0.0"}, npmrc=FAST)
    reg.tarballs["swapped/-/swapped-1.0.0.tgz"] = b"other bytes"
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 1, err
    assert ("swapped", "integrity-mismatch", "block") in findings(out)
    finding = next(f for f in json.loads(out)["findings"] if f["rule"] == "integrity-mismatch")
    assert {e["label"] for e in finding["evidence"]} >= {"lockfile integrity", "bytes served"}


def test_a_tarball_download_fault_follows_on_unreachable(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    reg = fake_registry
    reg.add_version("runs", "1.0.0", scripts={"install": "node x.js"}, published="2019-01-01")
    reg.misbehave("runs/-/runs-1.0.0.tgz", status=502)
    lock = locked_project(reg, tmp_path / "fail", {"runs": "1.0.0"}, npmrc=FAST)
    code, _, err = run_cli("check", str(lock), "-q")
    assert code == 3 and "runs@1.0.0: runs: tarball" in err and "HTTP 502" in err, err
    lock = locked_project(reg, tmp_path / "warn", {"runs": "1.0.0"}, npmrc=FAST, policy=WARN)
    code, out, err = run_cli("check", str(lock), "--format", "json")
    assert code == 0 and "their content is unknown (on-unreachable = warn)" in err
    gaps = {g["reason"] for g in json.loads(out)["coverage"]}
    assert "tarball could not be downloaded (on-unreachable = warn)" in gaps


def test_a_publish_time_before_year_1_in_utc_is_unknown(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    """``0001-01-01T00:00:00+14:00`` is a valid ISO time whose instant is in year 0: the
    stored picture could not be read back (exit 4 on every run). It is an unknown time."""
    reg = fake_registry
    reg.add_version("ancient", "1.0.0", published="2019-01-01T00:00:00Z")
    doc = reg.packument("ancient")
    assert doc is not None
    doc["time"] = {"created": "0001-01-01T00:00:00+14:00", "1.0.0": "0001-01-01T00:00:00+14:00"}
    reg.set_packument("ancient", json.loads(json.dumps(doc).replace(reg.url, "{registry}")))
    lock = locked_project(reg, tmp_path, {"ancient": "1.0.0"}, npmrc=FAST)
    for _ in range(2):  # cold, then from the stored picture
        code, out, err = run_cli("check", str(lock), "--format", "json")
        assert code in (0, 1), err
        gaps = {g["reason"] for g in json.loads(out)["coverage"]}
        assert "the registry gives no trustworthy publish times" in gaps


def test_a_packument_with_20000_versions_is_judged_by_every_rule_quickly(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    """Every rule over versions is near-linear: 20,000 versions, all published in one
    afternoon, through the strict policy's rules, cold and warm."""
    reg = fake_registry
    reg.add_version("flood", "0.0.1", published="2019-01-01T00:00:00Z")
    doc = reg.packument("flood")
    assert doc is not None
    first = doc["versions"]["0.0.1"]
    for i in range(20_000):
        version = f"1.{i // 1000}.{i % 1000}"
        doc["versions"][version] = {**first, "version": version}
        doc["time"][version] = f"2019-06-01T{12 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
    reg.set_packument("flood", json.loads(json.dumps(doc).replace(reg.url, "{registry}")))
    lock = locked_project(reg, tmp_path, {"flood": "0.0.1"}, npmrc=FAST, policy=STRICT_CI)
    started = time.monotonic()
    for _ in range(2):  # cold, then warm from the stored picture
        code, out, err = run_cli("check", str(lock), "--format", "json")
        assert code == 1, err
        assert ("flood", "version-flood", "warn") in findings(out)
    assert time.monotonic() - started < 30.0  # quadratic rules took minutes at 10,000
