"""Bun's text lockfile ``bun.lock`` (lockfileVersion 0 to 2), read as bun reads it.

The file is JSON with trailing commas (bun also accepts comments). ``workspaces`` gives each
workspace's own dependencies by kind; ``packages`` maps an install path to an array whose
first item is ``name@resolution``:

- registry: ``["name@1.0.0", registry, info, integrity]`` (``registry`` empty for the default
  one; else its URL, from which the tarball URL follows);
- ``["name@workspace:path"]``, ``["name@link:path", info]``: the project's own folders (LINK);
- ``["name@file:path", info]``: a local folder or tarball;
- ``["name@https://…tgz", info, integrity]``: a remote tarball;
- ``["name@git+…", info, tag]``, ``["name@github:user/repo#ref", info, tag]``: git.

The key is the install path: ``a`` is hoisted, ``a/b`` is ``b`` nested under ``a`` (its
last part is the folder, so an alias installs as ``"alias": ["real@1.0.0", …]``). A package's
dependencies resolve the way node finds them from that folder: nested first, then upward.
The dev/optional flags follow from the workspaces' dependency kinds; bun records no install
scripts (``trustedDependencies`` is a policy, not a fact), so that stays unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from npmguard.errors import LockfileError
from npmguard.lockfile.descriptors import classify_url, is_git_spec, split_descriptor
from npmguard.lockfile.graph import Edge, Entry, Root, build_packages
from npmguard.lockfile.yamlfile import decode
from npmguard.model import Lockfile, SourceKind

SUPPORTED_VERSIONS = (0, 1, 2)
HINT = "run `bun install --lockfile-only` to rewrite the lockfile"
BINARY_MAGIC = b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n"
# strings are kept; comments and the comma before a closing bracket go (bun writes the commas)
_JSONC = re.compile(r'("(?:[^"\\\n]|\\.)*")|//[^\n]*|/\*[\s\S]*?\*/|,(\s*[}\]])')
_PACKAGE_KEY = re.compile(r'^\s*"((?:[^"\\\n]|\\.)*)":\s*\[', re.MULTILINE)
_CONFLICT = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)
_BUN_WORKSPACES = re.compile(rb'"workspaces"\s*:\s*\{\s*""\s*:')
_ROOT_FIELDS = (
    ("dependencies", False, False),
    ("optionalDependencies", False, True),
    ("peerDependencies", False, False),
    ("devDependencies", True, False),
)


FINDS_LINES_LATER = False  # its lines come with reading it


def sniff(data: bytes) -> bool:
    """Whether ``data`` looks like a bun lockfile: the text one, or the binary ``bun.lockb``."""
    if data.startswith(BINARY_MAGIC[:18]):
        return True
    # bun's `workspaces` is an object whose first key is the root "" (npm's is a list)
    return data[:512].lstrip().startswith(b"{") and _BUN_WORKSPACES.search(data[:4096]) is not None


def parse(
    data: bytes, path: Path, display_name: str | None = None, *, lines: bool = True
) -> Lockfile:
    """Read a ``bun.lock``; errors start with ``display_name`` (default: ``path``).
    ``lines=False`` leaves every entry's line unknown (no pass over the text to find them)."""
    name = display_name or str(path)
    if data.startswith(BINARY_MAGIC[:18]):
        raise LockfileError(
            f"{name}: this is Bun's binary lockfile (bun.lockb), which npmguard cannot read",
            hint=(
                "have bun write the text lockfile (bun 1.2 and later): `bun install "
                "--save-text-lockfile --frozen-lockfile --lockfile-only`, then check bun.lock"
            ),
        )
    doc = _load(data, name)
    version = doc.get("lockfileVersion")
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise LockfileError(
            f"{name}: unsupported lockfileVersion {json.dumps(version)}; npmguard reads 0 to 2",
            hint="a newer bun wrote this file: update npmguard"
            if isinstance(version, int) and version > max(SUPPORTED_VERSIONS)
            else HINT,
        )
    workspaces = _object(doc.get("workspaces", {}), name, "workspaces")
    packages = _object(doc.get("packages", {}), name, "packages")
    text = decode(data, name, HINT)
    reader = _Reader(name, packages, _key_lines(text) if lines else {})
    roots = reader.read(workspaces)
    root = workspaces.get("")
    return Lockfile(
        path=path,
        format=f"bun-v{version}",
        lockfile_version=int(version),
        packages=build_packages(reader.entries.values(), roots),
        root_name=root.get("name") if isinstance(root, dict) else None,
    )


def _load(data: bytes, name: str) -> dict[str, Any]:
    text = decode(data, name, HINT)
    if not text or text.isspace():
        raise LockfileError(f"{name}: empty file, expected a JSON object", hint=HINT)
    conflict = _CONFLICT.search(text) if "<<<<<<<" in text or ">>>>>>>" in text else None
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        raise LockfileError(
            f"{name}: unresolved merge conflict (`{conflict.group(1)}`) at line {line}", hint=HINT
        )
    from npmguard.jsontext import JsonError, loads

    try:
        doc = loads(_JSONC.sub(r"\1\2", text), unique_keys=True)
    except json.JSONDecodeError as e:
        raise LockfileError(
            f"{name}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", hint=HINT
        ) from e
    except JsonError as e:  # nested too deeply, NaN, a key given twice (bun keeps the first)
        raise LockfileError(f"{name}: not valid JSON: {e}", hint=HINT) from e
    if not isinstance(doc, dict):
        raise LockfileError(f"{name}: expected a JSON object at the top level", hint=HINT)
    return doc


