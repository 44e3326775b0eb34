"""Helpers for the wrapper tests: a throwaway npm project pointed at a loopback registry."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

NPM = shutil.which("npm")
needs_npm = pytest.mark.skipif(NPM is None, reason="the real npm CLI is not on PATH")

# A postinstall that leaves a marker file next to the project when it runs (appending a
# line per run: a script run twice leaves two lines).
MARKER_SCRIPT = (
    "node -e \"require('fs').appendFileSync(require('path').join(process.env.INIT_CWD,"
    "'MARKER-'+process.env.npm_package_name.replace('/','_')),'ran\\n')\""
)


def root_script(event: str) -> str:
    """A root package.json script that leaves ROOT-<event> in the project when it runs."""
    return f"node -e \"require('fs').appendFileSync('ROOT-{event}','ran\\n')\""


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    registry_url: str
    extra_npmrc: list[str] = field(default_factory=list)

    def write_package_json(self, data: dict[str, Any]) -> None:
        (self.root / "package.json").write_text(json.dumps(data, indent=2) + "\n")

    def write_npmrc(self, *lines: str) -> None:
        body = [f"registry={self.registry_url}", *self.extra_npmrc, *lines]
        (self.root / ".npmrc").write_text("\n".join(body) + "\n")

    def write_policy(self, text: str) -> None:
        (self.root / "npmguard.toml").write_text(text)

    def guard(
        self,
        *args: str,
        tool: str = "npm",
        cwd: Path | None = None,
        input: str | None = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """``npmguard npm ARGS`` (or ``npmguard npx ARGS``) in the project, stdin not a
        terminal."""
        return subprocess.run(
            [sys.executable, "-m", "npmguard", tool, *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )

    def start(
        self, *args: str, guarded: bool = True, tool: str = "npm", cwd: Path | None = None
    ) -> Running:
        """Start ``npmguard npm ARGS`` (or the plain npm) without waiting for it."""
        exe = shutil.which(tool)
        assert exe is not None
        cmd = [sys.executable, "-m", "npmguard", tool, *args] if guarded else [exe, *args]
        proc = subprocess.Popen(
            cmd,
            cwd=cwd or self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return Running(cmd, proc)

    def npm(
        self, *args: str, tool: str = "npm", cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The real npm (or npx), without npmguard."""
        exe = shutil.which(tool)
        assert exe is not None
        return subprocess.run(
            [exe, *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def twin(self, name: str = "twin") -> Project:
        """A copy of the project (files and node_modules) beside it, same registry and
        environment but its own npm cache (npx installs there): run the plain npm there and
        compare."""
        root = self.root.parent / name
        shutil.copytree(self.root, root, symlinks=True)
        env = {**self.env, "npm_config_cache": str(self.root.parent / f"{name}-npm-cache")}
        return Project(root=root, env=env, registry_url=self.registry_url)

    def installed(self, root: Path | None = None) -> dict[str, str]:
        """What npm installed, by location: node_modules/.package-lock.json (npm's own
        record of node_modules), location -> version (links: -> "link:" + target)."""
        hidden = (root or self.root) / "node_modules" / ".package-lock.json"
        if not hidden.is_file():
            return {}
        packages = json.loads(hidden.read_text())["packages"]
        return {
            loc: ("link:" + e["resolved"]) if e.get("link") else e["version"]
            for loc, e in packages.items()
        }

    def files(self, *names: str) -> dict[str, bytes | None]:
        return {
            n: (self.root / n).read_bytes() if (self.root / n).is_file() else None for n in names
        }

    def snapshot(self) -> dict[str, str]:
        """Hashes of every file under the project (node_modules included)."""
        out = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(self.root).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
        return out

    def markers(self) -> list[str]:
        """Dependency scripts that ran (MARKER-<name>) and root scripts (ROOT-<event>)."""
        return sorted(p.name for p in (*self.root.glob("MARKER-*"), *self.root.glob("ROOT-*")))

    def runs(self, marker: str) -> int:
        path = self.root / marker
        return len(path.read_text().splitlines()) if path.is_file() else 0

    def lock(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "package-lock.json").read_text())
        return data


@dataclass
class Running:
    args: list[str]
    proc: subprocess.Popen[str]

    def wait(self, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        out, err = self.proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.args, self.proc.returncode, out, err)


@functools.cache
def _bytecode_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="npmguard-test-pycache-"))


@functools.cache
def _names_store() -> Path:
    """The popular-names store, built once per test session (about 3 s) instead of in every
    test's fresh npmguard cache."""
    from npmguard.names.store import open_store

    store = open_store(Path(tempfile.mkdtemp(prefix="npmguard-test-names-")))
    assert store.path is not None
    return store.path


def make_project(tmp_path: Path, registry_url: str, name: str = "proj") -> Project:
    root = tmp_path / name
    root.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".npmrc").write_text("")
    env = dict(os.environ)
    for key in list(env):
        if key.lower().startswith("npm_config_") or key in ("CI",):
            del env[key]
    env.update(
        {
            "HOME": str(home),
            "npm_config_userconfig": str(home / ".npmrc"),
            "npm_config_cache": str(tmp_path / "npm-cache"),
            # the global prefix too: a global command that got through must not touch the
            # machine's own global packages
            "npm_config_prefix": str(tmp_path / "global-prefix"),
            "npm_config_update_notifier": "false",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
            "npm_config_loglevel": "error",
        }
    )
    env.pop("NPMGUARD_YES", None)
    # npmguard runs several times per test: compile it once per session, outside the tree
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(_bytecode_dir())
    cache = Path(env["NPMGUARD_CACHE_DIR"])  # each test's own (tests/conftest.py)
    cache.mkdir(parents=True, exist_ok=True)
    names = _names_store()
    if not (cache / names.name).exists():
        os.link(names, cache / names.name)
    project = Project(root=root, env=env, registry_url=registry_url)
    project.write_package_json({"name": "proj", "version": "1.0.0", "private": True})
    project.write_npmrc()
    return project


@dataclass
class PtyRun:
    code: int
    output: str  # everything the terminal showed (stdout and stderr), ANSI escapes removed
    raw: str  # as shown, escapes and all


def run_on_pty(
    project: Project,
    args: list[str],
    answers: list[tuple[str, str]],
    *,
    tool: str = "npm",
    timeout: float = 120,
) -> PtyRun:
    """``npmguard npm ARGS`` on a pseudo-terminal: for each (prompt, answer), wait until the
    terminal shows ``prompt`` (after what was shown for the earlier ones), then type
    ``answer``. The child is killed if it runs past ``timeout`` (a prompt never shown)."""
    import pty
    import select
    import signal
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: npmguard with the pty as its terminal
        try:
            os.chdir(project.root)
            os.execve(sys.executable, [sys.executable, "-m", "npmguard", tool, *args], project.env)
        finally:
            os._exit(127)
    output = b""
    pending = list(answers)
    seen = 0  # where the next prompt is looked for
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if pending:
                prompt, answer = pending[0]
                at = output.find(prompt.encode(), seen)
                if at >= 0:
                    seen = at + len(prompt)
                    pending.pop(0)
                    time.sleep(0.1)  # let it switch the terminal to the mode it reads in
                    os.write(fd, answer.encode())
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    import re

    raw = output.decode(errors="replace").replace("\r\n", "\n")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    assert not pending, f"never prompted for {pending[0][0]!r}; the terminal showed:\n{text}"
    return PtyRun(os.waitstatus_to_exitcode(status), text, raw)
