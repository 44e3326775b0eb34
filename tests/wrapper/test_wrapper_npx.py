"""npx, npm exec and npm init <initializer> through the wrapper (docs/wrapper-commands.md).

npx reads options only up to the first positional (bin/npx-cli.js); npm exec reads them
anywhere; npm init foo runs create-foo. Each test compares what the plain npx runs and
installs with what npmguard checked: a policy denying the package npx would install makes
npmguard refuse before anything runs or lands in npx's cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wrapper_support import Project, needs_npm

pytestmark = [needs_npm, pytest.mark.npm]


def deny(proj: Project, name: str, version: str = "") -> None:
    pin = f'version = "{version}"\n' if version else ""
    proj.write_policy(f'[[deny]]\npackage = "{name}"\n{pin}reason = "refused in this test"\n')


def npx_cache(proj: Project) -> list[str]:
    """Every package folder in npx's cache (one cache per test)."""
    cache = Path(proj.env["npm_config_cache"]) / "_npx"
    return sorted(p.name for p in cache.glob("*/node_modules/*") if not p.name.startswith("."))


def refused(proj: Project, *args: str, tool: str = "npx") -> None:
    before = proj.snapshot()
    result = proj.guard(*args, tool=tool)
    assert result.returncode == 1, result.stderr
    assert "refused in this test" in result.stderr
    assert result.stdout == ""  # nothing ran
    assert proj.snapshot() == before
    assert npx_cache(proj) == [] and proj.markers() == []


def test_rw06_npx_options_stop_at_the_first_positional(proj: Project) -> None:
    """rw-06: `npx cowsay --package=left-pad hello` runs cowsay (the option is cowsay's
    argument), so cowsay is what must be checked."""
    args = ("--yes", "cowsay", "--package=left-pad", "hello")
    plain = proj.twin().npm(*args, tool="npx")
    assert plain.returncode == 0 and plain.stdout.strip() == "moo --package=left-pad hello"
    deny(proj, "cowsay")
    refused(proj, *args)
    (proj.root / "npmguard.toml").unlink()
    result = proj.guard(*args, tool="npx")
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout
    assert "cowsay@1.0.0" in result.stderr and "left-pad" not in result.stderr


def test_npm_exec_reads_package_after_the_positional(proj: Project) -> None:
    """`npm exec a-bin --package=pkg-a`: npm's own parser reads --package anywhere."""
    deny(proj, "pkg-a")
    refused(proj, "exec", "--yes", "a-bin", "--package=pkg-a", tool="npm")
    (proj.root / "npmguard.toml").unlink()
    result = proj.guard("exec", "--yes", "a-bin", "--package=pkg-a")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "a ran"


def test_npx_with_two_packages_checks_both_and_runs_no_unapproved_script(proj: Project) -> None:
    """`npx -p pkg-a -p pkg-b a-bin`: both are installed; pkg-b's postinstall is approved by
    nobody, so it must not run, even with --ignore-scripts=false."""
    args = ("--ignore-scripts=false", "-p", "pkg-a", "-p", "pkg-b", "--yes", "a-bin")
    twin = proj.twin()
    plain = twin.npm(*args, tool="npx")
    assert plain.returncode == 0 and twin.markers() == ["MARKER-pkg-b"]
    deny(proj, "pkg-b")
    refused(proj, *args)
    (proj.root / "npmguard.toml").unlink()
    result = proj.guard(*args, tool="npx")
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout
    assert proj.markers() == []
    assert "pkg-b@1.0.0 (postinstall)" in result.stderr
    assert npx_cache(proj) == npx_cache(twin) == ["pkg-a", "pkg-b"]


def test_npx_a_version_other_than_the_installed_one(proj: Project) -> None:
    """`npx --yes tool@2.0.0` with tool@1.0.0 in the project: npx installs and runs 2.0.0."""
    assert proj.npm("install", "tool@1.0.0").returncode == 0
    deny(proj, "tool", "2.0.0")
    refused(proj, "--yes", "tool@2.0.0")
    (proj.root / "npmguard.toml").unlink()
    result = proj.guard("--yes", "tool@2.0.0", tool="npx")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tool 2.0.0"
    assert proj.markers() == []  # its postinstall is approved by nobody
    local = proj.guard("tool", tool="npx")  # the project's own: nothing to install or check
    assert local.returncode == 0 and local.stdout.strip() == "tool 1.0.0"
    assert "resolving" not in local.stderr


