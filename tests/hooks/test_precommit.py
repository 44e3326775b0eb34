"""The hook as users run it: the real `pre-commit`, this repository as the hook source.

pre-commit clones the hook source at ``rev`` and pip-installs it into its own environment
(a few seconds, once per session: PRE_COMMIT_HOME is a session temp dir). When the work tree
has uncommitted changes, the source is a snapshot of the work tree committed in a temp repo,
so the test always runs the code being tested rather than an older HEAD.

The commits' lockfiles point at a loopback FakeRegistry through the scratch repo's ``.npmrc``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hook_repo import commit_all, git, git_env, init_repo

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HOLDER_README = (
    "# Security holding package\n\nThis package contained malicious code and was removed "
    "from the registry by the npm security team. A placeholder was published to ensure users "
    "are not affected in the future.\n"
)

# pip's words for "the package index is out of reach" (the tests must pass with no network)
NO_INDEX = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Max retries exceeded",
)

pre_commit = pytest.importorskip("pre_commit")
if shutil.which("git") is None:  # pragma: no cover - git is everywhere the tests run
    pytest.skip("git not on PATH", allow_module_level=True)


@dataclass(frozen=True)
class HookSource:
    repo: Path
    rev: str
    pre_commit_home: Path
    install_seconds: float


def _hook_source(tmp: Path) -> tuple[Path, str]:
    """This repository at HEAD when clean, else a committed snapshot of its work tree."""
    dirty = git(ROOT, "status", "--porcelain", "--untracked-files=normal")
    if not dirty:
        return ROOT, git(ROOT, "rev-parse", "HEAD")
    snapshot = init_repo(tmp / "hook-source")
    files = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for rel in filter(None, files.split("\0")):
        src = ROOT / rel
        if src.is_file():  # deleted-but-tracked files are skipped
            dst = snapshot / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return snapshot, commit_all(snapshot, "snapshot of the work tree")


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> HookSource:
    """The hook source, with pre-commit's environment for it installed (timed)."""
    tmp = tmp_path_factory.mktemp("hook")
    repo, rev = _hook_source(tmp)
    home = tmp / "pre-commit-home"
    probe = init_repo(tmp / "probe")
    _write_config(probe, repo, rev)
    started = time.monotonic()
    done = _run(
        [sys.executable, "-m", "pre_commit", "install-hooks"],
        probe,
        {"PRE_COMMIT_HOME": home},
        check=False,
    )
    took = time.monotonic() - started
    if done.returncode != 0:
        out = done.stdout + done.stderr
        if any(sign in out for sign in NO_INDEX):  # pre-commit pip-installs the hook from PyPI
            pytest.skip(
                f"pre-commit cannot install the hook: no package index reachable ({took:.0f} s)"
            )
        raise AssertionError(f"pre-commit install-hooks failed:\n{out}")
    print(f"\npre-commit hook environment installed in {took:.1f} s")
    return HookSource(repo, rev, home, took)


def _write_config(repo: Path, source: Path, rev: str, args: tuple[str, ...] = ()) -> None:
    text = (
        f"repos:\n  - repo: {source.as_uri()}\n    rev: {rev}\n    hooks:\n      - id: npmguard\n"
    )
    if args:
        text += f"        args: {json.dumps(list(args))}\n"
    (repo / ".pre-commit-config.yaml").write_text(text)


