"""npm's own reading of a command line, and npm's own ``allowScripts`` verdicts.

The wrapper never guesses how npm will read a command: ``npm_oracle.js`` loads the code of the
npm installation the wrapper runs (``@npmcli/config``, ``lib/utils/cmd-list.js``,
``bin/npx-cli.js``, arborist's ``script-allowed.js``) and answers with it, reading files only.
That costs one ``node`` start (about 0.2-0.5 s) on the guarded path, never on pass-through.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npmguard.errors import UsageError

ORACLE = Path(__file__).with_name("npm_oracle.js")


class NpmError(UsageError):
    """npm could not answer (not installed where expected, or it rejects the command)."""


@dataclass(frozen=True)
class NpmInstall:
    """The npm the wrapper runs: its installation folder and the node that runs it."""

    root: Path  # the folder holding npm's package.json, lib/ and bin/
    node: str

    @classmethod
    def find(cls) -> NpmInstall:
        from npmguard.registry.npmrc import npm_root
        from npmguard.wrapper.npmrun import npm_executable

        exe = Path(npm_executable("npm")).resolve()
        root = npm_root()
        if root is None:
            raise NpmError(
                f"{exe}: cannot find npm's installation folder next to it",
                hint="set NPMGUARD_NPM to npm's bin/npm-cli.js",
            )
        node = os.environ.get("NPMGUARD_NODE") or shutil.which("node")
        if node is None:
            raise NpmError("node not found on PATH", hint="install Node.js, or set NPMGUARD_NODE")
        return cls(root=root, node=node)

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One question to ``npm_oracle.js``; raises NpmError with npm's message on failure."""
        return self.start(request).answer()

    def start(self, request: Mapping[str, Any]) -> Question:
        """Ask without waiting: node works while npmguard does something else."""
        proc = subprocess.Popen(
            [self.node, str(ORACLE), str(self.root)],
            cwd=request.get("cwd"),  # nopt makes relative paths absolute from here, as npm does
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
        return Question(self.root, proc)


@dataclass(frozen=True)
class Question:
    """A question ``npm_oracle.js`` is working on."""

    root: Path
    proc: subprocess.Popen[str]

    def answer(self) -> dict[str, Any]:
        """npm's answer; raises NpmError with npm's message when it has none."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        code = self.proc.wait()
        try:
            answer = json.loads(out)
        except ValueError:
            answer = {"error": (err.strip() or out.strip())[-2000:]}
        if code != 0 or "error" in answer:
            raise NpmError(
                f"npm {self.root}: {answer.get('error') or 'no answer'}",
                hint="this npm could not read the command; run it without npmguard to see why",
            )
        return dict(answer)


@dataclass(frozen=True)
class NpmCommand:
    """A command line as npm reads it (argv, environment, every .npmrc, the local prefix)."""

    tool: str  # "npm" or "npx", as typed
    argv: tuple[str, ...]  # the arguments as typed (without npmguard's own flags)
    npm_argv: tuple[str, ...]  # what npm parses: npx lines rewritten to `exec … -- …`
    command: str | None  # npm's name for it ("install" for `i`, "init" for `create`)
    args: tuple[str, ...]  # the positional arguments after the command word
    # pack/publish/cache add/diff: each package spec's npm-package-arg type (None: invalid)
    spec_types: Mapping[str, str | None]
    cli: Mapping[str, Any]  # options from the command line, as npm typed them
    values: Mapping[str, Any]  # the effective values (cli, env, .npmrc, defaults) npm acts on
    implicit_workspace: tuple[str, ...]  # workspace npm picks because the cwd is inside it
    is_global: bool
    cwd: Path
    local_prefix: Path
    global_dir: Path  # {prefix}/lib/node_modules
    prefix: Path  # where npm acts: the local prefix, or the global prefix with -g
    npx_cache: Path
    npm_version: str
    install: NpmInstall = field(compare=False)

    @classmethod
    def parse(cls, install: NpmInstall, tool: str, argv: tuple[str, ...], cwd: Path) -> NpmCommand:
        answer = install.ask({"ask": "parse", "tool": tool, "argv": list(argv), "cwd": str(cwd)})
        return cls(
            tool=tool,
            argv=argv,
            npm_argv=tuple(answer["npmArgv"]),
            command=answer["command"],
            args=tuple(answer["args"]),
            spec_types=dict(answer.get("specTypes") or {}),
            cli=dict(answer["cli"]),
            values=dict(answer["values"]),
            implicit_workspace=tuple(answer["implicitWorkspace"] or ()),
            is_global=bool(answer["global"]),
            cwd=cwd,
            local_prefix=Path(answer["localPrefix"]),
            global_dir=Path(answer["globalDir"]),
            prefix=Path(answer["prefix"]),
            npx_cache=Path(answer["npxCache"]),
            npm_version=str(answer["npmVersion"]),
            install=install,
        )

    def flag(self, name: str) -> bool:
        """The effective boolean value of config ``name``."""
        return self.values.get(name) is True

    def given(self, name: str) -> bool:
        """Whether the command line sets ``name`` (to anything)."""
        return name in self.cli

    def options(self, *, drop: frozenset[str] = frozenset()) -> list[str]:
        """The command line's options, rebuilt from npm's parse in canonical long form.

        Values keep npm's typing (paths already absolute), so the options mean the same from
        another working folder. ``drop`` names options to leave out.
        """
        out: list[str] = []
        for key, value in self.cli.items():
            if key in drop or value is None:
                continue
            if value is True:
                out.append(f"--{key}")
            elif value is False:
                out.append(f"--no-{key}")
            elif isinstance(value, list):
                out += [f"--{key}={item}" for item in value]
            else:
                out.append(f"--{key}={value}")
        return out

    def script_verdicts(
        self, tree: Path, *, actual: bool, policy_prefix: Path, exec_context: bool = False
    ) -> ScriptVerdicts:
        """npm's allowScripts verdict for each package of the tree at ``tree``."""
        return self.ask_script_verdicts(
            tree, actual=actual, policy_prefix=policy_prefix, exec_context=exec_context
        ).answer()

    def ask_script_verdicts(
        self, tree: Path, *, actual: bool, policy_prefix: Path, exec_context: bool = False
    ) -> PendingVerdicts:
        """``script_verdicts`` without waiting for the answer."""
        question = self.install.start(
            {
                "ask": "scripts",
                "argv": list(self.npm_argv),
                "cwd": str(self.cwd),
                "tree": str(tree),
                "actual": actual,
                "policyPrefix": str(policy_prefix),
                "exec": exec_context,
            }
        )
        return PendingVerdicts(question)


@dataclass(frozen=True)
class PendingVerdicts:
    question: Question

    def answer(self, *, moved: tuple[Path, Path] | None = None) -> ScriptVerdicts:
        """The verdicts; ``moved`` (from, to) rebases the tree's paths: npm was asked about a
        copy of the folder the packages will be installed in."""
        answer = self.question.answer()

        def place(path: str) -> Path:
            if moved and Path(path).is_relative_to(moved[0]):
                return moved[1] / Path(path).relative_to(moved[0])
            return Path(path)

        nodes = tuple(
            TreeNode(
                location=n["location"],
                path=place(n["path"]),
                realpath=place(n["realpath"] or n["path"]),
                name=n["name"] or "",
                version=n["version"] or "",
                resolved=n["resolved"],
                integrity=n["integrity"],
                has_install_script=n["hasInstallScript"],
                in_bundle=n["inBundle"],
                is_link=n["isLink"],
                is_workspace=n["isWorkspace"],
                npm_verdict=n["verdict"],
            )
            for n in answer["nodes"]
        )
        return ScriptVerdicts(
            nodes=nodes,
            policy_source=answer["policySource"],
            supported=bool(answer["allowScriptsSupported"]),
        )


@dataclass(frozen=True)
class TreeNode:
    """One package folder of a tree, with npm's allowScripts verdict for it."""

    location: str  # "node_modules/a/node_modules/b"
    path: Path
    realpath: Path  # a link's target folder
    name: str
    version: str
    resolved: str | None
    integrity: str | None
    has_install_script: bool
    in_bundle: bool
    is_link: bool
    is_workspace: bool
    npm_verdict: bool | None  # True allowed, False denied, None unreviewed

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class ScriptVerdicts:
    nodes: tuple[TreeNode, ...]
    policy_source: str | None  # "package.json", ".npmrc", "cli" or None (no allowScripts)
    supported: bool  # whether this npm has allowScripts at all