@pytest.mark.parametrize("command", ["init", "create"])
def test_init_runs_the_checked_initializer(proj: Project, command: str) -> None:
    """`npm init foo` and `npm create foo` run create-foo, installed as npx installs it."""
    deny(proj, "create-foo")
    refused(proj, command, "foo", "--yes", tool="npm")
    (proj.root / "npmguard.toml").unlink()
    result = proj.guard(command, "foo", "--yes")
    assert result.returncode == 0, result.stderr
    assert "create-foo ran" in result.stdout
    assert proj.markers() == []
    assert "create-foo@1.0.0 (postinstall)" in result.stderr


def test_npx_runs_what_it_cached_only_after_checking_it(proj: Project) -> None:
    """A package the plain npx installed earlier is in npx's cache; npx would run it without
    installing anything, so that cached tree is what gets checked."""
    assert proj.npm("--yes", "cowsay", tool="npx").returncode == 0
    deny(proj, "cowsay")
    before = proj.snapshot()
    result = proj.guard("cowsay", tool="npx")
    assert result.returncode == 1, result.stderr
    assert result.stdout == "" and proj.snapshot() == before


@pytest.mark.parametrize(
    ("args", "env", "accepted"),
    [
        (("-y", "tool@2.0.0"), {}, False),
        (("--yes", "tool@2.0.0"), {}, False),
        (("tool@2.0.0", "-y"), {}, False),
        (("--npmguard-yes", "tool@2.0.0"), {}, True),
        (("tool@2.0.0",), {"NPMGUARD_YES": "1"}, True),
    ],
    ids=["npx-y", "npx-yes", "y-after-positional", "npmguard-yes", "NPMGUARD_YES"],
)
def test_only_npmguards_own_yes_accepts_its_warnings(
    proj: Project, args: tuple[str, ...], env: dict[str, str], accepted: bool
) -> None:
    """npx's -y means "install without asking me" to npm; it never accepts npmguard's
    warnings (the install-script one here): only --npmguard-yes, NPMGUARD_YES=1 or the
    policy do."""
    proj.write_policy('[settings]\nnoninteractive-warn = "block"\n')  # install-script warns
    proj.env.update(env)
    result = proj.guard(*args, tool="npx")
    assert (result.returncode == 0) is accepted, result.stderr
    assert ("tool 2.0.0" in result.stdout) is accepted
    if not accepted:
        assert "warnings block off a terminal" in result.stderr
        assert "--npmguard-yes" in result.stderr and "no file was changed" in result.stderr


def test_npx_of_the_projects_own_bin_links_it_and_installs_nothing(proj: Project) -> None:
    """`npx mycli` inside the package that defines mycli (or `npx ./folder`): npx links the
    folder into its cache and installs none of its dependencies: nothing to check."""
    proj.write_package_json(
        {
            "name": "mycli",
            "version": "1.0.0",
            "bin": {"mycli": "cli.js"},
            "dependencies": {"evil-pkg": "0.0.1-security"},
        }
    )
    (proj.root / "cli.js").write_text("#!/usr/bin/env node\nconsole.log('mycli ran')\n")
    (proj.root / "cli.js").chmod(0o755)
    for args in (("mycli",), ("--yes", "."), ("--yes", "--package=.", "mycli")):
        result = proj.guard(*args, tool="npx")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "mycli ran"
        assert "resolving" not in result.stderr
    assert npx_cache(proj) == ["mycli"]  # a link: evil-pkg was not installed


def test_npx_with_omit_lockfile_registry_resolved(proj: Project) -> None:
    """`omit-lockfile-registry-resolved=true` (common in user .npmrc files) leaves `resolved`
    out of npx's cache lockfile, and npx then does not know its own install: the checked
    install followed by the run with --yes=false failed with "npx canceled due to missing
    packages" (found in review; a tag spec, whose cached copy npx matches by `resolved`).
    The plain npx runs it; so must the wrapper."""
    proj.write_npmrc("omit-lockfile-registry-resolved=true")
    args = ("--yes", "tool")
    twin = proj.twin()
    plain = twin.npm(*args, tool="npx")
    assert plain.returncode == 0 and plain.stdout.strip() == "tool 2.0.0"
    result = proj.guard(*args, tool="npx")
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout
