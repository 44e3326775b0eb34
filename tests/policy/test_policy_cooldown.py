"""The cool-down the project already declares to npm, pnpm or yarn becomes too-new's age."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.policy.cooldown import project_cooldown
from npmguard.policy.load import load_policy


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder; no user-level .npmrc/.yarnrc.yml/npm_config_* can leak in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("npm_config_userconfig", str(home / ".npmrc"))
    monkeypatch.setenv("npm_config_globalconfig", str(home / "npmrc-global"))
    for key in ("npm_config_min_release_age", "NPM_CONFIG_MIN_RELEASE_AGE"):
        monkeypatch.delenv(key, raising=False)
    root = tmp_path / "app"
    root.mkdir()
    (root / "package.json").write_text('{"name": "app"}\n')
    monkeypatch.chdir(root)
    return root


def _too_new(project: Path) -> tuple[dict[str, object], dict[str, str]]:
    policy = load_policy(None, project)
    values = dict(policy.options.get("too-new", {}))
    sources = {k: v for k, v in policy.sources.items() if k.startswith("rules.too-new.")}
    return values, sources


def test_nothing_declared_keeps_the_rule_default(project: Path) -> None:
    assert _too_new(project) == ({}, {})
    assert project_cooldown(project) is None


def test_pnpm_minimum_release_age_is_minutes(project: Path) -> None:
    (project / "pnpm-workspace.yaml").write_text(
        "packages:\n  - packages/*\nminimumReleaseAge: 4320\nminimumReleaseAgeExclude:\n"
        "  - '@acme/*'\n  - left-pad@1.3.0||1.3.1\n"
    )
    values, sources = _too_new(project)
    assert values == {"days": 3.0, "exclude": ("@acme/*", "left-pad@1.3.0||1.3.1")}
    assert sources == {
        "rules.too-new.days": "pnpm-workspace.yaml:3 (minimumReleaseAge: 4320 minutes)",
        "rules.too-new.exclude": "pnpm-workspace.yaml:4 (minimumReleaseAgeExclude)",
    }


def test_pnpm_workspace_above_the_lockfile_folder(project: Path) -> None:
    (project / "pnpm-workspace.yaml").write_text("minimumReleaseAge: 720\n")
    sub = project / "packages" / "web"
    sub.mkdir(parents=True)
    assert load_policy(None, sub).options["too-new"]["days"] == 0.5


@pytest.mark.parametrize(
    ("gate", "days"),
    [("1440", 1.0), ("3d", 3.0), ("12h", 0.5), ("1w", 7.0), ("90m", 0.0625)],
)
def test_yarn_age_gate_is_a_duration(project: Path, gate: str, days: float) -> None:
    (project / ".yarnrc.yml").write_text(
        f'nodeLinker: node-modules\nnpmMinimalAgeGate: "{gate}"\n'
        'npmPreapprovedPackages:\n  - "@acme/*"\n  - "lodash@npm:^4.17.0"\n'
    )
    values, sources = _too_new(project)
    assert values == {"days": days, "exclude": ("@acme/*", "lodash@^4.17.0")}
    assert sources["rules.too-new.days"] == f".yarnrc.yml:2 (npmMinimalAgeGate: {gate})"


def test_npm_min_release_age_is_days(project: Path) -> None:
    (project / ".npmrc").write_text(
        "registry=https://registry.npmjs.org/\nmin-release-age=7\n"
        "min-release-age-exclude[]=@myorg/*\nmin-release-age-exclude[]=my-internal-pkg\n"
    )
    values, sources = _too_new(project)
    assert values == {"days": 7.0, "exclude": ("@myorg/*", "my-internal-pkg")}
    assert sources["rules.too-new.days"] == ".npmrc:2 (min-release-age: 7 days)"
    assert sources["rules.too-new.exclude"] == ".npmrc:3 (min-release-age-exclude)"


def test_npm_environment_variable(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("npm_config_min_release_age", "5")
    values, sources = _too_new(project)
    assert values == {"days": 5.0}
    assert sources["rules.too-new.days"].startswith("environment npm_config_min_release_age")


def test_the_longest_declared_wait_wins(project: Path) -> None:
    (project / ".npmrc").write_text("min-release-age=2\n")
    (project / "pnpm-workspace.yaml").write_text("minimumReleaseAge: 10080\n")
    values, sources = _too_new(project)
    assert values["days"] == 7.0
    assert sources["rules.too-new.days"].startswith("pnpm-workspace.yaml:1")


def test_a_policy_file_that_sets_the_age_wins(project: Path) -> None:
    (project / "pnpm-workspace.yaml").write_text("minimumReleaseAge: 10080\n")
    (project / "npmguard.toml").write_text("[rules.too-new]\ndays = 1\n")
    values, sources = _too_new(project)
    assert values == {"days": 1}
    assert sources == {"rules.too-new.days": "npmguard.toml:2"}


def test_broken_or_zero_settings_declare_nothing(project: Path) -> None:
    (project / "pnpm-workspace.yaml").write_text("minimumReleaseAge: [oops\n")
    (project / ".yarnrc.yml").write_text("npmMinimalAgeGate: 0\n")
    (project / ".npmrc").write_text("min-release-age=soon\n")
    assert _too_new(project) == ({}, {})


def test_policy_show_says_where_the_age_came_from(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pnpm-workspace.yaml").write_text("minimumReleaseAge: 2880\n")
    assert main(["policy", "show"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("days = 2.0"))
    assert "pnpm-workspace.yaml:1 (minimumReleaseAge: 2880 minutes)" in line
    assert main(["policy", "show", "--format", "json"]) == 0
    values = {v["key"]: v for v in json.loads(capsys.readouterr().out)["values"]}
    assert values["rules.too-new.days"]["value"] == 2.0


NPM = shutil.which("npm")


@pytest.mark.npm
@pytest.mark.skipif(NPM is None, reason="npm not on PATH")
def test_npm_reads_the_same_values(project: Path) -> None:
    """npm is the oracle: `npm config get` in the same folder says what we read."""
    (project / ".npmrc").write_text(
        "min-release-age=3\nmin-release-age-exclude[]=@myorg/*\nmin-release-age-exclude[]=x\n"
    )
    assert NPM is not None

    done = subprocess.run(
        [NPM, "config", "list", "--json"],  # every setting as npm resolved it, as JSON
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    npm = json.loads(done.stdout)
    found = project_cooldown(project)
    assert found is not None
    assert found.days == float(npm["min-release-age"]) == 3.0
    assert list(found.exclude) == npm["min-release-age-exclude"] == ["@myorg/*", "x"]
