"""The wrapper at a terminal (driven through a pseudo-terminal): what the command adds in
full, the rest in one line, the project's files named, the packages named in the prompt, and
one keystroke to go ahead once, allow and record in npmguard.toml, or refuse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from wrapper_support import MARKER_SCRIPT, Project, make_project, needs_npm, run_on_pty

pytestmark = [needs_npm, pytest.mark.npm]

PROMPT = "[N] no: "
OLD = ["old-a", "old-b", "old-c", "old-d"]
POLICY = """\
# our policy: reviewed by the platform team
[rules]
lock-file-source = "info"   # vendored tarballs are fine

[[allow]]
package = "esbuild"
rules = ["install-script"]
reason = "platform binary"
"""


def _own(name: str, size: int) -> dict[str, str]:
    """Files of a package of its own (look-alike packages would form a clone cluster)."""
    return {f"lib/{name}.js": f"module.exports = {name!r};\n" + "// pad\n" * size * 3}


@pytest.fixture(scope="module")
def registry() -> Iterator[FakeRegistry]:
    reg = FakeRegistry(max_age=0)
    for i, name in enumerate(OLD):  # in the project already; each gets an info note
        reg.add_version(name, "1.0.0", deprecated=f"{name} is unmaintained", files=_own(name, i))
    # one transposition from lodash: typosquat warns
    reg.add_version("loadsh", "1.0.0", files=_own("loadsh", 7))
    reg.add_version(
        "with-script", "1.0.0", scripts={"postinstall": MARKER_SCRIPT}, files=_own("ws", 9)
    )
    reg.add_version(
        "crossenv",
        "0.0.1-security",
        description="security holding package",
        manifest={"repository": {"type": "git", "url": "npm/security-holder"}},
        scripts={"postinstall": MARKER_SCRIPT},
    )
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def project(tmp_path: Path, registry: FakeRegistry) -> Project:
    proj = make_project(tmp_path, registry.url)
    assert proj.npm("install", *OLD).returncode == 0
    return proj


def test_the_command_shows_what_it_adds_and_counts_the_rest(project: Project) -> None:
    before = project.snapshot()
    run = run_on_pty(project, ["install", "loadsh"], [(PROMPT, "n")])
    out = run.output
    assert run.code == 1 and project.snapshot() == before
    assert "npmguard: this command adds loadsh@1.0.0\n" in out
    assert "package-lock.json (npm-v3, 5 packages)" in out  # the project's, not the copy's
    assert "npmguard-resolve-" not in out
    assert "WARNINGS (1)" in out and "typosquat" in out and "'lodash'" in out
    assert "the other 4 packages of the tree: ok (4 with notes: `npmguard check` lists them)" in out
    assert not any(name in out for name in OLD)  # their notes are counted, not printed
    assert "go ahead with loadsh@1.0.0 (typosquat)? [y] yes, once  [a] allow and record in " in out
    assert "npmguard: not installed; no file was changed" in out


def test_enter_means_no(project: Project) -> None:
    before = project.snapshot()
    run = run_on_pty(project, ["install", "loadsh"], [(PROMPT, "\r")])
    assert run.code == 1 and project.snapshot() == before


def test_yes_once_installs_and_records_nothing(project: Project) -> None:
    run = run_on_pty(project, ["install", "loadsh"], [(PROMPT, "y")])
    assert run.code == 0, run.output
    assert (project.root / "node_modules" / "loadsh").is_dir()
    assert not (project.root / "npmguard.toml").exists()


def test_allow_and_record_keeps_the_policy_file_and_adds_the_entry(project: Project) -> None:
    project.write_policy(POLICY)
    run = run_on_pty(
        project,
        ["install", "loadsh"],
        [(PROMPT, "a"), ("(empty cancels): ", "we meant loadsh, reviewed\r")],
    )
    assert run.code == 0, run.output
    until = date.today() + timedelta(days=90)
    assert f"recorded in npmguard.toml (until {until}): loadsh@1.0.0 (typosquat)" in run.output
    text = (project.root / "npmguard.toml").read_text()
    assert text.startswith(POLICY + "\n# recorded at the npm prompt on ")
    assert text.endswith(
        '[[allow]]\npackage = "loadsh"\nversion = "1.0.0"\nrules = ["typosquat"]\n'
        f'reason = "we meant loadsh, reviewed"\nexpires = {until.isoformat()}\n'
    )
    assert (project.root / "node_modules" / "loadsh").is_dir()
    again = project.guard("install", "loadsh")  # the entry now allows it: no warning
    assert again.returncode == 0, again.stderr
    assert "proceeding despite warnings" not in again.stderr


def test_allow_and_record_approves_the_script_it_was_asked_about(project: Project) -> None:
    run = run_on_pty(
        project,
        ["install", "with-script"],
        [(PROMPT, "a"), ("(empty cancels): ", "builds its native part, reviewed\r")],
    )
    assert run.code == 0, run.output
    assert "go ahead with with-script@1.0.0 (install-script)?" in run.output
    assert project.markers() == ["MARKER-with-script"]
    assert "ran approved install scripts: with-script@1.0.0 (postinstall, policy allow entry)" in (
        run.output
    )


def test_yes_once_to_a_script_says_how_to_run_it_once_approved(project: Project) -> None:
    run = run_on_pty(project, ["install", "with-script"], [(PROMPT, "y")])
    assert run.code == 0, run.output
    assert project.markers() == []
    advice = (
        "once you have reviewed them, `npm approve-scripts with-script@1.0.0` approves them "
        '(package.json "allowScripts": {"with-script@1.0.0": true}) and `npm rebuild '
        "with-script` runs them"
    )
    assert advice in " ".join(run.output.split())
    # the advice works, under npmguard too
    assert project.npm("approve-scripts", "with-script@1.0.0").returncode == 0
    rebuilt = project.guard("rebuild", "with-script")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert project.markers() == ["MARKER-with-script"]


def test_a_taken_down_package_gets_the_right_advice_and_no_prompt(project: Project) -> None:
    before = project.snapshot()
    result = project.guard("install", "crossenv")
    assert result.returncode == 1 and project.snapshot() == before
    err = result.stderr
    assert (
        "do not add crossenv: npm replaced it after taking malware down; this command would "
        "add it (nothing was installed); did you mean cross-env"
    ) in err
    assert "did you mean cross-env (`npm install cross-env`)?" in err
    assert "remove it from package.json" not in err and "[[allow]]" not in err
