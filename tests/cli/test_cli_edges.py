"""The CLI at its edges, as a careful user meets them: credentials in lockfile URLs, a cache
folder that cannot be used, a lockfile on stdin."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fakeregistry import FakeRegistry

from npmguard.cli import main

SECRETS = ("S3CRETPASS", "TOKSECRET")


def _lockfile(entries: dict[str, dict[str, Any]]) -> str:
    return json.dumps(
        {
            "name": "app",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {
                "": {
                    "name": "app",
                    "version": "1.0.0",
                    "dependencies": dict.fromkeys(entries, "*"),
                },
                **{f"node_modules/{n}": e for n, e in entries.items()},
            },
        },
        indent=2,
    )


@pytest.fixture
def cred_project(
    fake_registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    reg = fake_registry
    got = reg.add_version("left-pad", "1.3.0", files={"index.js": "module.exports = 1;\n"})
    host = reg.url.split("://", 1)[1]
    lock = _lockfile(
        {
            "left-pad": {
                "version": "1.3.0",
                "resolved": f"http://alice:S3CRETPASS@{host}left-pad/-/left-pad-1.3.0.tgz",
                "integrity": got.integrity,
            },
            "is-number": {
                "version": "7.0.0",
                "resolved": f"{reg.url}is-number/-/is-number-7.0.0.tgz?token=TOKSECRET",
            },
        }
    )
    (tmp_path / "package-lock.json").write_text(lock)
    (tmp_path / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    monkeypatch.setenv("npm_config_registry", reg.url)
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "package-lock.json"


@pytest.mark.parametrize("name", ["left-pad", "is-number"])
def test_explain_redacts_credentials_in_resolved(
    cred_project: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    main(["explain", name, "--lockfile", str(cred_project)])
    out, err = capsys.readouterr()
    assert f"{name}@" in out and "resolved:" in out
    assert "***" in out  # the URL is shown, its secret is not
    for secret in SECRETS:
        assert secret not in out + err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_check_and_ls_redact_credentials(
    cred_project: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    main(["check", str(cred_project), "--format", fmt])
    main(["ls", str(cred_project), "--format", "json" if fmt == "json" else "text"])
    out, err = capsys.readouterr()
    assert "is-number" in out
    for secret in SECRETS:
        assert secret not in out + err


def test_cache_dir_that_is_a_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "package-lock.json").write_text(
        _lockfile(
            {"a": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz"}}
        )
    )
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("")
    monkeypatch.setenv("NPMGUARD_CACHE_DIR", str(not_a_dir))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where a crash log would go
    assert main(["check", str(tmp_path), "--offline"]) == 2
    err = capsys.readouterr().err
    assert f"{not_a_dir}: cannot use as the cache folder (NPMGUARD_CACHE_DIR)" in err
    assert "hint:" in err and "internal error" not in err
    assert not list(tmp_path.glob("npmguard-crash-*"))

    assert main(["explain", "a", "--offline", "--cache-dir", str(not_a_dir / "sub")]) == 2
    assert "(--cache-dir)" in capsys.readouterr().err
    # --lockfile-only needs no cache: still runs
    assert main(["check", str(tmp_path), "--lockfile-only", "-q"]) == 0


def test_cache_dir_not_readable_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from npmguard.errors import UsageError
    from npmguard.paths import usable_cache_dir

    monkeypatch.setattr("os.access", lambda *a, **k: False)
    with pytest.raises(UsageError, match="Permission denied"):
        usable_cache_dir(tmp_path / "c")
    assert (tmp_path / "c").is_dir()


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    class _In:
        buffer = io.BytesIO(data)

    monkeypatch.setattr("sys.stdin", _In())


def test_lockfile_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    lock = _lockfile(
        {"a": {"version": "1.0.0", "resolved": "http://mirror.example/a/-/a-1.0.0.tgz"}}
    )
    _stdin(monkeypatch, lock.encode())
    assert main(["check", "-", "--lockfile-only", "--format", "json", "-q"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in report["packages"]] == ["a"]
    assert {f["rule"] for f in report["findings"]} >= {"lock-insecure-url"}

    _stdin(monkeypatch, lock.encode())
    assert main(["ls", "-", "--format", "json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["a"]

    _stdin(monkeypatch, b"")
    assert main(["check", "-", "--lockfile-only"]) == 2
    assert "(stdin): empty file" in capsys.readouterr().err

    assert main(["check", "-", "--changed-since", "HEAD"]) == 2
    assert "stdin" in capsys.readouterr().err


def test_db_info_after_a_failed_import_says_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "update", "--from", str(tmp_path)]) == 2  # no OSV records there
    capsys.readouterr()
    assert main(["db", "info"]) == 0
    assert "nothing imported; run `npmguard db update`" in capsys.readouterr().out
    assert main(["db", "info", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] is False


def _subparsers(parser: Any) -> Any:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for sub_name, deeper in _subparsers(sub):
                    yield f"{name} {sub_name}", deeper


def test_every_option_with_choices_says_its_default() -> None:
    from npmguard.cli import build_parser

    missing = []
    for name, sub in _subparsers(build_parser()):
        for action in sub._actions:
            has_default = action.choices and action.option_strings and action.default is not None
            if has_default and "default" not in (action.help or ""):
                missing.append(f"npmguard {name} {action.option_strings[-1]}")
    assert not missing


def test_oversized_input_is_refused_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("npmguard.lockfile.MAX_BYTES", 1000)
    big = tmp_path / "package-lock.json"
    big.write_text(
        _lockfile({f"p{i}": {"version": "1.0.0"} for i in range(100)})
    )  # valid, but over the (lowered) limit
    assert main(["check", str(big), "--lockfile-only"]) == 2
    assert f"{big}: larger than 0 MB" in capsys.readouterr().err
    _stdin(monkeypatch, b" " * 2000)
    assert main(["ls", "-"]) == 2
    assert "(stdin): larger than" in capsys.readouterr().err


def test_cache_info_and_clear_count_the_names_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "names-0123456789abcdef.sqlite").write_bytes(b"x" * 4096)
    assert main(["cache", "info", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "names:    names-0123456789abcdef.sqlite, 4.0 KB" in out
    assert "total:    4.0 KB" in out
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 0
    assert "4.0 KB freed" in capsys.readouterr().err
    assert not list(cache.glob("names-*"))


def test_folder_with_only_a_binary_bun_lockfile_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bun.lockb").write_bytes(b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n")
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no lockfile found" in err
    assert "found bun.lockb: Bun's binary lockfile (bun.lockb) cannot be read" in err


def test_explain_offers_no_whole_tree_flags() -> None:
    from npmguard.cli import build_parser

    explain = dict(_subparsers(build_parser()))["explain"]
    flags = {s for a in explain._actions for s in a.option_strings}
    assert {"--offline", "--policy", "--lockfile"} <= flags
    assert not flags & {"--changed-since", "--all", "--lockfile-only"}


def test_policy_validate_warns_about_expired_allow_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "npmguard.toml"
    policy.write_text(
        '[[allow]]\npackage = "chalk"\nrules = ["too-new"]\nreason = "x"\nexpires = 2020-01-01\n'
        '\n[[allow]]\npackage = "esbuild"\nreason = "y"\nexpires = 2999-01-01\n'
    )
    assert main(["policy", "validate", str(policy)]) == 0  # still valid
    out, err = capsys.readouterr()
    assert ": ok" in out
    assert "allow entry for chalk expired on 2020-01-01" in err
    assert "esbuild" not in err
