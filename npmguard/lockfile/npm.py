"""npm lockfiles: ``package-lock.json`` v1/v2/v3, ``npm-shrinkwrap.json`` and the hidden
``node_modules/.package-lock.json``, read the way npm reads them.

v2/v3 files are read from ``packages`` (the ``dependencies`` section of v2 is a copy for old
npm versions and is ignored); v1 files from the nested ``dependencies``. Every entry becomes an
``Occurrence``; occurrences are grouped into one ``LockedPackage`` per real name, version and
source kind. v1 entries get the same ``node_modules/a/node_modules/b`` paths as v2 keys, so
both versions resolve dependencies the same way and compare across a migration.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npmguard.errors import LockfileError
from npmguard.model import LockedPackage, Lockfile, Occurrence, SourceKind
from npmguard.urls import registry_tarball_name

SUPPORTED_VERSIONS = (1, 2, 3)

_FLAGS = (
    "dev",
    "optional",
    "devOptional",
    "peer",
    "inBundle",
    "bundled",
    "link",
    "hasInstallScript",
    "extraneous",
)
_DEP_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")
_GIT_PREFIXES = ("git+", "git://", "github:", "gitlab:", "bitbucket:", "gist:")
_SEMVER = re.compile(
    r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$",
)
# a line that opens an object under a key: `    "node_modules/x": {`
_OBJECT_KEY = re.compile(r'^([ \t]*)"((?:[^"\\\n]|\\.)*)"[ \t]*:[ \t]*\{', re.MULTILINE)
_CONFLICT = re.compile(r"^<<<<<<< ", re.MULTILINE)
_TARBALL_SUFFIXES = (".tgz", ".tar.gz", ".tar")


def parse(data: bytes, path: Path, display_name: str | None = None) -> Lockfile:
    """Read an npm lockfile's bytes. ``display_name`` (default: ``path``) starts error messages."""
    name = display_name or str(path)
    doc = _load_json(data, name)
    version = doc.get("lockfileVersion")
    if version is None:  # npm 5 files before lockfileVersion existed, and hand-made ones
        version = 2 if "packages" in doc else 1
    if isinstance(version, bool) or not isinstance(version, int):
        raise LockfileError(
            f"{name}: lockfileVersion: expected a number, found {_kind(version)}",
            hint="the file is damaged; regenerate it with `npm install --package-lock-only`",
        )
    if version not in SUPPORTED_VERSIONS:
        raise LockfileError(
            f"{name}: unsupported lockfileVersion {version}; npmguard reads 1, 2 and 3",
            hint=(
                "a newer npm wrote this file: update npmguard"
                if version > max(SUPPORTED_VERSIONS)
                else "regenerate it with `npm install --package-lock-only`"
            ),
        )
    lines = _KeyLines(data)
    reader = _Reader(name, lines)
    if version >= 2 and "packages" in doc:
        reader.read_packages(_object(doc["packages"], name, "packages"))
    else:
        reader.read_v1(doc)
    root = doc.get("packages", {}).get("") if version >= 2 else None
    root_name = _opt_str(root, "name") if isinstance(root, dict) else None
    root_version = _opt_str(root, "version") if isinstance(root, dict) else None
    return Lockfile(
        path=path,
        format=_format_name(path, version),
        lockfile_version=version,
        packages=reader.packages(),
        root_name=root_name or _opt_str(doc, "name"),
        root_version=root_version or _opt_str(doc, "version"),
    )


def _format_name(path: Path, version: int) -> str:
    if path.name == "npm-shrinkwrap.json":
        return f"npm-shrinkwrap-v{version}"
    if path.name == ".package-lock.json":
        return f"npm-hidden-v{version}"
    return f"npm-v{version}"


