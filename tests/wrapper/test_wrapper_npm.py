"""The npm wrapper with the real npm CLI, against a registry served on loopback by the test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from wrapper_support import MARKER_SCRIPT, Project, make_project, needs_npm, run_on_pty

pytestmark = [needs_npm, pytest.mark.npm]

HOLDER_DESCRIPTION = "security holding package"


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    reg = FakeRegistry(max_age=0)
    reg.add_version("left-pad", "1.3.0", files={"index.js": "module.exports = (s) => s;\n"})
    reg.add_version(
        "evil-pkg",
        "0.0.1-security",
        description=HOLDER_DESCRIPTION,
        manifest={"repository": {"type": "git", "url": "npm/security-holder"}},
        scripts={"postinstall": MARKER_SCRIPT},
        bin={"evil-pkg": "cli.js"},
        files={"cli.js": "#!/usr/bin/env node\nconsole.log('evil ran');\n"},
    )
    reg.add_version("with-script", "1.0.0", scripts={"postinstall": MARKER_SCRIPT})
    reg.add_version("foo", "1.0.0")
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def project(tmp_path: Path, registry: FakeRegistry) -> Project:
    return make_project(tmp_path, registry.url)


def test_blocked_install_touches_nothing_and_runs_no_script(project: Project) -> None:
    before = project.snapshot()
    result = project.guard("install", "evil-pkg")
    assert result.returncode == 1, result.stderr
    assert "evil-pkg" in result.stderr
    assert "security-holder" in result.stderr
    assert project.markers() == []
    assert project.snapshot() == before
    assert not (project.root / "node_modules").exists()


def test_script_approved_by_allow_scripts_runs(project: Project) -> None:
    project.write_package_json(
        {
            "name": "proj",
            "version": "1.0.0",
            "private": True,
            "allowScripts": {"with-script": True},
        }
    )
    result = project.guard("install", "with-script", "--yes")
    assert result.returncode == 0, result.stderr
    assert project.markers() == ["MARKER-with-script"]
    assert (
        "ran approved install scripts: with-script@1.0.0 (postinstall, allowScripts (package.json))"
        in result.stderr
    )


def test_update_that_pulls_a_denied_new_version_is_blocked(
    project: Project, registry: FakeRegistry
) -> None:
    assert project.npm("install", "foo@^1.0.0", "--ignore-scripts").returncode == 0
    registry.add_version("foo", "1.0.1", scripts={"postinstall": MARKER_SCRIPT})
    project.write_policy(
        '[[deny]]\npackage = "foo"\nversion = "1.0.1"\nreason = "hijacked release (test)"\n'
    )
    before = project.snapshot()
    result = project.guard("update")
    assert result.returncode == 1, result.stderr
    assert "foo@1.0.1" in result.stderr or "hijacked release" in result.stderr
    assert project.snapshot() == before
    assert project.lock()["packages"]["node_modules/foo"]["version"] == "1.0.0"


def _local_tarball(project: Project) -> str:
    """A local tarball dependency: lock-file-source (info by default) fires on it."""
    local = project.root / "vendor" / "thing"
    local.mkdir(parents=True)
    (local / "package.json").write_text('{"name": "thing", "version": "1.0.0"}\n')
    subprocess.run(
        ["npm", "pack", "--pack-destination", str(project.root / "vendor")],
        cwd=local,
        env=project.env,
        capture_output=True,
        check=True,
    )
    return "./vendor/thing-1.0.0.tgz"


def test_warning_off_a_terminal_proceeds_by_default(project: Project) -> None:
    project.write_policy('[rules]\nlock-file-source = "warn"\n')
    spec = _local_tarball(project)
    result = project.guard("install", spec)
    assert result.returncode == 0, result.stderr
    assert "lock-file-source" in result.stderr
    assert "proceeding despite warnings" in result.stderr
    assert (project.root / "node_modules" / "thing").exists()


def test_warning_off_a_terminal_blocks_when_the_policy_says_so(project: Project) -> None:
    project.write_policy(
        '[rules]\nlock-file-source = "warn"\n[settings]\nnoninteractive-warn = "block"\n'
    )
    spec = _local_tarball(project)
    before = project.snapshot()
    result = project.guard("install", spec)
    assert result.returncode == 1, result.stderr
    assert project.snapshot() == before


def test_pass_through_commands(project: Project) -> None:
    project.write_package_json(
        {"name": "proj", "version": "1.0.0", "scripts": {"hello": "node -e \"console.log('hi')\""}}
    )
    run = project.guard("run", "hello")
    assert run.returncode == 0
    assert "hi" in run.stdout
    version = project.guard("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == project.npm("--version").stdout.strip()
    unknown = project.guard("frobnicate-this")
    real = project.npm("frobnicate-this")
    assert unknown.returncode == real.returncode != 0


def test_a_failed_resolution_is_usage_not_blocked(project: Project) -> None:
    """npm exits 1 when it cannot find a package; for npmguard 1 means blocked, so a tree npm
    cannot resolve is 2 (see docs/exit-codes.md), with npm's own message."""
    result = project.guard("install", "no-such-package-anywhere")
    real = project.npm("install", "no-such-package-anywhere", "--package-lock-only")
    assert real.returncode == 1 and result.returncode == 2
    assert "E404" in real.stderr and "E404" in result.stderr
    assert not (project.root / "node_modules").exists()


