"""Yarn Berry lockfiles (Yarn 2 and later: ``__metadata`` versions 4 to 10), read as yarn does.

The file is YAML (yarn parses it with js-yaml's failsafe schema: every value a string). Each
top-level key lists the descriptors (``name@npm:^1.0.0, alias@npm:name@^1.2.0``) that resolve to
one locator, the entry's ``resolution`` (``name@npm:1.2.3``). The protocol of the locator says
where the code comes from:

- ``npm:`` the registry (``::__archiveUrl=`` when the tarball is not at the usual place);
- ``workspace:``, ``portal:``, ``link:`` the project's own folders (LINK);
- ``patch:`` another locator plus patch files (``optional!builtin<compat/…>`` are yarn's own):
  the same name@version as the locator it patches, read as an occurrence of it;
- ``file:``/``exec:`` local files; ``https://…`` tarballs or git (``#commit=``); ``git@…``,
  ``github:`` git.

``checksum`` is a hash of yarn's cache archive (a zip, not the registry tarball), prefixed by
the cache key since ``__metadata`` version 6 (``10/abc…``): it pins the bytes for yarn but can
never be compared with the registry's ``dist.integrity``, so it is kept apart from
``integrity`` (``Occurrence.checksum``) and the integrity rules treat it as unknown, not as a
mismatch. ``conditions`` (``os=darwin & cpu=arm64``) marks a platform package reached only
through optional dependencies: yarn fetches it only on a matching platform and writes no
``checksum`` for it (``Occurrence.conditions``). Berry records neither install scripts nor
which dependencies are dev ones: those stay unknown and production; ``dependenciesMeta``
``optional`` marks optional edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from npmguard.errors import LockfileError
from npmguard.lockfile.descriptors import classify_url, split_descriptor
from npmguard.lockfile.graph import Edge, Entry, Root, build_packages
from npmguard.lockfile.yamlfile import describe, key_lines, load_documents, mapping
from npmguard.model import Lockfile, SourceKind

SUPPORTED_VERSIONS = range(4, 11)  # __metadata.version: 4 (yarn 2.x) to 10 (yarn 4.14+)
HINT = "run `yarn install` to rewrite the lockfile"


def parse(data: bytes, path: Path, name: str, text: str) -> Lockfile:
    """Read a Yarn Berry lockfile (``text`` is ``data`` decoded)."""
    docs = load_documents(data, name, HINT)
    doc = docs[0]
    if not isinstance(doc, dict):
        raise LockfileError(
            f"{name}: expected a mapping at the top level, found {describe(doc)}", hint=HINT
        )
    version = _metadata_version(doc, name)
    reader = _Reader(name)
    lines = key_lines(text)[0]
    for key, raw in doc.items():
        if key != "__metadata":
            reader.add(key, raw, lines.top.get(key))
    roots = reader.link()
    return Lockfile(
        path=path,
        format=f"yarn-berry-v{version}",
        lockfile_version=version,
        packages=build_packages(reader.entries.values(), roots or None),
        root_name=reader.root_name,
    )


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: dict[str, Entry] = {}
        self.fields: dict[str, Mapping[str, Any]] = {}
        self.by_descriptor: dict[str, str] = {}
        self.patched: dict[str, str] = {}  # descriptor a patch wraps -> the patch entry's id
        self.root_name: str | None = None

    def add(self, key: str, raw: object, line: int | None) -> None:
        fields = mapping(raw)
        if fields is None:
            raise LockfileError(
                f"{self.name}: {key!r}: expected a mapping, found {describe(raw)}", hint=HINT
            )
        entry = _entry(key, fields, self.name, line)
        self.entries[entry.id] = entry
        self.fields[entry.id] = fields
        for descriptor in _descriptors(key):
            self.by_descriptor.setdefault(descriptor, entry.id)
            ref = split_descriptor(descriptor)[1]
            if ref.startswith("patch:"):
                wrapped = unquote(ref[len("patch:") :].split("#", 1)[0])
                self.patched.setdefault(wrapped, entry.id)
        if str(fields.get("resolution")).endswith("@workspace:."):
            self.root_name = entry.name

    def find(self, dep: str, spec: str) -> str | None:
        for descriptor in _candidates(dep, spec):
            found = self.by_descriptor.get(descriptor) or self.patched.get(descriptor)
            if found is not None:
                return found
        return None

    def link(self) -> list[Root]:
        """Edges from every entry's dependencies; the workspaces as roots."""
        roots: list[Root] = []
        dangling: list[tuple[Entry, str, bool]] = []  # dependency lines no descriptor matches
        referenced: set[str] = set()
        for entry_id, entry in self.entries.items():
            fields = self.fields[entry_id]
            meta = mapping(fields.get("dependenciesMeta")) or {}
            for dep, spec in self._dependencies(entry, fields):
                entry.dependencies.setdefault(dep, spec)
                target = self.find(dep, spec)
                optional = (mapping(meta.get(dep)) or {}).get("optional") == "true"
                if target is not None:
                    entry.edges.append(Edge(target, optional))
                    referenced.add(target)
                else:
                    dangling.append((entry, dep, optional))
            source = _patch_source(str(fields.get("resolution")))
            if source is not None and source in self.by_descriptor:  # a patch needs its source
                entry.edges.append(Edge(self.by_descriptor[source]))
            if entry.source is SourceKind.LINK and entry.resolved is None:
                roots.append(Root(entry_id))  # a workspace: installed with the project
        _resolutions(self.entries, dangling, referenced)
        return roots

    def _dependencies(self, entry: Entry, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
        deps = fields.get("dependencies")
        if deps is None:
            return []
        found = mapping(deps)
        if found is None:
            raise LockfileError(
                f"{self.name}: {entry.path!r}.dependencies: expected a mapping, found "
                f"{describe(deps)}",
                hint=HINT,
            )
        for dep, spec in found.items():
            if not isinstance(spec, str):
                raise LockfileError(
                    f"{self.name}: {entry.path!r}.dependencies[{dep!r}]: expected a range, "
                    f"found {describe(spec)}",
                    hint=HINT,
                )
        return list(found.items())


def _resolutions(
    entries: Mapping[str, Entry], dangling: list[tuple[Entry, str, bool]], referenced: set[str]
) -> None:
    """Edges for dependency lines the project's ``resolutions`` rewrote.

    ``resolutions`` live in package.json, which a lockfile reader does not see: yarn stores the
    rewritten descriptor (``trim@npm:1.0.1``) while the dependency line keeps the original
    (``trim: npm:0.0.1``). Such a line is taken to reach every entry of that name that no
    dependency line names, which is where a resolution points.
    """
    unnamed: dict[str, list[str]] = {}
    for entry_id, entry in entries.items():
        if entry_id not in referenced and entry.source is not SourceKind.LINK:
            for descriptor in _descriptors(entry_id):
                unnamed.setdefault(split_descriptor(descriptor)[0], []).append(entry_id)
    for entry, dep, optional in dangling:
        for target in dict.fromkeys(unnamed.get(dep, ())):
            entry.edges.append(Edge(target, optional))


def _metadata_version(doc: Mapping[str, Any], name: str) -> int:
    meta = mapping(doc.get("__metadata"))
    raw = meta.get("version") if meta is not None else None
    if not isinstance(raw, str) or not raw.isdigit():
        raise LockfileError(f"{name}: __metadata.version: expected a number", hint=HINT)
    version = int(raw)
    if version not in SUPPORTED_VERSIONS:
        raise LockfileError(
            f"{name}: unsupported __metadata.version {version}; npmguard reads 4 to 10",
            hint=(
                "a newer yarn wrote this file: update npmguard"
                if version > SUPPORTED_VERSIONS[-1]
                else "run `yarn install` with yarn 2 or later to rewrite it"
            ),
        )
    return version


def _descriptors(key: str) -> list[str]:
    return [d.strip() for d in key.split(",") if d.strip()]


def _candidates(dep: str, spec: str) -> tuple[str, ...]:
    """Descriptors a dependency line can be stored under: as written, and with yarn's default
    ``npm:`` protocol (files before ``__metadata`` version 6 write bare ranges)."""
    if spec.startswith("npm:"):
        return (f"{dep}@{spec}",)
    return (f"{dep}@{spec}", f"{dep}@npm:{spec}")


def _patch_source(resolution: str) -> str | None:
    """The locator a ``patch:`` resolution patches (``typescript@npm:6.0.3``), else None."""
    _, ref = split_descriptor(resolution)
    if not ref.startswith("patch:"):
        return None
    return unquote(ref[len("patch:") :].split("#", 1)[0])


def _entry(key: str, fields: Mapping[str, Any], name: str, line: int | None) -> Entry:
    where = f"{name}: line {line}: {key!r}" if line else f"{name}: {key!r}"
    resolution = fields.get("resolution")
    if not isinstance(resolution, str) or "@" not in resolution[1:]:
        raise LockfileError(f'{where}: missing "resolution"', hint=HINT)
    real, ref = split_descriptor(resolution)
    version = fields.get("version")
    if not isinstance(version, str):
        raise LockfileError(f'{where}: missing "version"', hint=HINT)
    source, resolved = _source(ref)
    if source is SourceKind.LINK and version == "0.0.0-use.local":
        version = ""  # a workspace without a version of its own
    checksum = fields.get("checksum")
    conditions = fields.get("conditions")
    names = [split_descriptor(d)[0] for d in _descriptors(key)]
    return Entry(
        id=key,
        name=real,
        version=version,
        source=source,
        path=key,
        installed_as=real if real in names or not names else names[0],
        resolved=resolved,
        checksum=checksum if isinstance(checksum, str) and checksum else None,
        conditions=conditions if isinstance(conditions, str) and conditions else None,
        line=line,
    )


def _source(ref: str) -> tuple[SourceKind, str | None]:
    """Source kind and resolved URL of a locator's reference (the part after ``name@``)."""
    protocol, _, rest = ref.partition(":")
    if protocol == "npm":
        _, _, params = rest.partition("::")
        for param in params.split("&"):
            if param.startswith("__archiveUrl="):
                return SourceKind.REGISTRY, unquote(param[len("__archiveUrl=") :])
        return SourceKind.REGISTRY, None
    if protocol in ("workspace", "portal", "link"):
        return SourceKind.LINK, None if protocol == "workspace" else ref
    if protocol == "patch":
        inner = unquote(rest.split("#", 1)[0])
        return _source(split_descriptor(inner)[1])[0], None
    if protocol in ("file", "exec"):
        return SourceKind.FILE, ref
    if "#commit=" in ref or "#head=" in ref or "#tag=" in ref:
        return SourceKind.GIT, ref
    return classify_url(ref), ref
