"""npm's project commands through the wrapper, row by row of docs/wrapper-commands.md.

Each test runs the command twice from the same files: with the plain npm in a twin of the
project, and through npmguard. What npm installed (node_modules/.package-lock.json), the files
it wrote and the scripts it ran must be the same, minus the dependency scripts nobody
approved; and a policy that denies a package npm installs must make npmguard refuse with
package.json, the lockfile and node_modules byte-identical (so the package was checked).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from wrapper_support import Project, needs_npm, root_script

pytestmark = [needs_npm, pytest.mark.npm]

LIFECYCLE = ("preinstall", "postinstall", "prepare")


def deny(*packages: str) -> str:
    """A policy refusing ``packages`` (name, or name@version)."""
    out = []
    for spec in packages:
        name, _, version = spec.rpartition("@") if spec.rfind("@") > 0 else (spec, "", "")
        out.append(f'[[deny]]\npackage = "{name}"\n')
        if version:
            out.append(f'version = "{version}"\n')
        out.append('reason = "refused in this test"\n')
    return "".join(out)


def manifest(proj: Project, **extra: Any) -> None:
    proj.write_package_json({"name": "proj", "version": "1.0.0", "private": True, **extra})


def with_root_scripts(**extra: Any) -> dict[str, Any]:
    return {"scripts": {e: root_script(e) for e in LIFECYCLE}, **extra}


def assert_refused(proj: Project, *args: str, cwd: Path | None = None) -> None:
    before = proj.snapshot()
    result = proj.guard(*args, cwd=cwd)
    check_refused(proj, before, result)


def check_refused(
    proj: Project, before: dict[str, str], result: subprocess.CompletedProcess[str]
) -> None:
    assert result.returncode == 1, result.stderr
    assert "refused in this test" in result.stderr
    assert proj.snapshot() == before
    assert proj.markers() == []


def same_as_npm(proj: Project, *args: str, cwd: str = ".", refuse: str = "") -> Project:
    """Run ``args`` with the plain npm in a twin and through npmguard here; assert the same
    outcome. With ``refuse`` (a policy), also through npmguard in a second twin holding that
    policy, which must refuse and change nothing. The three run at once. Returns the twin."""
    twin = proj.twin()
    plain = twin.start(*args, guarded=False, cwd=twin.root / cwd)
    refusing, before = None, {}
    if refuse:
        other = proj.twin("refusing")
        other.write_policy(refuse)
        before = other.snapshot()
        refusing = other.start(*args, cwd=other.root / cwd)
    guarded = proj.guard(*args, cwd=proj.root / cwd)
    plain_done = plain.wait()
    if refusing is not None:
        check_refused(other, before, refusing.wait())
    assert guarded.returncode == plain_done.returncode == 0, (plain_done.stderr, guarded.stderr)
    assert proj.installed() == twin.installed()
    for name in ("package.json", "package-lock.json"):
        assert proj.files(name) == twin.files(name), name
    assert proj.markers() == twin.markers()
    return twin


def test_install_without_arguments_runs_the_root_lifecycle_as_npm_does(proj: Project) -> None:
    manifest(proj, dependencies={"left-pad": "^1.3.0"}, **with_root_scripts())
    same_as_npm(proj, "install")
    assert proj.markers() == ["ROOT-postinstall", "ROOT-preinstall", "ROOT-prepare"]


def test_install_with_a_package_does_not_run_the_root_lifecycle(proj: Project) -> None:
    manifest(proj, **with_root_scripts())
    same_as_npm(proj, "install", "left-pad")
    assert proj.markers() == []
    assert proj.installed()["node_modules/left-pad"] == "1.3.0"


def test_rw11_overrides_added_after_the_lockfile_are_resolved_by_npm(proj: Project) -> None:
    """rw-11: package.json gains `overrides`; the old lockfile (ms 2.1.2) is out of date and
    npm installs ms 2.1.3, so that is what must be checked."""
    manifest(proj, dependencies={"debug": "4.3.4"})
    assert proj.npm("install").returncode == 0
    manifest(proj, dependencies={"debug": "4.3.4"}, overrides={"ms": "2.1.3"})
    proj.write_policy(
        '[[deny]]\npackage = "ms"\nversion = "2.1.3"\nreason = "refused in this test"\n'
    )
    assert_refused(proj, "install")
    (proj.root / "npmguard.toml").unlink()
    same_as_npm(proj, "install")
    assert proj.installed()["node_modules/ms"] == "2.1.3"


@pytest.mark.parametrize("locked", [True, False], ids=["with-lockfile", "no-lockfile"])
def test_rw07_install_no_save_checks_and_installs_the_package(proj: Project, locked: bool) -> None:
    """rw-07: `npm install --no-save left-pad` installs left-pad (and the locked tree) and
    leaves package.json and the lockfile as they were."""
    manifest(proj, dependencies={"ms": "^2.1.0"})
    if locked:
        assert proj.npm("install", "--package-lock-only").returncode == 0
    kept = proj.files("package.json", "package-lock.json")
    same_as_npm(proj, "install", "--no-save", "left-pad", refuse=deny("left-pad"))
    assert proj.files("package.json", "package-lock.json") == kept
    assert proj.installed()["node_modules/left-pad"] == "1.3.0"


@pytest.mark.parametrize(
    "args",
    [
        ("install", "--no-package-lock", "left-pad"),
        ("install", "--package-lock-only", "left-pad"),
        ("add", "--omit=dev", "left-pad"),
    ],
    ids=["no-package-lock", "package-lock-only", "add-omit-dev"],
)
def test_install_flags_write_and_install_what_npm_does(
    proj: Project, args: tuple[str, ...]
) -> None:
    manifest(proj, dependencies={"ms": "^2.1.0"})
    assert proj.npm("install").returncode == 0
    same_as_npm(proj, *args, refuse=deny("left-pad"))


def test_prefix_installs_into_the_other_project(proj: Project) -> None:
    manifest(proj)
    sub = proj.root / "sub"
    sub.mkdir()
    (sub / "package.json").write_text('{"name": "sub", "version": "1.0.0"}\n')
    (sub / ".npmrc").write_bytes((proj.root / ".npmrc").read_bytes())  # npm reads sub's only
    # the policy is found from the project npm acts on, or above it
    twin = same_as_npm(proj, "--prefix", "sub", "install", "left-pad", refuse=deny("left-pad"))
    assert proj.installed(sub) == twin.installed(twin.root / "sub") != {}
    assert (sub / "package.json").read_bytes() == (twin.root / "sub/package.json").read_bytes()


@pytest.mark.parametrize(
    ("cwd", "args"),
    [
        ("packages/a", ("install", "left-pad")),  # npm picks the workspace from the folder
        (".", ("install", "left-pad", "-w", "a")),
        (".", ("install", "left-pad", "--workspaces")),
    ],
    ids=["implicit-workspace", "w", "workspaces"],
)
def test_workspaces(proj: Project, cwd: str, args: tuple[str, ...]) -> None:
    manifest(proj, workspaces=["packages/*"])
    for name in ("a", "b"):
        ws = proj.root / "packages" / name
        ws.mkdir(parents=True)
        (ws / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0"}) + "\n")
    assert proj.npm("install").returncode == 0
    twin = same_as_npm(proj, *args, cwd=cwd, refuse=deny("left-pad"))
    ws_a = "packages/a/package.json"
    assert (proj.root / ws_a).read_bytes() == (twin.root / ws_a).read_bytes()
    assert "left-pad" in (proj.root / ws_a).read_text()


@pytest.mark.parametrize("how", ["flag", "npmrc"])
def test_ignore_scripts_runs_no_script_at_all(proj: Project, how: str) -> None:
    manifest(proj, allowScripts={"approved-script": True}, **with_root_scripts())
    args = ["install", "approved-script", "left-pad"]
    if how == "flag":
        args.append("--ignore-scripts")
    else:
        proj.write_npmrc("ignore-scripts=true")
    same_as_npm(proj, *args)
    assert proj.markers() == []


@pytest.mark.parametrize(
    "args",
    [("ci",), ("clean-install", "--yes", "--"), ("ci", "--ignore-scripts=false")],
    ids=["ci", "clean-install-yes-dashdash", "ci-ignore-scripts-false"],
)
def test_ci_runs_the_root_lifecycle_and_no_unapproved_script(
    proj: Project, args: tuple[str, ...]
) -> None:
    manifest(proj, dependencies={"with-script": "1.0.0"}, **with_root_scripts())
    assert proj.npm("install", "--ignore-scripts").returncode == 0
    for leftover in proj.root.glob("ROOT-*"):
        leftover.unlink()
    twin = proj.twin()
    plain = twin.npm(*args)
    guarded = proj.guard(*args)
    assert guarded.returncode == plain.returncode == 0, guarded.stderr
    assert proj.installed() == twin.installed()
    assert twin.markers() == sorted([*proj.markers(), "MARKER-with-script"])
    assert proj.markers() == ["ROOT-postinstall", "ROOT-preinstall", "ROOT-prepare"]
    assert "with-script@1.0.0 (postinstall)" in guarded.stderr  # said, after the fact


def test_ci_refuses_a_denied_lockfile(proj: Project) -> None:
    manifest(proj, dependencies={"left-pad": "1.3.0"})
    assert proj.npm("install", "--package-lock-only").returncode == 0
    proj.write_policy(deny("left-pad"))
    assert_refused(proj, "ci")


@pytest.mark.parametrize("args", [("install-test",), ("it", "left-pad"), ("cit",)])
def test_install_test_runs_the_test_script(proj: Project, args: tuple[str, ...]) -> None:
    manifest(proj, dependencies={"ms": "^2.1.0"}, **with_root_scripts())
    data = json.loads((proj.root / "package.json").read_text())
    data["scripts"]["test"] = root_script("test")
    proj.write_package_json(data)
    assert proj.npm("install", "--ignore-scripts").returncode == 0
    for leftover in proj.root.glob("ROOT-*"):
        leftover.unlink()
    same_as_npm(proj, *args)
    assert "ROOT-test" in proj.markers()


@pytest.mark.parametrize(
    "args",
    [("update",), ("update", "dup-leaf"), ("uninstall", "left-pad"), ("dedupe",), ("prune",)],
)
def test_tree_changing_commands_install_what_npm_does(proj: Project, args: tuple[str, ...]) -> None:
    manifest(proj, **with_root_scripts())
    assert proj.npm("install", "dup-leaf@1.0.0", "dup-a", "left-pad").returncode == 0
    for leftover in proj.root.glob("ROOT-*"):
        leftover.unlink()
    # an update must check the newer dup-leaf before npm installs it
    same_as_npm(proj, *args, refuse=deny("dup-leaf@1.1.0") if args[0] == "update" else "")
    assert proj.markers() == []  # none of them runs the project's install lifecycle


def test_update_of_a_global_package_is_refused(proj: Project) -> None:
    before = proj.snapshot()
    result = proj.guard("update", "-g")
    assert result.returncode == 2, result.stderr
    assert "npmguard does not run it" in result.stderr
    assert proj.snapshot() == before


@pytest.mark.parametrize(
    "args", [("link",), ("link", "left-pad"), ("init", "-w", "packages/new")], ids=str
)
def test_commands_that_cannot_be_pinned_are_refused(proj: Project, args: tuple[str, ...]) -> None:
    manifest(proj, workspaces=["packages/*"])
    before = proj.snapshot()
    result = proj.guard(*args)
    assert result.returncode == 2, result.stderr
    assert "npmguard does not run it" in result.stderr
    assert proj.snapshot() == before


def test_init_workspace_without_install_passes(proj: Project) -> None:
    manifest(proj, workspaces=["packages/*"])
    result = proj.guard("init", "-w", "packages/new", "--yes", "--no-workspaces-update")
    assert result.returncode == 0, result.stderr
    assert (proj.root / "packages/new/package.json").is_file()
    assert not (proj.root / "node_modules").exists()


def test_pack_of_a_git_spec_is_refused_as_npm_would_run_its_prepare(
    proj: Project, tmp_path: Path
) -> None:
    """`npm pack <git spec>` (and publish, cache add, diff) clones the repository and, since it
    has a prepare script, runs `npm install` in the clone: its dependencies' install scripts
    and its own prepare run, outside any lockfile. The plain npm does; npmguard refuses."""
    repo = tmp_path / "gitrepo"
    repo.mkdir()
    script = "node -e \"require('fs').writeFileSync(process.env.PREPARED_MARK,'ran')\""
    (repo / "package.json").write_text(
        json.dumps({"name": "gitrepo", "version": "1.0.0", "scripts": {"prepare": script}})
    )
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    git |= {"GIT_COMMITTER_EMAIL": "t@t", "HOME": str(tmp_path)}
    for step in (["init", "-q"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git", *step], cwd=repo, env=git, check=True)
    manifest(proj)
    spec = f"git+file://{repo}"
    mark = tmp_path / "prepared"
    proj.env["PREPARED_MARK"] = str(mark)
    twin = proj.twin()
    assert twin.npm("pack", spec).returncode == 0
    assert mark.is_file()  # the plain npm ran the clone's prepare
    mark.unlink()
    result = proj.guard("pack", spec)
    assert result.returncode == 2, result.stderr
    assert "npmguard does not run it" in result.stderr
    assert not mark.exists()


def test_an_unreachable_registry_while_resolving_is_exit_3(proj: Project) -> None:
    """Exit 1 means blocked: a registry npm cannot reach while resolving is 3 (npm itself
    exits 1; found in review), with npm's message and nothing changed. A package npm cannot
    find is 2: test_wrapper_npm.py::test_a_failed_resolution_is_usage_not_blocked."""
    manifest(proj)
    proj.write_npmrc("registry=http://127.0.0.1:9/", "fetch-retries=0", "fetch-timeout=3000")
    before = proj.snapshot()
    down = proj.guard("install", "left-pad")
    assert down.returncode == 3, down.stderr
    assert "ECONNREFUSED" in down.stderr
    assert proj.snapshot() == before
