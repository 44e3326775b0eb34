"""pnpm lockfiles: ``pnpm-lock.yaml`` versions 5.x, 6.x and 9.x, read as pnpm reads them.

- 5.x (pnpm 5-7): ``packages`` keyed by dependency paths ``/name/1.0.0_peer@2.0.0`` (a patch
  hash joins the peer suffix: ``/sirv/2.0.2_hmoqtj4…``); importers keep a ``specifiers`` map.
- 6.x (pnpm 8): ``/name@1.0.0(peer@2.0.0)(patch_hash=…)``; importers give ``{specifier,
  version}``.
- 9.x (pnpm 9 and later): metadata in ``packages`` (``name@1.0.0``), the installed instances
  (one per peer set) in ``snapshots`` (``name@1.0.0(peer@2.0.0)``). pnpm 11+ may put a second
  YAML document first (config and package-manager dependencies); both are read.

Every snapshot (5.x/6.x: every ``packages`` entry) is one occurrence; occurrences group into one
``LockedPackage`` per real name, version and source kind. Registry packages carry no URL (pnpm
builds it from the configured registry), so ``resolved`` is empty unless the lockfile records a
``tarball``. The dev/optional flags are computed from the importers (as pnpm's own ``dev``
fields in 5.x/6.x say, and 9.x no longer writes); ``requiresBuild`` (5.x/6.x) is npm's
``hasInstallScript``, unknown in 9.x. Workspace projects reached through ``link:`` are LINK
packages named by the alias that links them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npmguard.errors import LockfileError
from npmguard.lockfile.descriptors import classify_url
from npmguard.lockfile.graph import Edge, Entry, Root, build_packages
from npmguard.lockfile.yamlfile import KeyLines, describe, key_lines, load_documents, mapping
from npmguard.model import Lockfile, SourceKind

SUPPORTED_MAJORS = (5, 6, 9)
_HINT = "regenerate it with `pnpm install --lockfile-only`"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_DEP_FIELDS = (("dependencies", False), ("optionalDependencies", True))
_IMPORTER_FIELDS = (
    ("dependencies", False, False),
    ("optionalDependencies", False, True),
    ("devDependencies", True, False),
)
_ENV_FIELDS = ("configDependencies", "packageManagerDependencies")
_KEYED_SECTIONS = frozenset({"importers", "packages", "snapshots"})


FINDS_LINES_LATER = False  # its lines come with reading it


def sniff(data: bytes) -> bool:
    """Whether ``data`` looks like a pnpm lockfile: YAML opening with ``lockfileVersion``."""
    head = data[:512].lstrip(b"\xef\xbb\xbf-\r\n\t ")
    return head.startswith((b"lockfileVersion:", b"'lockfileVersion':", b'"lockfileVersion":'))


def parse(
    data: bytes, path: Path, display_name: str | None = None, *, lines: bool = True
) -> Lockfile:
    """Read a pnpm lockfile's bytes; errors start with ``display_name`` (default: ``path``).
    ``lines=False`` leaves every entry's line unknown (no pass over the text to find them)."""
    name = display_name or str(path)
    docs = load_documents(data, name, _HINT, js_yaml_keys=True)
    found = key_lines(data.decode("utf-8", errors="replace"), _KEYED_SECTIONS) if lines else []
    entries: dict[str, Entry] = {}
    roots: list[Root] = []
    version_text = ""
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise LockfileError(
                f"{name}: expected a mapping at the top level, found {describe(doc)}", hint=_HINT
            )
        version_text, major = _version(doc, name)
        doc_lines = found[index] if index < len(found) and len(found) == len(docs) else KeyLines()
        reader = _Reader(name, major, doc, doc_lines)
        reader.read()
        for entry in reader.entries.values():
            entries.setdefault(entry.id, entry)
        roots += reader.roots
    major = int(version_text.split(".", 1)[0])
    return Lockfile(
        path=path,
        format=f"pnpm-v{version_text}",
        lockfile_version=major,
        packages=build_packages(entries.values(), roots),
    )