def _object(value: object, name: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LockfileError(f"{name}: {where}: expected an object", hint=HINT)
    return value


def _key_lines(text: str) -> dict[str, int]:
    """Line of every ``"key": [`` (the package entries), one regex pass."""
    found: dict[str, int] = {}
    line, pos = 1, 0
    for m in _PACKAGE_KEY.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        raw = m.group(1)
        key = _key(raw) if "\\" in raw else raw
        found.setdefault(key, line + m.group(0).count("\n", 0, m.group(0).index('"')))
    return found


def _key(raw: str) -> str:
    """A key as the reader decoded it (lone surrogates replaced, as in the document)."""
    from npmguard.jsontext import loads

    try:
        key = loads(f'"{raw}"')
    except ValueError:
        return raw
    return key if isinstance(key, str) else raw


def _segments(key: str) -> list[str]:
    """``a/@s/b/c`` -> ``["a", "@s/b", "c"]``: the package folders of an install path."""
    parts = key.split("/")
    out: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i].startswith("@") and i + 1 < len(parts):
            out.append(f"{parts[i]}/{parts[i + 1]}")
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


class _Reader:
    def __init__(self, name: str, packages: Mapping[str, Any], lines: Mapping[str, int]) -> None:
        self.name = name
        self.packages = packages
        self.lines = lines
        self.entries: dict[str, Entry] = {}
        self.info: dict[str, Mapping[str, Any]] = {}

    def read(self, workspaces: Mapping[str, Any]) -> list[Root]:
        for key, raw in self.packages.items():
            self.entries[key] = self._entry(key, raw, workspaces)
        for key, entry in self.entries.items():
            info = self.info.get(key, {})
            optional_peers = set(info.get("optionalPeers") or ())
            for fld in ("dependencies", "optionalDependencies", "peerDependencies"):
                for dep, spec in self._deps(info, fld, f"packages[{key!r}]"):
                    entry.dependencies.setdefault(dep, spec)
                    target = self._resolve(_segments(key), dep)
                    optional = fld == "optionalDependencies" or dep in optional_peers
                    if target is not None and target != key:
                        entry.edges.append(Edge(target, optional))
        roots: list[Root] = []
        for folder, raw in workspaces.items():
            workspace = _object(raw, self.name, f"workspaces[{folder!r}]")
            ws_name = workspace.get("name")
            home = _segments(ws_name) if folder and isinstance(ws_name, str) else []
            link = ws_name if home and ws_name in self.entries else None
            if link is not None:
                roots.append(Root(link))
            for fld, dev, optional in _ROOT_FIELDS:
                for dep, spec in self._deps(workspace, fld, f"workspaces[{folder!r}]"):
                    target = self._resolve(home, dep)
                    if target is None:
                        continue
                    roots.append(Root(target, dev, optional))
                    if link is not None and not dev:
                        self.entries[link].edges.append(Edge(target, optional))
                        self.entries[link].dependencies.setdefault(dep, spec)
        return roots

    def _resolve(self, folders: list[str], dep: str) -> str | None:
        """The install path node would find ``dep`` at from the folder ``folders``."""
        for depth in range(len(folders), -1, -1):
            candidate = "/".join([*folders[:depth], dep])
            if candidate in self.packages:
                return candidate
        return None

    def _deps(self, info: Mapping[str, Any], fld: str, where: str) -> Iterator[tuple[str, str]]:
        value = info.get(fld)
        if value is None:
            return
        if not isinstance(value, dict):
            raise LockfileError(f"{self.name}: {where}.{fld}: expected an object", hint=HINT)
        for dep, spec in value.items():
            if isinstance(spec, str):
                yield dep, spec

    def _entry(self, key: str, raw: object, workspaces: Mapping[str, Any]) -> Entry:
        where = f"{self.name}: packages[{key!r}]"
        if not isinstance(raw, list) or not raw or not isinstance(raw[0], str):
            raise LockfileError(
                f'{where}: expected an array starting with "name@version"', hint=HINT
            )
        real, spec = split_descriptor(raw[0])
        if not real or not spec:
            raise LockfileError(f"{where}: {raw[0]!r} is not name@version", hint=HINT)
        rest = raw[1:]
        info: Any = {}
        resolved = integrity = None
        version = spec
        if spec.startswith(("workspace:", "link:", "root:")):
            source = SourceKind.LINK
            folder = spec.partition(":")[2]
            workspace = workspaces.get(folder) if spec.startswith("workspace:") else None
            version = str(workspace.get("version", "")) if isinstance(workspace, dict) else ""
            info = rest[0] if rest else {}
            resolved = spec
        elif spec.startswith("file:") or is_git_spec(spec) or spec.startswith("http"):
            source = SourceKind.FILE if spec.startswith("file:") else classify_url(spec)
            if is_git_spec(spec):
                source = SourceKind.GIT
            info = rest[0] if rest else {}
            resolved = spec
            last = rest[1] if len(rest) > 1 else None
            if source in (SourceKind.TARBALL, SourceKind.REGISTRY) and isinstance(last, str):
                integrity = last or None
        else:  # the registry: [name@version, registry, info, integrity]
            source = SourceKind.REGISTRY
            registry = rest[0] if rest else ""
            info = rest[1] if len(rest) > 1 else {}
            integrity = rest[2] if len(rest) > 2 and isinstance(rest[2], str) else None
            if isinstance(registry, str) and registry:
                base = real.rpartition("/")[2]
                resolved = f"{registry.rstrip('/')}/{real}/-/{base}-{spec}.tgz"
        if not isinstance(info, dict):
            raise LockfileError(f"{where}: the package info must be an object", hint=HINT)
        self.info[key] = info
        return Entry(
            id=key,
            name=real,
            version=version,
            source=source,
            path=key,
            installed_as=_segments(key)[-1],
            resolved=resolved,
            integrity=integrity or None,
            line=self.lines.get(key),
        )
