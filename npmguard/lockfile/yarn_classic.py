"""Yarn classic lockfiles (``# yarn lockfile v1``), read as yarn 1 reads them.

The syntax is yarn's own (not YAML): top-level entries keyed by one or more descriptors
(``"a@^1.0.0", a@^1.2.0:``), two-space indentation, ``field "value"`` pairs and nested
``dependencies:`` maps. Strings are quoted the JSON way. We parse it ourselves: of the Python
parsers on PyPI, ``yarnlock`` merges every entry of a package name into one (losing all but one
version, and mangling multi-descriptor keys) and ``pyarn`` is GPL-3.0 and gives no line numbers;
this one reads every key and field of the real lockfiles in the shared data exactly as yarn's
own parser (``@yarnpkg/lockfile``) does (tests/lockfile/test_pm_oracles.py, which also
compares the packages with ``yarn list``).

An entry's real name comes from its descriptors (``alias@npm:real@^1`` installs ``real`` under
``alias``); ``integrity`` is SSRI as written, or, in files from yarn before 1.10, the SHA-1
after ``#`` in a registry ``resolved`` URL, turned into ``sha1-…``. Yarn classic lockfiles do
not record which workspace depends on what, nor install scripts: every entry counts as
production and ``has_install_script`` is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npmguard.errors import LockfileError
from npmguard.jsontext import loads
from npmguard.lockfile.descriptors import (
    classify_url,
    is_git_spec,
    sha1_integrity,
    split_descriptor,
)
from npmguard.lockfile.graph import Edge, Entry, build_packages
from npmguard.model import Lockfile, SourceKind

HINT = "run `yarn install` to rewrite the lockfile"
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_UNQUOTED = re.compile(r"[^\s:,]+")
_CONFLICT = ("<<<<<<<", "=======", ">>>>>>>")


@dataclass
class RawEntry:
    """One top-level entry as written: its descriptors, fields and line."""

    keys: tuple[str, ...]
    fields: dict[str, Any] = field(default_factory=dict)
    line: int = 0


def parse_syntax(text: str, name: str) -> list[RawEntry]:
    """Yarn v1 lockfile text -> entries; :class:`LockfileError` with the line on bad syntax."""
    entries: list[RawEntry] = []
    stack: list[tuple[int, dict[str, Any]]] = []  # (indent, mapping being filled)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if line.startswith(_CONFLICT):
            raise LockfileError(
                f"{name}: unresolved merge conflict (`{line[:7]}`) at line {number}",
                hint="run `yarn install`: yarn resolves lockfile conflicts itself",
            )
        indent = len(line) - len(stripped)
        if stripped[0] == "\t" or indent % 2:
            raise LockfileError(
                f"{name}: line {number}: indentation must be two spaces per level", hint=HINT
            )
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if indent != (stack[-1][0] + 2 if stack else 0):
            raise LockfileError(f"{name}: line {number}: unexpected indentation", hint=HINT)
        body = stripped.rstrip()
        if body.endswith(":"):
            keys = _keys(body[:-1], name, number)
            child: dict[str, Any] = {}
            if not stack:
                entry = RawEntry(keys, child, number)
                entries.append(entry)
            else:
                stack[-1][1][keys[0]] = child
            stack.append((indent, child))
            continue
        if not stack:
            raise LockfileError(
                f"{name}: line {number}: expected an entry (`name@range:`), found a value",
                hint=HINT,
            )
        key, value = _pair(body, name, number)
        stack[-1][1][key] = value
    return entries


def _token(text: str, pos: int, name: str, number: int) -> tuple[str, int]:
    """One quoted or unquoted string starting at ``pos``: (value, end)."""
    if text.startswith('"', pos):
        m = _QUOTED.match(text, pos)
        if m is None:
            raise LockfileError(f"{name}: line {number}: unterminated string", hint=HINT)
        try:
            value: str = loads(m.group(0))  # a lone surrogate escape becomes U+FFFD
            return value, m.end()
        except ValueError as e:
            raise LockfileError(f"{name}: line {number}: bad string escape", hint=HINT) from e
    m = _UNQUOTED.match(text, pos)
    if m is None:
        raise LockfileError(f"{name}: line {number}: expected a key", hint=HINT)
    return m.group(0), m.end()


def _keys(text: str, name: str, number: int) -> tuple[str, ...]:
    keys: list[str] = []
    pos = 0
    while True:
        key, pos = _token(text, pos, name, number)
        keys.append(key)
        rest = text[pos:].lstrip(" ")
        if not rest:
            return tuple(keys)
        if rest[0] != ",":
            raise LockfileError(
                f"{name}: line {number}: expected `,` or `:` after {key!r}", hint=HINT
            )
        pos = len(text) - len(rest) + 1
        while pos < len(text) and text[pos] == " ":
            pos += 1


def _pair(text: str, name: str, number: int) -> tuple[str, str | bool]:
    key, pos = _token(text, 0, name, number)
    rest = text[pos:].strip(" ")
    if not rest:
        raise LockfileError(f"{name}: line {number}: {key!r} has no value", hint=HINT)
    if rest[0] == '"':
        value, end = _token(rest, 0, name, number)
        if rest[end:].strip():
            raise LockfileError(
                f"{name}: line {number}: unexpected text after the value of {key!r}", hint=HINT
            )
        return key, value
    if rest in ("true", "false"):
        return key, rest == "true"
    return key, rest


# -- entries -> packages ------------------------------------------------------------------------


def parse(data: bytes, path: Path, name: str, text: str) -> Lockfile:
    """Read a yarn classic lockfile (``text`` is ``data`` decoded)."""
    raws = parse_syntax(text, name)
    by_descriptor: dict[str, str] = {}
    entries: list[Entry] = []
    for raw in raws:
        entry = _entry(raw, name)
        entries.append(entry)
        for key in raw.keys:
            by_descriptor.setdefault(key, entry.id)
    for raw, entry in zip(raws, entries, strict=True):
        for fld, optional in (("dependencies", False), ("optionalDependencies", True)):
            deps = raw.fields.get(fld)
            if deps is None:
                continue
            if not isinstance(deps, dict):
                raise LockfileError(
                    f"{name}: line {raw.line}: {entry.path}: {fld} must be a list of "
                    '`name "range"` lines',
                    hint=HINT,
                )
            for dep, spec in deps.items():
                if not isinstance(spec, str):
                    continue
                entry.dependencies.setdefault(dep, spec)
                target = by_descriptor.get(f"{dep}@{spec}")
                if target is not None:
                    entry.edges.append(Edge(target, optional))
    return Lockfile(
        path=path,
        format="yarn-v1",
        lockfile_version=1,
        packages=build_packages(entries, None),
    )


def _entry(raw: RawEntry, name: str) -> Entry:
    where = f"{name}: line {raw.line}: {', '.join(raw.keys)}"
    version = raw.fields.get("version")
    if not isinstance(version, str) or not version:
        raise LockfileError(f'{where}: missing "version"', hint=HINT)
    for fld in ("resolved", "integrity"):
        value = raw.fields.get(fld)
        if value is not None and not isinstance(value, str):
            raise LockfileError(f"{where}: {fld} must be a string", hint=HINT)
    names: list[str] = []
    real = ""
    specs: list[str] = []
    for key in raw.keys:
        installed, spec = split_descriptor(key)
        if spec.startswith("npm:"):  # an alias: alias@npm:real@range
            target, spec = split_descriptor(spec[4:])
            real = real or target
        else:
            real = real or installed
        names.append(installed)
        specs.append(spec)
    resolved = raw.fields.get("resolved") or None
    integrity = raw.fields.get("integrity") or None
    source = _source(specs, resolved)
    if integrity is None and resolved and source in (SourceKind.REGISTRY, SourceKind.TARBALL):
        _, _, fragment = resolved.partition("#")
        integrity = sha1_integrity(fragment)
    return Entry(
        id=", ".join(raw.keys),
        name=real,
        version=version,
        source=source,
        path=", ".join(raw.keys),
        installed_as=real if real in names else names[0],
        resolved=resolved,
        integrity=integrity,
        line=raw.line,
    )


def _source(specs: list[str], resolved: str | None) -> SourceKind:
    if any(is_git_spec(s) for s in specs):
        return SourceKind.GIT
    spec = specs[0]
    if spec.startswith("link:"):
        return SourceKind.LINK
    if spec.startswith("file:") or (resolved or "").startswith("file:"):
        return SourceKind.FILE
    if resolved or spec.startswith(("http://", "https://")):
        return classify_url(resolved or spec)
    return SourceKind.REGISTRY  # no resolved: yarn fetches name@version from the registry