def _version(doc: Mapping[str, Any], name: str) -> tuple[str, int]:
    raw = doc.get("lockfileVersion")
    if not isinstance(raw, str) or not raw:
        raise LockfileError(f'{name}: missing "lockfileVersion"', hint=_HINT)
    m = re.match(r"^(\d+)(?:\.\d+)?", raw)
    if m is None:
        raise LockfileError(f"{name}: lockfileVersion: {raw!r} is not a version", hint=_HINT)
    major = int(m.group(1))
    if major not in SUPPORTED_MAJORS:
        raise LockfileError(
            f"{name}: unsupported lockfileVersion {raw}; npmguard reads 5.x, 6.x and 9.x",
            hint=(
                "a newer pnpm wrote this file: update npmguard"
                if major > max(SUPPORTED_MAJORS)
                else "regenerate it with pnpm 8 or later: `pnpm install --lockfile-only`"
            ),
        )
    return raw, major


@dataclass(frozen=True, slots=True)
class _Key:
    """A dependency path taken apart: real name, version and whether it is a registry one."""

    name: str
    version: str
    registry: bool


class _Reader:
    """One YAML document of a pnpm lockfile."""

    def __init__(self, name: str, major: int, doc: dict[str, Any], lines: KeyLines) -> None:
        self.name = name
        self.major = major
        self.doc = doc
        self.lines = lines
        self.entries: dict[str, Entry] = {}
        self.roots: list[Root] = []
        self.aliases: dict[str, set[str]] = {}  # entry id -> names it is installed as
        instances = "snapshots" if major >= 9 else "packages"
        self.instances = self._section(instances)
        self.metadata = self._section("packages")

    def _section(self, key: str) -> dict[str, Any]:
        value = self.doc.get(key)
        if value is None:
            return {}
        found = mapping(value)
        if found is None:
            raise LockfileError(
                f"{self.name}: {key}: expected a mapping, found {describe(value)}", hint=_HINT
            )
        return found

    def read(self) -> None:
        for dep_path, raw in self.instances.items():
            self.entries[dep_path] = self._entry(dep_path, raw)
        for entry_id, entry in self.entries.items():
            raw = mapping(self.instances[entry_id]) or {}
            for fld, optional in _DEP_FIELDS:
                for alias, ref in self._deps(raw, fld, f"{self._where(entry_id)}.{fld}"):
                    target = self._ref_to_path(ref, alias)
                    if target is not None and target in self.entries:
                        entry.edges.append(Edge(target, optional))
                        entry.dependencies.setdefault(alias, ref)
                        self.aliases.setdefault(target, set()).add(alias)
        self._read_importers()
        for entry_id, names in self.aliases.items():
            entry = self.entries[entry_id]
            if not entry.name:  # a 5.x/6.x git entry: known by the name that depends on it
                entry.name = sorted(names)[0]
            if entry.source is not SourceKind.LINK and entry.name not in names:
                entry.installed_as = sorted(names)[0]
            elif not entry.installed_as:
                entry.installed_as = entry.name
        for entry in self.entries.values():
            if not entry.name:
                entry.name = entry.installed_as = entry.path

    # -- entries ---------------------------------------------------------------------------

    def _where(self, dep_path: str) -> str:
        return f"{'snapshots' if self.major >= 9 else 'packages'}[{dep_path!r}]"

    def _entry(self, dep_path: str, raw: object) -> Entry:
        where = self._where(dep_path)
        instance = mapping(raw)
        if instance is None:
            raise LockfileError(
                f"{self.name}: {where}: expected a mapping, found {describe(raw)}", hint=_HINT
            )
        meta_key = _without_suffix(dep_path) if self.major >= 9 else dep_path
        if self.major >= 9:
            meta = mapping(self.metadata.get(meta_key))
            if meta is None:
                raise LockfileError(
                    f"{self.name}: {where}: no packages[{meta_key!r}] entry for it", hint=_HINT
                )
        else:
            meta = instance
        resolution = mapping(meta.get("resolution"))
        if resolution is None:
            raise LockfileError(
                f'{self.name}: packages[{meta_key!r}]: missing "resolution"', hint=_HINT
            )
        local = resolution.get("type") in ("directory", "git")
        key = self._parse_key(dep_path, meta, where, local)
        source, resolved, integrity = _source(key, resolution)
        line = self.lines.line("packages", meta_key) or self.lines.line("snapshots", dep_path)
        build = meta.get("requiresBuild")
        return Entry(
            id=dep_path,
            name=key.name,
            version=key.version,
            source=source,
            path=dep_path,
            installed_as=key.name,
            resolved=resolved,
            integrity=integrity,
            line=line,
            # pnpm also writes `requiresBuild: true` for packages it did not look into (an
            # optional ms@2.1.3 has it, and no script): absent or false (js-yaml's spellings)
            # is false, anything else (`true`, `True`, a string) is unknown
            has_install_script=(
                False if self.major < 9 and build in (None, "false", "False", "FALSE") else None
            ),
        )

    def _parse_key(self, dep_path: str, meta: Mapping[str, Any], where: str, local: bool) -> _Key:
        """Name and version of an entry: the ``name``/``version`` fields when the entry has
        them (non-registry packages), else taken from the dependency path. ``local``: the
        resolution is a folder or a git commit, never the registry (5.x writes git
        dependencies as ``/host/path/commit``, like a registry path)."""
        body = dep_path
        if self.major < 9:
            registry = body.startswith("/") and not local
            body = body[1:] if body.startswith("/") else body
        else:
            registry = True
        if self.major >= 6:
            body = _without_suffix(body)
            at = body.find("@", 1)
            name, version = (body[:at], body[at + 1 :]) if at > 0 else ("", "")
        else:
            parts = body.split("/")
            cut = 2 if body.startswith("@") else 1
            name, version = "/".join(parts[:cut]), "/".join(parts[cut:]).split("_", 1)[0]
        if self.major >= 9:
            registry = bool(_SEMVER.match(version)) and "version" not in meta and not local
        if not registry:  # file:, git and tarball entries: the fields say (a folder may
            # have no version at all; a 5.x/6.x git entry no name: the alias gives it)
            name = _text(meta.get("name")) or ("" if self.major < 9 else name)
            version = _text(meta.get("version")) or ""
        if registry and not (name and version):
            raise LockfileError(
                f"{self.name}: {where}: cannot tell the package name and version", hint=_HINT
            )
        return _Key(name, version, registry)

    # -- references ------------------------------------------------------------------------

    def _deps(self, raw: Mapping[str, Any], fld: str, where: str) -> Iterator[tuple[str, str]]:
        value = raw.get(fld)
        if value is None:
            return
        deps = mapping(value)
        if deps is None:
            raise LockfileError(
                f"{self.name}: {where}: expected a mapping, found {describe(value)}", hint=_HINT
            )
        for alias, ref in deps.items():
            if isinstance(ref, dict):  # importers since 6.0: {specifier, version}
                ref = ref.get("version")
            if not isinstance(ref, str):
                raise LockfileError(
                    f"{self.name}: {where}[{alias!r}]: expected a version, found {describe(ref)}",
                    hint=_HINT,
                )
            yield alias, ref

    def _ref_to_path(self, ref: str, alias: str) -> str | None:
        """The dependency path a reference names (pnpm's ``refToRelative``); None for
        ``link:``."""
        if ref.startswith("link:"):
            return None
        if self.major >= 9:
            if ref.startswith("@"):
                return ref
            at, colon, paren = ref.find("@"), ref.find(":"), ref.find("(")
            if at > 0 and (colon < 0 or at < colon) and (paren < 0 or at < paren):
                return ref  # an alias: real-name@1.0.0(peers)
            return f"{alias}@{ref}"
        if ref.startswith("file:"):
            return ref
        if "/" not in (ref.split("(", 1)[0] if self.major >= 6 else ref):
            return f"/{alias}@{ref}" if self.major >= 6 else f"/{alias}/{ref}"
        return ref

    # -- importers -------------------------------------------------------------------------

    def _read_importers(self) -> None:
        importers = self.doc.get("importers")
        if importers is None:  # a lockfile without workspaces keeps the one importer on top
            projects: dict[str, Any] = {".": self.doc}
        else:
            found = mapping(importers)
            if found is None:
                raise LockfileError(
                    f"{self.name}: importers: expected a mapping, found {describe(importers)}",
                    hint=_HINT,
                )
            projects = found
        links: dict[str, Entry] = {}
        for project, raw in projects.items():
            importer = mapping(raw)
            if importer is None:
                raise LockfileError(
                    f"{self.name}: importers[{project!r}]: expected a mapping, found "
                    f"{describe(raw)}",
                    hint=_HINT,
                )
            fields = [(f, d, o) for f, d, o in _IMPORTER_FIELDS]
            fields += [(f, False, False) for f in _ENV_FIELDS]
            for fld, dev, optional in fields:
                for alias, ref in self._deps(importer, fld, f"importers[{project!r}].{fld}"):
                    if ref.startswith("link:"):
                        target = _link_target(project, ref)
                        entry = links.get(target) or self._link(target, alias)
                        links[target] = entry
                        self.roots.append(Root(entry.id, dev, optional))
                        continue
                    dep_path = self._ref_to_path(ref, alias)
                    if dep_path is not None and dep_path in self.entries:
                        self.roots.append(Root(dep_path, dev, optional))
                        self.aliases.setdefault(dep_path, set()).add(alias)
        for target, entry in links.items():  # a linked project requires its own dependencies
            importer = mapping(projects.get(target)) or {}
            for fld, optional in _DEP_FIELDS:
                for alias, ref in self._deps(importer, fld, f"importers[{target!r}].{fld}"):
                    dep_path = self._ref_to_path(ref, alias)
                    if dep_path is not None and dep_path in self.entries:
                        entry.edges.append(Edge(dep_path, optional))
                        entry.dependencies.setdefault(alias, ref)
        for entry in links.values():
            self.entries[entry.id] = entry

    def _link(self, target: str, alias: str) -> Entry:
        return Entry(
            id=f"link:{target}",
            name=alias,
            version="",
            source=SourceKind.LINK,
            path=target,
            installed_as=alias,
            resolved=f"link:{target}",
            line=self.lines.line("importers", target),
        )


