"""The YAML in the docs is real: CI workflows have jobs and steps, pre-commit configs validate.

Every ```yaml block in README.md and docs/*.md must parse and be one of: a GitHub Actions
workflow, a GitLab CI file, or a `.pre-commit-config.yaml` (checked with pre-commit's own
validator, and pointing at the hook this repository ships).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPEN = re.compile(r"^```\s*(ya?ml)\s*$")
GITLAB_RESERVED = {"stages", "variables", "default", "include", "workflow", "image", "services"}


def _yaml_blocks(path: Path) -> Iterator[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    start: int | None = None
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        if start is None:
            if OPEN.match(line.strip()):
                start, body = number, []
        elif line.strip().startswith("```"):
            yield start, "\n".join(body) + "\n"
            start = None
        else:
            body.append(line)


BLOCKS = [(p, n, text) for p in DOC_FILES for n, text in _yaml_blocks(p)]
IDS = [f"{p.relative_to(ROOT)}:{n}" for p, n, _ in BLOCKS]


def _kind(doc: Any) -> str:
    if isinstance(doc, dict) and "jobs" in doc:
        return "github"
    if isinstance(doc, dict) and "repos" in doc:
        return "pre-commit"
    if isinstance(doc, dict) and any(
        isinstance(v, dict) and "script" in v for k, v in doc.items() if k not in GITLAB_RESERVED
    ):
        return "gitlab"
    return "unknown"


def test_docs_show_both_ci_systems_and_the_hook() -> None:
    kinds = {_kind(yaml.safe_load(text)) for _, _, text in BLOCKS}
    assert {"github", "gitlab", "pre-commit"} <= kinds, kinds


@pytest.mark.parametrize(("path", "line", "text"), BLOCKS, ids=IDS)
def test_yaml_block_is_a_real_config(path: Path, line: int, text: str, tmp_path: Path) -> None:
    where = f"{path.relative_to(ROOT)}:{line}"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        pytest.fail(f"{where}: not YAML: {e}")
    kind = _kind(doc)
    assert kind != "unknown", f"{where}: neither a CI workflow nor a pre-commit config"
    {"github": _github, "gitlab": _gitlab, "pre-commit": _pre_commit}[kind](where, doc, tmp_path)


def _github(where: str, doc: dict[Any, Any], tmp_path: Path) -> None:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1)
    assert "on" in doc or True in doc, f"{where}: a workflow needs `on:` triggers"
    assert isinstance(doc["jobs"], dict) and doc["jobs"], f"{where}: `jobs` must be a mapping"
    for name, job in doc["jobs"].items():
        assert isinstance(job, dict), f"{where}: job {name!r} is not a mapping"
        assert "runs-on" in job, f"{where}: job {name!r} has no runs-on"
        steps = job.get("steps")
        assert isinstance(steps, list) and steps, f"{where}: job {name!r} has no steps"
        for step in steps:
            assert isinstance(step, dict), f"{where}: job {name!r}: a step is not a mapping"
            assert ("uses" in step) != ("run" in step), (
                f"{where}: job {name!r}: each step has exactly one of `uses` and `run`: {step}"
            )
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", step["uses"]), (
                    f"{where}: `uses: {step['uses']}` is not owner/repo@ref"
                )
    runs = [s["run"] for job in doc["jobs"].values() for s in job["steps"] if "run" in s]
    assert any("npmguard " in r for r in runs), f"{where}: no step runs npmguard"


def _gitlab(where: str, doc: dict[Any, Any], tmp_path: Path) -> None:
    jobs = {k: v for k, v in doc.items() if k not in GITLAB_RESERVED and not k.startswith(".")}
    for name, job in jobs.items():
        assert isinstance(job, dict), f"{where}: job {name!r} is not a mapping"
        script = job.get("script")
        assert isinstance(script, list) and all(isinstance(s, str) for s in script), (
            f"{where}: job {name!r}: `script` must be a list of commands"
        )
        artifacts = job.get("artifacts", {})
        assert isinstance(artifacts, dict), f"{where}: job {name!r}: `artifacts` is a mapping"
        rules = job.get("rules", [])
        assert isinstance(rules, list), f"{where}: job {name!r}: `rules` is a list"
    assert any("npmguard " in line for job in jobs.values() for line in job["script"]), (
        f"{where}: no job runs npmguard"
    )


def _pre_commit(where: str, doc: dict[Any, Any], tmp_path: Path) -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(yaml.safe_dump(doc))
    try:
        clientlib.load_config(str(config))
    except clientlib.InvalidConfigError as e:
        pytest.fail(f"{where}: pre-commit rejects this config: {e}")
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    shipped = {hook["id"] for hook in manifest}
    used = {hook["id"] for repo in doc["repos"] for hook in repo["hooks"]}
    assert used <= shipped, f"{where}: hooks {sorted(used - shipped)} are not in the manifest"
    # the hook's entry plus the config's `args:` must be a command line npmguard accepts
    from npmguard.cli import build_parser

    entry = {hook["id"]: hook["entry"].split() for hook in manifest}
    for repo in doc["repos"]:
        for hook in repo["hooks"]:
            argv = [*entry[hook["id"]][1:], *hook.get("args", []), "package-lock.json"]
            try:
                build_parser().parse_args(argv)
            except SystemExit:
                pytest.fail(f"{where}: `npmguard {' '.join(argv)}` is not a valid command line")
