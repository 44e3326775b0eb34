"""`npmguard doctor` (and `shell-init --uninstall`): what it sees, what it says, its exit code.

The registry is a loopback FakeRegistry named by the project's .npmrc; the shell checks run
in a real bash where one is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry

from npmguard import doctor
from npmguard.cli import main
from npmguard.feeds.importer import import_feed
from npmguard.feeds.store import create_feed_store

FEED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "integrity" / "MAL-2099-0001.json"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("SHELL", "/bin/bash")
    monkeypatch.delenv(doctor.SHELL_MARKER, raising=False)
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_registry: FakeRegistry) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".npmrc").write_text(f"registry={fake_registry.url}\n")
    monkeypatch.chdir(folder)
    for key in [k for k in os.environ if k.lower().startswith("npm_config_")]:
        monkeypatch.delenv(key)
    return folder


def _lines(out: str) -> dict[str, str]:
    """check -> "status detail" from doctor's output."""
    rows = {}
    for line in out.splitlines()[:-1]:
        status, check, detail = line.split(None, 2)
        rows[check] = f"{status} {detail}"
    return rows


def test_everything_in_place(
    home: Path,
    project: Path,
    fake_registry: FakeRegistry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (home / ".bashrc").write_text('# mine\neval "$(npmguard shell-init bash)"\n')
    monkeypatch.setenv(doctor.SHELL_MARKER, "bash")
    with create_feed_store() as store:
        import_feed(str(FEED), store=store)
    fake_registry.add_version("left-pad", "1.3.0", attestations=True)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    rows = _lines(out)
    assert rows["shell"].startswith("ok this shell ran `npmguard shell-init bash`")
    assert "~/.bashrc:2 runs it in new bash shells" in rows["shell"]
    assert rows["cache"].startswith("ok ") and "writable" in rows["cache"]
    assert rows["feed"].startswith("ok 1 known-malicious records, imported 0 day(s) ago")
    assert rows["registry"].startswith(f"ok {fake_registry.url} answered for left-pad in ")
    assert "give publish times, publishers, provenance, maintainers" in rows["registry"]
    assert rows["self-test"].startswith("ok offline, the engine blocked crossenv@0.0.1-security")
    assert out.splitlines()[-1] == "doctor: 5 ok, 0 to improve, 0 failed"


def test_a_mirror_that_strips_package_documents_is_named_with_what_cannot_judge(
    home: Path, project: Path, fake_registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_registry.add_version("left-pad", "1.3.0")
    doc = fake_registry.packument("left-pad")
    assert doc is not None
    # what the mirror here serves: per-version times only (first-seen dates), no _npmUser
    stripped = {k: doc[k] for k in ("name", "dist-tags")}
    stripped["time"] = {v: t for v, t in doc["time"].items() if v in doc["versions"]}
    stripped["versions"] = {
        v: {k: m[k] for k in ("name", "version", "dist")} for v, m in doc["versions"].items()
    }
    fake_registry.set_packument("left-pad", stripped)
    assert main(["doctor"]) == 0  # warnings only
    rows = _lines(capsys.readouterr().out)
    registry = rows["registry"]
    assert registry.startswith("warn ") and "give none of publish times, publishers" in registry
    assert "no publish times, publishers, provenance, so " in registry
    assert "publisher-change" in registry and "too-new" in registry
    assert rows["shell"].startswith("warn npm does not go through npmguard in this shell")
    assert rows["feed"].startswith("warn no known-bad feed imported")


def test_an_unreachable_registry_fails(
    home: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".npmrc").write_text("registry=http://127.0.0.1:9/\nfetch-retries=0\n")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert _lines(out)["registry"].startswith("fail http://127.0.0.1:9/")
    assert out.splitlines()[-1] == "doctor: 2 ok, 2 to improve, 1 failed"
    assert main(["doctor", "--offline"]) == 0  # skipped, not failed


def test_a_self_test_that_does_not_block_fails(
    home: Path, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Proof the self-test can fail: expect a block the shipped lockfile cannot produce."""
    extra = ("is-number@7.0.0", "security-holder")
    monkeypatch.setattr(doctor, "SELFTEST_BLOCKS", (*doctor.SELFTEST_BLOCKS, extra))
    assert main(["doctor", "--offline"]) == 1
    row = _lines(capsys.readouterr().out)["self-test"]
    assert (
        row
        == "fail the shipped known-bad lockfile: did not block is-number@7.0.0 (security-holder)"
    )


def test_the_user_policy_does_not_weaken_the_self_test(
    home: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "npmguard.toml").write_text('[rules]\nsecurity-holder = "off"\n')
    assert main(["doctor", "--offline"]) == 0
    assert _lines(capsys.readouterr().out)["self-test"].startswith("ok ")


def test_an_unwritable_cache_fails(
    home: Path, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert main(["doctor", "--offline", "--cache-dir", str(blocker / "cache")]) == 1
    assert _lines(capsys.readouterr().out)["cache"].startswith("fail ")


def test_startup_lines_ignore_comments_and_uninstall(home: Path) -> None:
    (home / ".zshrc").write_text(
        '# eval "$(npmguard shell-init zsh)"\n'
        'eval "$(npmguard shell-init zsh --uninstall)"\n'
        'eval "$(/opt/npmguard/bin/npmguard shell-init zsh)"  # guard npm\n'
    )
    assert doctor.startup_lines(home, "zsh") == [("~/.zshrc", 3)]
    assert doctor.startup_lines(home, "bash") == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_shell_init_then_uninstall_in_a_real_bash(home: Path, tmp_path: Path) -> None:
    """`eval "$(npmguard shell-init bash)"` routes npm and tells doctor; `--uninstall` undoes
    both in the running shell and names the startup line that would load it again."""
    (home / ".bashrc").write_text('eval "$(npmguard shell-init bash)"\n')
    npmguard = f"{sys.executable} -m npmguard"
    script = f"""
set -e
eval "$({npmguard} shell-init bash)"
type -t npm; type -t npx
{npmguard} doctor --offline | grep '^ok    shell'
eval "$({npmguard} shell-init bash --uninstall)"
type -t npm || echo "npm: no function"
{npmguard} doctor --offline | grep '^warn  shell'
"""
    env = {**os.environ, "HOME": str(home), "SHELL": "/bin/bash"}
    env.pop(doctor.SHELL_MARKER, None)
    done = subprocess.run(
        ["bash", "--norc", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["function", "function"]
    assert lines[2].startswith("ok    shell      this shell ran `npmguard shell-init bash`")
    assert "function" not in lines[3:]
    assert lines[-1].startswith("warn  shell      ~/.bashrc:1 runs it in new bash shells, but")
    assert "npmguard: ~/.bashrc:1 loads npmguard in new bash shells: remove that line" in (
        done.stderr
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_every_snippet_sets_the_marker_and_has_an_uninstall(shell: str) -> None:
    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "npmguard", "shell-init", shell, *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert doctor.SHELL_MARKER in run() and shell in run()
    removal = run("--uninstall")
    assert doctor.SHELL_MARKER in removal and "npm" in removal and "npmguard" not in removal
