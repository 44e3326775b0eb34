"""Install scripts under the wrapper: npm runs them when it would (same events, only for what
it installs), the gate lets through the project's own and the approved dependencies' only.
Approval is npm's own allowScripts matching (by the locked `resolved` source), or the policy.
"""

from __future__ import annotations

import json

import pytest
from wrapper_support import Project, needs_npm, root_script

pytestmark = [needs_npm, pytest.mark.npm]


def manifest(proj: Project, **extra: object) -> None:
    proj.write_package_json({"name": "proj", "version": "1.0.0", "private": True, **extra})


def test_approved_scripts_run_once_like_npm_and_not_again_when_nothing_changes(
    proj: Project,
) -> None:
    env_probe = (
        "node -e \"require('fs').writeFileSync('SHELL-SEEN', "
        'String(process.env.npm_config_script_shell))"'
    )
    manifest(
        proj,
        allowScripts={"approved-script@1.0.0": True},
        scripts={"postinstall": root_script("postinstall"), "prepare": env_probe},
    )
    twin = proj.twin()
    for args in (("approved-script", "with-script"), ("approved-script",), ()):
        # npm builds only what it installs: after the first, nothing is new
        assert twin.npm("install", *args).returncode == 0
        result = proj.guard("install", *args, "--yes")
        assert result.returncode == 0, result.stderr
    assert proj.runs("MARKER-approved-script") == twin.runs("MARKER-approved-script") == 1
    assert proj.runs("ROOT-postinstall") == twin.runs("ROOT-postinstall") == 1
    assert twin.runs("MARKER-with-script") == 1 and proj.runs("MARKER-with-script") == 0
    # the project's own scripts see npm's environment, not npmguard's gate
    assert (proj.root / "SHELL-SEEN").read_text() == (twin.root / "SHELL-SEEN").read_text()


def test_allow_scripts_is_matched_the_way_npm_matches_it(proj: Project) -> None:
    """npm matches a registry-style key ("with-script") only against packages that come from
    the registry; installed from a tarball URL, with-script is unreviewed for npm, so it is
    not approved for npmguard either. A key naming that URL approves it, for both."""
    url = proj.registry_url + "with-script/-/with-script-1.0.0.tgz"
    manifest(proj, allowScripts={"with-script": True})
    result = proj.guard("install", url, "--yes")
    assert result.returncode == 0, result.stderr
    assert proj.markers() == []
    assert "with-script@1.0.0 (postinstall)" in result.stderr
    listed = proj.npm("install-scripts", "ls")
    assert "with-script" in listed.stdout  # npm agrees: not covered by allowScripts

    manifest(proj, allowScripts={url: True}, dependencies={"with-script": url})
    assert proj.guard("rebuild").returncode == 0
    assert proj.markers() == ["MARKER-with-script"]


def test_a_policy_allow_entry_approves_but_an_allow_scripts_denial_wins(proj: Project) -> None:
    proj.write_policy(
        '[[allow]]\npackage = "approved-script"\nrules = ["install-script"]\nreason = "ok"\n'
        '[[allow]]\npackage = "with-script"\nrules = ["install-script"]\nreason = "ok"\n'
    )
    manifest(proj, allowScripts={"with-script": False})
    result = proj.guard("install", "approved-script", "with-script")
    assert result.returncode == 0, result.stderr
    assert proj.markers() == ["MARKER-approved-script"]


def test_bundled_scripts_are_gated_and_approved_through_the_bundling_package(
    proj: Project,
) -> None:
    """npm runs a bundled package's postinstall whatever allowScripts says (and refuses to
    allowlist it): the gate skips it, says npm cannot approve it, and runs it once the policy
    allows the package that bundles it."""
    manifest(proj, allowScripts={"bundled-leaf": True, "bundler-ok": True})
    twin = proj.twin()
    assert twin.npm("install", "bundler-ok").returncode == 0
    assert twin.runs("MARKER-bundled-leaf") == 1  # npm ran it despite nothing approving it
    result = proj.guard("install", "bundler-ok", "--yes")
    assert result.returncode == 0, result.stderr
    assert proj.markers() == []
    assert "bundled-leaf@1.0.0 (postinstall)" in result.stderr
    assert "npm cannot approve their scripts" in result.stderr
    assert "npm approve-scripts bundled-leaf" not in result.stderr

    proj.write_policy(
        '[[allow]]\npackage = "bundler-ok"\nrules = ["install-script"]\nreason = "ok"\n'
    )
    assert proj.guard("rebuild").returncode == 0
    assert proj.markers() == ["MARKER-bundled-leaf"]


def test_rebuild_runs_only_approved_scripts(proj: Project) -> None:
    """`npm rebuild` runs install scripts of what is installed: the same approval applies."""
    manifest(proj, allowScripts={"approved-script": True})
    assert proj.npm("install", "approved-script", "with-script").returncode == 0
    twin = proj.twin()
    assert twin.npm("rebuild").returncode == 0
    result = proj.guard("rebuild")
    assert result.returncode == 0, result.stderr
    assert twin.runs("MARKER-with-script") == 2 and proj.runs("MARKER-with-script") == 1
    assert proj.runs("MARKER-approved-script") == twin.runs("MARKER-approved-script") == 2
    assert "with-script@1.0.0 (postinstall)" in result.stderr

    proj.write_policy('[[deny]]\npackage = "approved-script"\nreason = "refused in this test"\n')
    before = proj.snapshot()
    refused = proj.guard("rebuild", "approved-script")
    assert refused.returncode == 1, refused.stderr
    assert proj.snapshot() == before


def test_global_install_runs_no_unapproved_script(proj: Project) -> None:
    """`npm install -g pkg --ignore-scripts=false`: the user's later flag cannot turn the
    gate off."""
    prefix = proj.root.parent / "global"
    user_rc = proj.env["npm_config_userconfig"]
    with open(user_rc, "w") as fh:  # npm reads no project .npmrc in global mode
        fh.write(f"registry={proj.registry_url}\n")
    result = proj.guard(
        "install", "-g", "--prefix", str(prefix), "with-script", "--ignore-scripts=false"
    )
    assert result.returncode == 0, result.stderr
    assert (prefix / "lib/node_modules/with-script/package.json").is_file()
    assert proj.markers() == []
    assert "with-script@1.0.0 (postinstall)" in result.stderr
    data = json.loads((prefix / "lib/node_modules/with-script/package.json").read_text())
    assert data["version"] == "1.0.0"