def _load_json(data: bytes, name: str) -> dict[str, Any]:
    hint = "the file is damaged; regenerate it with `npm install --package-lock-only`"
    if not data.strip():
        raise LockfileError(f"{name}: empty file, expected a JSON object", hint=hint)
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        conflict = _CONFLICT.search(e.doc)
        if conflict:
            line = e.doc.count("\n", 0, conflict.start()) + 1
            raise LockfileError(
                f"{name}: not valid JSON: unresolved merge conflict (`<<<<<<<`) at line {line}",
                hint="resolve the conflict; `npm install --package-lock-only` can do it for you",
            ) from e
        what = "unexpected end of file" if not e.doc[e.pos :].strip() else e.msg
        raise LockfileError(
            f"{name}: not valid JSON: {what} at line {e.lineno} column {e.colno}", hint=hint
        ) from e
    except UnicodeDecodeError as e:
        raise LockfileError(
            f"{name}: not valid JSON: not UTF-8 text ({e.reason})", hint=hint
        ) from e
    if not isinstance(doc, dict):
        raise LockfileError(
            f"{name}: expected a JSON object at the top level, found {_kind(doc)}", hint=hint
        )
    return doc


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _object(value: object, name: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LockfileError(
            f"{name}: {where}: expected an object, found {_kind(value)}", hint=_REGEN
        )
    return value


def _opt_str(entry: Mapping[str, Any], key: str) -> str | None:
    """A string field; npm 6 sometimes wrote ``""`` or ``false`` for "none", read as absent."""
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


class _KeyLines:
    """Line numbers of the keys that open objects, by their path of keys from the top.

    One regex pass over the text (npm writes one key per line); a stack of indentations
    gives each key its parents. Minified files simply get no line numbers.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._lines: dict[tuple[str, ...], int] | None = None

    def line(self, *keys: str) -> int | None:
        if self._lines is None:
            self._lines = self._scan(self._data.decode("utf-8", errors="replace"))
        return self._lines.get(keys)

    @staticmethod
    def _scan(text: str) -> dict[tuple[str, ...], int]:
        found: dict[tuple[str, ...], int] = {}
        stack: list[tuple[int, str]] = []
        line, pos = 1, 0
        for m in _OBJECT_KEY.finditer(text):
            line += text.count("\n", pos, m.start())
            pos = m.start()
            indent = len(m.group(1))
            raw = m.group(2)
            key = json.loads(f'"{raw}"') if "\\" in raw else raw
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key))
            found.setdefault(tuple(k for _, k in stack), line)
        return found


@dataclass
class _Entry:
    """One lockfile entry, checked and normalised, before grouping."""

    path: str  # node_modules/a/node_modules/b, or a workspace folder
    name: str
    version: str
    source: SourceKind
    occurrence: Occurrence
    has_install_script: bool | None = None  # None: v1 files do not record it
    license: str | None = None
    dependencies: dict[str, str] = field(default_factory=dict)
    optional_names: frozenset[str] = frozenset()  # optional and peer: only if in the tree
    link_target: str | None = None


class _Reader:
    def __init__(self, name: str, lines: _KeyLines) -> None:
        self.name = name
        self.lines = lines
        self.entries: dict[str, _Entry] = {}  # by path

    # -- v2 / v3 ---------------------------------------------------------------------------

    def read_packages(self, packages: dict[str, Any]) -> None:
        targets: dict[str, str] = {}  # link target folder -> folder name of the link
        for key, raw in packages.items():
            where = f"packages[{json.dumps(key)}]"
            entry = _object(raw, self.name, where)
            self._check_types(entry, where)
            if entry.get("link") and isinstance(entry.get("resolved"), str):
                targets.setdefault(entry["resolved"], _folder_name(key))
        for key, entry in packages.items():
            if key == "":
                continue
            where = f"packages[{json.dumps(key)}]"
            line = self.lines.line("packages", key)
            if _is_installed(key):
                self.entries[key] = self._installed_v2(key, entry, where, line, key in targets)
            else:  # a workspace or `file:` folder: the target of a link
                installed_as = targets.get(key) or key.rsplit("/", 1)[-1]
                self.entries[key] = self._folder(key, entry, installed_as, line)
        # links take their name and version from the folder they point at
        for e in self.entries.values():
            if e.link_target is None:
                continue
            target = self.entries.get(e.link_target)
            if target is not None:
                e.name, e.version = target.name, target.version
                e.dependencies = target.dependencies
                e.optional_names = target.optional_names

    def _installed_v2(
        self, key: str, entry: dict[str, Any], where: str, line: int | None, is_target: bool
    ) -> _Entry:
        installed_as = _folder_name(key)
        resolved = _opt_str(entry, "resolved")
        occ = Occurrence(
            path=key,
            installed_as=installed_as,
            resolved=resolved,
            integrity=_opt_str(entry, "integrity"),
            line=line,
            dev=bool(entry.get("dev")),
            optional=bool(entry.get("optional")),
            dev_optional=bool(entry.get("devOptional")),
            peer=bool(entry.get("peer")),
            bundled=bool(entry.get("inBundle")),
        )
        real_name = _opt_str(entry, "name") or installed_as
        if entry.get("link"):
            return _Entry(key, real_name, "", SourceKind.LINK, occ, link_target=resolved)
        version = _opt_str(entry, "version")
        if version is None:
            if is_target:
                return self._folder(key, entry, installed_as, line)
            raise LockfileError(f'{self.name}: {where}: missing "version"', hint=_REGEN)
        deps, optional_names = _edges(entry)
        return _Entry(
            key,
            real_name,
            version,
            _classify(resolved, version),
            occ,
            has_install_script=bool(entry.get("hasInstallScript")),
            license=_opt_str(entry, "license"),
            dependencies=deps,
            optional_names=optional_names,
        )

    def _folder(
        self, key: str, entry: dict[str, Any], installed_as: str, line: int | None
    ) -> _Entry:
        deps, optional_names = _edges(entry)
        occ = Occurrence(
            path=key,
            installed_as=_opt_str(entry, "name") or installed_as,
            resolved=None,
            integrity=None,
            line=line,
            dev=bool(entry.get("dev")),
            optional=bool(entry.get("optional")),
            dev_optional=bool(entry.get("devOptional")),
            peer=bool(entry.get("peer")),
        )
        return _Entry(
            key,
            _opt_str(entry, "name") or installed_as,
            _opt_str(entry, "version") or "",
            SourceKind.LINK,
            occ,
            has_install_script=bool(entry.get("hasInstallScript")),
            license=_opt_str(entry, "license"),
            dependencies=deps,
            optional_names=optional_names,
        )

    def _check_types(self, entry: dict[str, Any], where: str, *, v1: bool = False) -> None:
        for key in ("version", "resolved", "integrity", "name"):
            value = entry.get(key)
            if value is False and key in ("resolved", "integrity"):
                continue  # npm 6 wrote `"resolved": false` for some nested entries; npm skips it
            if value is not None and not isinstance(value, str):
                raise LockfileError(
                    f"{self.name}: {where}.{key}: expected a string, found {_kind(value)}",
                    hint=_REGEN,
                )
        for key in _FLAGS:
            value = entry.get(key)
            if value is not None and not isinstance(value, bool):
                raise LockfileError(
                    f"{self.name}: {where}.{key}: expected true or false, found {_kind(value)}",
                    hint=_REGEN,
                )
        for key in ("requires",) if v1 else _DEP_FIELDS:
            value = entry.get(key)
            if value is None or (key == "requires" and isinstance(value, bool)):
                continue
            deps = _object(value, self.name, f"{where}.{key}")
            for dep, spec in deps.items():
                if not isinstance(spec, str):
                    raise LockfileError(
                        f"{self.name}: {where}.{key}[{json.dumps(dep)}]: expected a string, "
                        f"found {_kind(spec)}",
                        hint=_REGEN,
                    )

    # -- v1 --------------------------------------------------------------------------------

    def read_v1(self, doc: dict[str, Any]) -> None:
        deps = doc.get("dependencies")
        if deps is None:
            return
        self._walk_v1(_object(deps, self.name, "dependencies"), "", ("dependencies",), "")

    def _walk_v1(
        self, deps: dict[str, Any], parent: str, keys: tuple[str, ...], where_parent: str
    ) -> None:
        for folder, raw in deps.items():
            where = f"{where_parent}dependencies[{json.dumps(folder)}]"
            entry = _object(raw, self.name, where)
            self._check_types(entry, where, v1=True)
            path = f"{parent}node_modules/{folder}"
            version = _opt_str(entry, "version")
            if version is None:
                raise LockfileError(f'{self.name}: {where}: missing "version"', hint=_REGEN)
            resolved = _opt_str(entry, "resolved")
            name = folder
            if version.startswith("npm:"):  # an alias: npm:real-name@version
                name, _, version = version[4:].rpartition("@")
                if not name:
                    raise LockfileError(
                        f"{self.name}: {where}.version: alias {entry['version']!r} has no version"
                    )
            source = _classify(resolved, version)
            if source is SourceKind.FILE and not version.endswith(_TARBALL_SUFFIXES):
                source = SourceKind.LINK  # a `file:` folder: npm links it
            requires = entry.get("requires")
            occ = Occurrence(
                path=path,
                installed_as=folder,
                resolved=resolved,
                integrity=_opt_str(entry, "integrity"),
                line=self.lines.line(*keys, folder),
                dev=bool(entry.get("dev")),
                optional=bool(entry.get("optional")),
                bundled=bool(entry.get("bundled")),
            )
            self.entries[path] = _Entry(
                path,
                name,
                version,
                source,
                occ,
                dependencies=dict(requires) if isinstance(requires, dict) else {},
            )
            nested = entry.get("dependencies")
            if nested is not None:
                self._walk_v1(
                    _object(nested, self.name, f"{where}.dependencies"),
                    f"{path}/",
                    (*keys, folder, "dependencies"),
                    f"{where}.",
                )

    # -- grouping and edges ----------------------------------------------------------------

    def packages(self) -> tuple[LockedPackage, ...]:
        groups: dict[tuple[str, str, SourceKind], list[_Entry]] = defaultdict(list)
        for e in self.entries.values():
            groups[(e.name, e.version, e.source)].append(e)
        key_of = {path: f"{e.name}@{e.version}" for path, e in self.entries.items()}
        requires: dict[str, set[str]] = defaultdict(set)
        dependents: dict[str, set[str]] = defaultdict(set)
        specs: dict[str, dict[str, str]] = defaultdict(dict)
        for path, e in self.entries.items():
            me = key_of[path]
            for dep, spec in e.dependencies.items():
                found = self._resolve(path, dep)
                if found is None:
                    if dep not in e.optional_names:
                        specs[me].setdefault(dep, spec)
                    continue
                specs[me].setdefault(dep, spec)
                target = key_of[found]
                if target != me:
                    requires[me].add(target)
                    dependents[target].add(me)
        out = []
        for (name, version, source), entries in groups.items():
            key = f"{name}@{version}"
            out.append(
                LockedPackage(
                    name=name,
                    version=version,
                    source=source,
                    occurrences=tuple(e.occurrence for e in entries),
                    has_install_script=_any_known(e.has_install_script for e in entries),
                    dependencies=dict(sorted(specs[key].items())),
                    dependents=tuple(sorted(dependents[key])),
                    requires=tuple(sorted(requires[key])),
                    license=next((e.license for e in entries if e.license), None),
                )
            )
        out.sort(key=lambda p: (p.name, p.version, p.source.value))
        return tuple(out)

    def _resolve(self, path: str, dep: str) -> str | None:
        """The entry node's resolution finds for ``require(dep)`` from the folder ``path``."""
        entry = self.entries.get(path)
        start = entry.link_target if entry and entry.link_target else path
        for folder in _ancestors(start):
            candidate = f"{folder}/node_modules/{dep}" if folder else f"node_modules/{dep}"
            if candidate in self.entries:
                return candidate
        return None


_REGEN = "regenerate the lockfile with `npm install --package-lock-only`"


def _any_known(flags: Iterable[bool | None]) -> bool | None:
    """True if any is true; else unknown (None) if any is unknown; else False."""
    seen = list(flags)
    if any(seen):
        return True
    return None if None in seen else False


def _ancestors(path: str) -> Iterator[str]:
    """``path`` and the folders above it, skipping ``node_modules`` folders themselves."""
    yield path
    while path:
        path = path.rpartition("/")[0]
        if path.rpartition("/")[2] != "node_modules":
            yield path


def _is_installed(key: str) -> bool:
    return key.startswith("node_modules/") or "/node_modules/" in key


def _folder_name(key: str) -> str:
    """The folder a package is installed as: the part after the last ``node_modules/``."""
    return key.rpartition("node_modules/")[2] if "node_modules/" in key else key


def _edges(entry: Mapping[str, Any]) -> tuple[dict[str, str], frozenset[str]]:
    deps: dict[str, str] = {}
    optional: set[str] = set()
    for fld in _DEP_FIELDS:
        value = entry.get(fld)
        if isinstance(value, dict):
            for dep, spec in value.items():
                deps.setdefault(dep, spec)
                if fld != "dependencies":
                    optional.add(dep)
    return deps, frozenset(optional)


def _classify(resolved: str | None, version: str) -> SourceKind:
    """Where the code of an entry comes from, as npm would fetch it."""
    spec = resolved or version
    lower = spec.lower()
    if lower.startswith(_GIT_PREFIXES):
        return SourceKind.GIT
    if lower.startswith("file:"):
        return SourceKind.FILE
    if lower.startswith(("http://", "https://")):
        if registry_tarball_name(spec) is not None and lower.split("?", 1)[0].endswith(".tgz"):
            return SourceKind.REGISTRY
        return SourceKind.TARBALL
    if resolved is None and _SEMVER.match(version):
        return SourceKind.REGISTRY  # no resolved: npm fetches name@version from the registry
    return SourceKind.FILE


__all__ = ["SUPPORTED_VERSIONS", "parse"]


def sniff(data: bytes) -> bool:
    """Whether ``data`` looks like an npm lockfile: a JSON object naming a lockfile field."""
    head = data[:4096].lstrip()
    return head[:1] == b"{" and any(
        key in head for key in (b'"lockfileVersion"', b'"packages"', b'"dependencies"')
    )