def _link_target(project: str, ref: str) -> str:
    return posixpath.normpath(posixpath.join(project, ref[len("link:") :]))


def _without_suffix(dep_path: str) -> str:
    """A dependency path without its peer/patch suffix: ``a@1.0.0(b@2.0.0)`` -> ``a@1.0.0``."""
    paren = dep_path.find("(")
    return dep_path[:paren] if paren > 0 else dep_path


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _source(key: _Key, resolution: Mapping[str, Any]) -> tuple[SourceKind, str | None, str | None]:
    """Source kind, resolved URL and SSRI integrity of a ``resolution`` mapping."""
    integrity = _text(resolution.get("integrity"))
    kind = resolution.get("type")
    if kind == "directory":
        return SourceKind.FILE, f"file:{resolution.get('directory', '')}", None
    if kind == "git":
        repo, commit = _text(resolution.get("repo")) or "", _text(resolution.get("commit"))
        return SourceKind.GIT, f"{repo}#{commit}" if commit else repo, integrity
    tarball = _text(resolution.get("tarball"))
    if tarball is None:
        if key.registry:
            return SourceKind.REGISTRY, None, integrity
        return SourceKind.FILE, None, integrity  # a resolution pnpm has no name for here
    if key.registry and tarball.lower().startswith(("http://", "https://")):
        return SourceKind.REGISTRY, tarball, integrity  # a registry with its own tarball URLs
    return classify_url(tarball), tarball, integrity
