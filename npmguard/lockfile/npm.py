"""npm lockfiles: ``package-lock.json`` v1/v2/v3, ``npm-shrinkwrap.json`` and the hidden
``node_modules/.package-lock.json``, read the way npm's Arborist reads them (``loadVirtual``).

- ``packages`` is read whenever it is there, whatever ``lockfileVersion`` says (npm ignores the
  ``dependencies`` copy then); a file with only ``dependencies`` is migrated into the same
  shape first, as npm migrates it (:mod:`npmguard.lockfile.npm_v1`).
- An entry's name is its ``name`` field (aliases, workspaces), else the folder it is
  installed in (``node_modules/@a/b`` -> ``@a/b``). Its version is ``version``; git, tarball
  and folder entries may have none (npm writes git entries without one), registry ones may
  not. Its source kind follows from ``resolved`` (else the version spec) as npm-package-arg
  classifies it (:mod:`npmguard.lockfile.sources`).
- A ``link`` entry points at the folder in ``resolved`` (relative to the lockfile's folder,
  normalised as a path) and takes that folder's name, version, flags and dependencies.
- Flags are Arborist's node flags: ``dev``, ``optional``, ``peer``, ``inBundle`` as written,
  ``devOptional`` set whenever dev or optional is; npm's ``--omit`` applies only to entries
  under the project or one of its workspaces (``packages[""].workspaces``).

Every entry becomes an ``Occurrence``; occurrences are grouped into one ``LockedPackage`` per
real name, version and source kind. v1 entries get the same ``node_modules/a/node_modules/b``
locations as v2 keys, so both resolve dependencies the same way and compare across a
migration.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npmguard.errors import LockfileError
from npmguard.lockfile.jsonfile import (
    DEPENDENCY_FIELDS,
    REGENERATE,
    KeyLines,
    as_object,
    check_entry,
    check_v1_tree,
    kind,
    load_json,
    opt_str,
)
from npmguard.lockfile.npm_v1 import migrate
from npmguard.lockfile.sources import classify, name_from_folder
from npmguard.model import LockedPackage, Lockfile, Occurrence, SourceKind

SUPPORTED_VERSIONS = (1, 2, 3)


def parse(
    data: bytes, path: Path, display_name: str | None = None, *, lines: bool = True
) -> Lockfile:
    """Read an npm lockfile's bytes. ``display_name`` (default: ``path``) starts error messages.
    ``lines=False`` leaves every entry's line unknown (no pass over the text to find them)."""
    name = display_name or str(path)
    doc = load_json(data, name)
    version = doc.get("lockfileVersion")
    if version is None:  # npm 5 files before lockfileVersion existed, and hand-made ones
        version = 2 if "packages" in doc else 1
    if isinstance(version, float) and version.is_integer():
        version = int(version)  # 3.0 is 3 to Node, whose numbers are all doubles
    if isinstance(version, bool) or not isinstance(version, int):
        found = f"{version:g}" if isinstance(version, float) else kind(version)
        raise LockfileError(
            f"{name}: lockfileVersion: expected a whole number, found {found}",
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
    key_lines = KeyLines(data)

    def line(*keys: str) -> int | None:
        return key_lines.line(*keys) if lines else None

    reader = _Reader(name)
    root: dict[str, Any] = {}
    kept = None
    if "packages" in doc:  # npm reads `packages` whenever it is there (v1 files included)
        packages = as_object(doc["packages"], name, "packages")
        for key, raw in packages.items():
            check_entry(as_object(raw, name, _where(key)), name, _where(key))
        root = packages.get("") or {}
        reader.read(packages, lambda key: line("packages", key), _where, _workspaces(root))
        if not lines:
            kept = _Kept(doc, key_lines, lambda key: ("packages", key))
    elif doc.get("dependencies") is not None:
        check_v1_tree(doc["dependencies"], name)
        migrated = migrate(doc["dependencies"])
        reader.read(
            migrated.packages,
            lambda key: line(*migrated.keys[key]) if key in migrated.keys else None,
            lambda key: migrated.where.get(key, _where(key)),
            (),
            records_scripts=False,
        )
        if not lines:
            kept = _Kept(doc, key_lines, migrated.keys.get)
    return Lockfile(
        path=path,
        format=_format_name(path, version),
        lockfile_version=version,
        packages=reader.packages(),
        root_name=opt_str(root, "name") or opt_str(doc, "name"),
        root_version=opt_str(root, "version") or opt_str(doc, "version"),
        kept=kept,
    )


@dataclass(frozen=True)
class _Kept:
    """What :func:`parse` without lines keeps (``Lockfile.kept``); ``keys_of`` gives an
    entry's path of keys in the file (``packages``, or a migrated v1 tree's)."""

    document: Mapping[str, Any]
    key_lines: KeyLines
    keys_of: Callable[[str], tuple[str, ...] | None]

    def lines(self, paths: Collection[str]) -> dict[str, int]:
        wanted = {path: keys for path in paths if (keys := self.keys_of(path)) is not None}
        found = self.key_lines.lines_for(set(wanted.values()))
        return {path: found[keys] for path, keys in wanted.items() if keys in found}


def _where(key: str) -> str:
    plain = key.isascii() and key.isprintable() and '"' not in key and "\\" not in key
    return f'packages["{key}"]' if plain else f"packages[{json.dumps(key)}]"


def _format_name(path: Path, version: int) -> str:
    if path.name == "npm-shrinkwrap.json":
        return f"npm-shrinkwrap-v{version}"
    if path.name == ".package-lock.json":
        return f"npm-hidden-v{version}"
    return f"npm-v{version}"


def _workspaces(root: Mapping[str, Any]) -> tuple[str, ...]:
    """The root's ``workspaces`` globs (a list, or ``{"packages": [...]}``)."""
    raw = root.get("workspaces")
    if isinstance(raw, dict):
        raw = raw.get("packages")
    if not isinstance(raw, list):
        return ()
    return tuple(re.sub(r"^\.?/+", "", p) for p in raw if isinstance(p, str))


def _glob(pattern: str) -> re.Pattern[str]:
    """A minimatch-style glob for folder keys: ``*`` within a segment, ``**`` across."""
    out = []
    for part in re.split(r"(\*\*/?|\*|\?)", pattern.rstrip("/")):
        if part.startswith("**"):
            out.append("(?:.*/)?" if part.endswith("/") else ".*")
        elif part == "*":
            out.append("[^/]*")
        elif part == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


@dataclass
class _Entry:
    """One lockfile entry, read and normalised, before grouping."""

    location: str  # node_modules/a/node_modules/b, or a workspace folder
    name: str
    version: str  # "" when the entry has none (git, tarball and folder entries may not)
    source: SourceKind
    occurrence: Occurrence
    has_install_script: bool | None = None  # None: v1 files do not record it
    license: str | None = None
    dependencies: dict[str, str] = field(default_factory=dict)
    optional_names: frozenset[str] = frozenset()  # optional and peer: only if in the tree
    link_target: str | None = None


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: dict[str, _Entry] = {}  # by location

    def read(
        self,
        packages: Mapping[str, Mapping[str, Any]],
        line_of: Callable[[str], int | None],
        where_of: Callable[[str], str],
        workspace_globs: tuple[str, ...],
        *,
        records_scripts: bool = True,
    ) -> None:
        """Read ``packages``-shaped entries; ``records_scripts`` is False for migrated v1
        entries, whose ``hasInstallScript`` npm never wrote (unknown, not false)."""
        targets = {
            _target(meta): key
            for key, meta in packages.items()
            if meta.get("link") and opt_str(meta, "resolved")
        }
        globs = [_glob(g) for g in workspace_globs if not g.startswith("!")]
        workspaces = {
            key
            for key in packages
            if key and "node_modules" not in key.split("/") and any(g.match(key) for g in globs)
        }
        for key, meta in packages.items():
            if key == "":
                continue
            top = key.split("/node_modules/", 1)[0] if not key.startswith("node_modules/") else ""
            link = targets.get(key)
            entry = self._entry(
                key,
                meta,
                where_of(key),
                line_of(key),
                name_from_folder(link) if link is not None else None,
                not top or top in workspaces,
            )
            if not records_scripts:
                entry.has_install_script = None
            self.entries[key] = entry
        for e in self.entries.values():  # links take name, version, flags from their target
            target = self.entries.get(e.link_target) if e.link_target else None
            if target is not None:
                e.name, e.version = target.name, target.version
                e.dependencies, e.optional_names = target.dependencies, target.optional_names
                t = target.occurrence
                e.occurrence = Occurrence(
                    path=e.occurrence.path,
                    installed_as=e.occurrence.installed_as,
                    resolved=e.occurrence.resolved,
                    integrity=None,
                    line=e.occurrence.line,
                    dev=t.dev,
                    optional=t.optional,
                    dev_optional=t.dev_optional,
                    peer=t.peer,
                    omittable=e.occurrence.omittable,
                )

    def _entry(
        self,
        key: str,
        meta: Mapping[str, Any],
        where: str,
        line: int | None,
        linked_as: str | None,
        omittable: bool,
    ) -> _Entry:
        """One entry; ``linked_as`` is the folder name of a link pointing at it, if any."""
        installed = key.startswith("node_modules/") or "/node_modules/" in key
        resolved = opt_str(meta, "resolved")
        dev, optional = meta.get("dev") is True, meta.get("optional") is True
        occ = Occurrence(
            path=key,
            installed_as=linked_as or name_from_folder(key),
            resolved=resolved,
            integrity=opt_str(meta, "integrity"),
            line=line,
            dev=dev,
            optional=optional,
            dev_optional=dev or optional or meta.get("devOptional") is True,
            peer=meta.get("peer") is True,
            bundled=meta.get("inBundle") is True,
            omittable=omittable,
        )
        name = opt_str(meta, "name") or name_from_folder(key)
        if meta.get("link"):
            return _Entry(key, name, "", SourceKind.LINK, occ, link_target=_target(meta))
        version = opt_str(meta, "version")
        deps, optional_names = _edges(meta)
        if not installed or (linked_as is not None and resolved is None):
            source = SourceKind.LINK  # a workspace or `file:` folder: the target of a link
        else:
            source = classify(resolved, version)
        if version is None and source is SourceKind.REGISTRY:
            raise LockfileError(f'{self.name}: {where}: missing "version"', hint=REGENERATE)
        return _Entry(
            key,
            name,
            version or "",
            source,
            occ,
            has_install_script=meta.get("hasInstallScript") is True,
            license=opt_str(meta, "license"),
            dependencies=deps,
            optional_names=optional_names,
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
                found = self.resolve(path, dep)
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

    def resolve(self, location: str, dep: str) -> str | None:
        """The entry node's resolution finds for ``require(dep)`` from ``location``."""
        entry = self.entries.get(location)
        start = entry.link_target if entry and entry.link_target else location
        for folder in _ancestors(start):
            candidate = f"{folder}/node_modules/{dep}" if folder else f"node_modules/{dep}"
            if candidate in self.entries:
                return candidate
        return None


def _any_known(flags: Iterable[bool | None]) -> bool | None:
    """True if any is true; else unknown (None) if any is unknown; else False."""
    seen = list(flags)
    if any(seen):
        return True
    return None if None in seen else False


def _target(meta: Mapping[str, Any]) -> str:
    """A link's target folder: ``resolved`` relative to the lockfile's folder, normalised."""
    return posixpath.normpath(str(meta.get("resolved"))).removeprefix("./")


def _ancestors(path: str) -> Iterator[str]:
    """``path`` and the folders above it, skipping ``node_modules`` folders themselves."""
    yield path
    while path:
        path = path.rpartition("/")[0]
        if path.rpartition("/")[2] != "node_modules":
            yield path


def _edges(entry: Mapping[str, Any]) -> tuple[dict[str, str], frozenset[str]]:
    deps: dict[str, str] = {}
    optional: set[str] = set()
    for fld in DEPENDENCY_FIELDS:
        value = entry.get(fld)
        if isinstance(value, dict):
            for dep, spec in value.items():
                deps.setdefault(dep, spec)
                if fld != "dependencies":
                    optional.add(dep)
    return deps, frozenset(optional)


FINDS_LINES_LATER = True  # one key's line is found without a pass over every key


def sniff(data: bytes) -> bool:
    """Whether ``data`` looks like an npm lockfile: a JSON object naming a lockfile field."""
    head = data[:4096].lstrip()
    return head[:1] == b"{" and any(
        key in head for key in (b'"lockfileVersion"', b'"packages"', b'"dependencies"')
    )


__all__ = ["SUPPORTED_VERSIONS", "parse", "sniff"]