def test_scoped_package_from_second_registry_with_token(
    project: Project, registry: FakeRegistry
) -> None:
    private = FakeRegistry(token="s3cret-token")
    private.add_version("@acme/tool", "2.0.0", dependencies={"left-pad": "^1.3.0"})
    with private.serve() as private_url:
        host = private_url.split("//", 1)[1]
        project.write_npmrc(f"@acme:registry={private_url}", f"//{host}:_authToken=s3cret-token")
        result = project.guard("install", "@acme/tool")
        assert result.returncode == 0, result.stderr
        assert (project.root / "node_modules" / "@acme" / "tool").is_dir()
        assert any(r.authorization == "Bearer s3cret-token" for r in private.requests)
    assert registry.requests, "the public registry was asked for left-pad"
    assert all(r.authorization is None for r in registry.requests)


def test_warning_answered_no_on_a_terminal(project: Project) -> None:
    project.write_policy('[rules]\nlock-file-source = "warn"\n')
    spec = _local_tarball(project)
    before = project.snapshot()
    run = run_on_pty(project, ["install", spec], [("[N] no: ", "n")])
    assert "go ahead with thing@1.0.0 (lock-file-source)?" in run.output
    assert run.code == 1
    assert project.snapshot() == before
    assert not (project.root / "node_modules").exists()


def test_npx_checks_the_package_before_running_it(project: Project, registry: FakeRegistry) -> None:
    registry.add_version(
        "hello-cli",
        "1.0.0",
        bin={"hello-cli": "cli.js"},
        files={"cli.js": "#!/usr/bin/env node\nconsole.log('hello from cli');\n"},
    )
    ok = subprocess.run(
        [sys.executable, "-m", "npmguard", "npx", "--yes", "hello-cli"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ok.returncode == 0, ok.stderr
    assert "hello from cli" in ok.stdout

    blocked = subprocess.run(
        [sys.executable, "-m", "npmguard", "npx", "--yes", "evil-pkg"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert blocked.returncode == 1, blocked.stderr
    assert "security-holder" in blocked.stderr
    assert project.markers() == []


def test_global_install_is_checked_too(project: Project, tmp_path: Path) -> None:
    prefix = tmp_path / "global"
    # npm ignores a project's .npmrc in global mode: the registry comes from the user config
    Path(project.env["npm_config_userconfig"]).write_text(f"registry={project.registry_url}\n")
    blocked = project.guard("install", "-g", "--prefix", str(prefix), "evil-pkg")
    assert blocked.returncode == 1, blocked.stderr
    assert "security-holder" in blocked.stderr
    assert not prefix.exists() or not any(prefix.rglob("evil-pkg"))
    ok = project.guard("install", "-g", "--prefix", str(prefix), "left-pad@1.3.0")
    assert ok.returncode == 0, ok.stderr
    assert (prefix / "lib" / "node_modules" / "left-pad" / "package.json").is_file()


def test_prompt_on_block_lets_warnings_through(project: Project) -> None:
    project.write_policy(
        '[rules]\nlock-file-source = "warn"\n'
        '[settings]\nprompt-on = "block"\nnoninteractive-warn = "block"\n'
    )
    spec = _local_tarball(project)
    result = project.guard("install", spec)
    assert result.returncode == 0, result.stderr
    assert "lock-file-source" in result.stderr
    assert (project.root / "node_modules" / "thing").exists()