def _run(
    argv: list[str], cwd: Path, env: Mapping[str, str | Path], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=git_env({k: str(v) for k, v in env.items()}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


class Project:
    """A scratch git repo with the hook installed and a lockfile served by a fake registry."""

    def __init__(
        self, path: Path, source: HookSource, registry: object, cache: Path, args: tuple[str, ...]
    ) -> None:
        self.path = path
        self.registry = registry
        self.url: str = registry.url  # type: ignore[attr-defined]
        self.env: dict[str, str | Path] = {
            "PRE_COMMIT_HOME": source.pre_commit_home,
            "NPMGUARD_CACHE_DIR": cache,
            "NO_COLOR": "1",
        }
        init_repo(path)
        _write_config(path, source.repo, source.rev, args)
        # npm (and npmguard) read the project .npmrc next to the nearest package.json
        (path / "package.json").write_text('{"name": "app", "version": "1.0.0"}\n')
        (path / ".npmrc").write_text(f"registry={self.url}\n")
        _run([sys.executable, "-m", "pre_commit", "install"], path, self.env)

    def write_lock(self, deps: Mapping[str, str]) -> None:
        reg = self.registry
        packages: dict[str, object] = {
            "": {"name": "app", "version": "1.0.0", "dependencies": dict(deps)}
        }
        for name, version in deps.items():
            entry = reg.packages[name].versions[version]  # type: ignore[attr-defined]
            packages[f"node_modules/{name}"] = {
                "version": version,
                # built from the URL remembered at start: the registry may be stopped by now
                "resolved": f"{self.url}{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz",
                "integrity": entry.integrity,
                "license": "MIT",
            }
        doc = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True}
        doc["packages"] = packages
        (self.path / "package-lock.json").write_text(json.dumps(doc, indent=2) + "\n")

    def commit(self, message: str) -> subprocess.CompletedProcess[str]:
        git(self.path, "add", "-A")
        return _run(["git", "commit", "-m", message], self.path, self.env, check=False)


def _needs_registry_facts() -> None:
    """Skip until the facts source and the security-holder rule are in the tree being tested."""
    import importlib.util

    from npmguard.rules.base import all_rules

    if importlib.util.find_spec("npmguard.reputation.source") is None:
        pytest.skip("npmguard.reputation.source (the registry facts source) is not there yet")
    if "security-holder" not in all_rules():
        pytest.skip("the security-holder rule is not registered yet")


@pytest.fixture
def hook_args() -> tuple[str, ...]:
    return ()


@pytest.fixture
def project(
    tmp_path: Path, hook_source: HookSource, fake_registry: object, hook_args: tuple[str, ...]
) -> Iterator[Project]:
    reg = fake_registry
    for name, versions in {"left-pad": ["1.3.0"], "lodash": ["4.17.20", "4.17.21"]}.items():
        for v in versions:
            reg.add_version(  # type: ignore[attr-defined]
                name, v, published="2019-06-01T00:00:00Z", files={"index.js": "exports.x=1;\n"}
            )
    reg.add_version(  # type: ignore[attr-defined]
        "crossenv",
        "0.0.1-security",
        publisher="npm",
        description="security holding package",
        manifest={"repository": "npm/security-holder"},
        files={"README.md": HOLDER_README},
        published="2017-08-02T00:00:00Z",
    )
    yield Project(tmp_path / "app", hook_source, reg, tmp_path / "cache", hook_args)


def test_hook_refuses_a_security_holder_and_accepts_a_clean_change(project: Project) -> None:
    _needs_registry_facts()
    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.20"})
    first = project.commit("add the lockfile")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "npmguard (lockfile check)" in first.stderr and "Passed" in first.stderr

    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.20", "crossenv": "0.0.1-security"})
    refused = project.commit("add crossenv")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "Failed" in out and "crossenv" in out and "security-holder" in out
    assert git(project.path, "rev-list", "--count", "HEAD") == "1"  # nothing was committed

    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.21"})
    clean = project.commit("bump lodash")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert git(project.path, "rev-list", "--count", "HEAD") == "2"


def test_hook_skips_commits_without_a_lockfile(project: Project) -> None:
    (project.path / "README.md").write_text("hello\n")
    done = project.commit("docs only")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr  # git shows hook output on stderr
    assert "(no files to check)Skipped" in out, out


def _tamper(project: Project) -> None:
    lock = project.path / "package-lock.json"
    doc = json.loads(lock.read_text())
    doc["packages"]["node_modules/left-pad"]["resolved"] = (
        "http://evil.example/left-pad/-/left-pad-1.3.0.tgz"
    )
    lock.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize("hook_args", [("--lockfile-only",)])
def test_hook_args_reach_npmguard_and_a_tampered_entry_blocks(project: Project) -> None:
    """`args:` in the config are passed on; an entry moved to a plain-http host is refused."""
    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.21"})
    first = project.commit("lockfile")
    assert first.returncode == 0, first.stdout + first.stderr
    _tamper(project)
    refused = project.commit("tamper")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "left-pad" in out and "lock-insecure-url" in out and "lodash" not in out
    assert git(project.path, "rev-list", "--count", "HEAD") == "1"


@pytest.mark.parametrize("hook_args", [("--offline",)])
def test_offline_hook_answers_from_the_cache(project: Project) -> None:
    """pre-commit.ci style: facts cached by an earlier online run, then no registry at all."""
    _needs_registry_facts()
    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.20", "crossenv": "0.0.1-security"})
    warm = _run(
        [sys.executable, "-m", "npmguard", "check", "--all", "-q", "--format", "json"],
        project.path,
        project.env,
        check=False,
    )
    assert warm.returncode in (0, 1), warm.stdout + warm.stderr
    project.registry.stop()  # type: ignore[attr-defined]

    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.20"})
    clean = project.commit("lockfile")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.20", "crossenv": "0.0.1-security"})
    refused = project.commit("add crossenv")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "crossenv" in out and "security-holder" in out and "internal error" not in out


def _yarn_lock(project: Project, deps: Mapping[str, str], host: str | None = None) -> str:
    lines = [
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.",
        "# yarn lockfile v1",
        "",
    ]
    for name, version in deps.items():
        entry = project.registry.packages[name].versions[version]  # type: ignore[attr-defined]
        base = host or project.url
        lines += [
            "",
            f"{name}@^{version}:",
            f'  version "{version}"',
            f'  resolved "{base}{name}/-/{name}-{version}.tgz"',
            f"  integrity {entry.integrity}",
        ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("hook_args", [("--lockfile-only",)])
def test_hook_runs_on_yarn_and_pnpm_lockfiles(project: Project) -> None:
    """The same hook on a Yarn project and a pnpm project in one repository."""
    (project.path / "yarn.lock").write_text(_yarn_lock(project, {"left-pad": "1.3.0"}))
    web = project.path / "web"
    web.mkdir()
    shutil.copy(
        # registry packages only (a two-document pnpm 12 file)
        ROOT / "tests" / "fixtures" / "lockfiles" / "sources" / "pnpm-9.0-env" / "pnpm-lock.yaml",
        web / "pnpm-lock.yaml",
    )
    first = project.commit("yarn and pnpm lockfiles")
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert "npmguard (lockfile check)" in out and "Passed" in out

    tampered = _yarn_lock(project, {"left-pad": "1.3.0"}, host="http://evil.example/")
    (project.path / "yarn.lock").write_text(tampered)
    refused = project.commit("tamper the yarn lockfile")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "left-pad" in out and "lock-insecure-url" in out and "lock-host" in out
    assert git(project.path, "rev-list", "--count", "HEAD") == "1"


def _readme_hook_blocks() -> list[str]:
    """The pre-commit configs README.md shows, as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    return [b for b in blocks if b.startswith("repos:")]


def _readme_hook_configs() -> list[dict[str, object]]:
    import yaml

    return [yaml.safe_load(b) for b in _readme_hook_blocks()]


def _readme_ci_args() -> tuple[str, ...]:
    """The `args:` README.md gives for pre-commit.ci."""
    for config in _readme_hook_configs():
        hook = config["repos"][0]["hooks"][0]  # type: ignore[index]
        if hook.get("args"):
            return tuple(hook["args"])
    raise AssertionError("README.md shows no pre-commit.ci args")


@pytest.mark.parametrize("hook_args", [_readme_ci_args()])
def test_readme_precommit_ci_recipe_works_with_no_network_and_no_cache(
    project: Project,
) -> None:
    """pre-commit.ci: no registry and an empty cache. The recipe README gives passes a clean
    change, refuses a tampered entry, and says what it could not check; plain --offline would
    exit 3 (why README does not suggest it there)."""
    project.registry.stop()  # type: ignore[attr-defined]
    project.write_lock({"left-pad": "1.3.0"})
    first = project.commit("lockfile")
    assert first.returncode == 0, first.stdout + first.stderr
    project.write_lock({"left-pad": "1.3.0", "lodash": "4.17.21"})
    argv = [sys.executable, "-m", "npmguard", "check", "--changed-since", "HEAD"]
    said = _run([*argv, *_readme_ci_args()], project.path, project.env, check=False)
    assert said.returncode == 0, said.stdout + said.stderr
    assert "NOT CHECKED" in said.stdout and "--lockfile-only" in said.stdout
    assert "known-malicious" in said.stdout and "security-holder" in said.stdout
    offline = _run([*argv, "--offline"], project.path, project.env, check=False)
    assert offline.returncode == 3, offline.stdout + offline.stderr
    second = project.commit("add lodash")
    assert second.returncode == 0, second.stdout + second.stderr
    _tamper(project)
    refused = project.commit("tamper")
    assert refused.returncode != 0 and "lock-insecure-url" in refused.stdout + refused.stderr


def test_readme_rev_placeholder_is_pinned_by_autoupdate(
    tmp_path: Path, hook_source: HookSource
) -> None:
    """README's `rev:` is a placeholder that `pre-commit autoupdate` replaces with a commit."""
    import yaml

    block = _readme_hook_blocks()[0]
    repo = yaml.safe_load(block)["repos"][0]
    assert not re.fullmatch(r"[0-9a-f]{40}", str(repo["rev"]))  # a placeholder, not a fake SHA
    scratch = init_repo(tmp_path / "scratch")
    config = block.replace(repo["repo"], hook_source.repo.as_uri())
    (scratch / ".pre-commit-config.yaml").write_text(config)
    _run(
        [sys.executable, "-m", "pre_commit", "autoupdate"],
        scratch,
        {"PRE_COMMIT_HOME": hook_source.pre_commit_home},
    )
    pinned = yaml.safe_load((scratch / ".pre-commit-config.yaml").read_text())
    rev = pinned["repos"][0]["rev"]
    assert rev == hook_source.rev or rev in git(hook_source.repo, "tag").split(), rev
