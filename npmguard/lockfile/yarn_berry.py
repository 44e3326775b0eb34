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
mismatch. Berry records neither install scripts nor which dependencies are dev ones: those stay
unknown and production; ``dependenciesMeta`` ``optional`` marks optional edges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from npmguard.errors import LockfileError
from npmguard.lockfile.graph import Edge, Entry, Root, build_packages
from npmguard.lockfile.sources import classify_url, split_descriptor
from npmguard.lockfile.yamlfile import describe, key_lines, load_documents, mapping
from npmguard.model import Lockfile, SourceKind

SUPPORTED_VERSIONS = range(4, 11)  # __metadata.version: 4 (yarn 2.x) to 10 (yarn 4.14+)
HINT = "run `yarn install` to rewrite the lockfile"
_PROTOCOL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def parse(data: bytes, path: Path, name: str, text: str) -> Lockfile:
    """Read a Yarn Berry lockfile (``text`` is ``data`` decoded)."""
    docs = load_documents(data, name, HINT)
    doc = docs[0]
    if not isinstance(doc, dict):
        raise LockfileError(
            f"{name}: expected a mapping at the top level, found {describe(doc)}", hint=HINT
        )
    version = _metadata_version(doc, name)
    lines = key_lines(text)[0]
    entries: dict[str, Entry] = {}
    by_descriptor: dict[str, str] = {}
    raw_of: dict[str, Mapping[str, Any]] = {}
    patched: dict[str, str] = {}  # descriptor a patch wraps -> the patch entry's id
    root_name = None
    for key, raw in doc.items():
        if key == "__metadata":
            continue
        fields = mapping(raw)
        if fields is None:
            raise LockfileError(
                f"{name}: {key!r}: expected a mapping, found {describe(raw)}", hint=HINT
            )
        entry = _entry(key, fields, name, lines.top.get(key))
        entries[entry.id] = entry
        raw_of[entry.id] = fields
        for descriptor in _descriptors(key):
            by_descriptor.setdefault(descriptor, entry.id)
            ref = split_descriptor(descriptor)[1]
            if ref.startswith("patch:"):
                inner = unquote(ref[len("patch:") :].split("#", 1)[0])
                patched.setdefault(inner, entry.id)
        if fields.get("resolution", "").endswith("@workspace:."):
            root_name = entry.name

    def find(dep: str, spec: str) -> str | None:
        for descriptor in _candidates(dep, spec):
            found = by_descriptor.get(descriptor) or patched.get(descriptor)
            if found is not None:
                return found
        return None

    roots: list[Root] = []
    dangling: list[tuple[Entry, str, bool]] = []  # dependency lines no descriptor matches
    referenced: set[str] = set()
    for entry_id, entry in entries.items():
        fields = raw_of[entry_id]
        meta = mapping(fields.get("dependenciesMeta")) or {}
        deps = fields.get("dependencies")
        if deps is not None and mapping(deps) is None:
            raise LockfileError(
                f"{name}: {entry.path!r}.dependencies: expected a mapping, found {describe(deps)}",
                hint=HINT,
            )
        for dep, spec in (mapping(deps) or {}).items():
            if not isinstance(spec, str):
                raise LockfileError(
                    f"{name}: {entry.path!r}.dependencies[{dep!r}]: expected a range, found "
                    f"{describe(spec)}",
                    hint=HINT,
                )
            entry.dependencies.setdefault(dep, spec)
            target = find(dep, spec)
            optional = (mapping(meta.get(dep)) or {}).get("optional") == "true"
            if target is not None:
                entry.edges.append(Edge(target, optional))
                referenced.add(target)
            else:
                dangling.append((entry, dep, optional))
        inner = _patch_source(fields.get("resolution", ""))
        if inner is not None and inner in by_descriptor:  # a patch needs what it patches
            entry.edges.append(Edge(by_descriptor[inner]))
        if entry.source is SourceKind.LINK and entry.resolved is None:
            roots.append(Root(entry_id))  # a workspace: installed with the project
    _resolutions(entries, dangling, referenced)
    return Lockfile(
        path=path,
        format=f"yarn-berry-v{version}",
        lockfile_version=version,
        packages=build_packages(entries.values(), roots or None),
        root_name=root_name,
    )


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
    if _PROTOCOL.match(spec):
        return (f"{dep}@{spec}",)
    return (f"{dep}@{spec}", f"{dep}@npm:{spec}")


def _patch_source(resolution: str) -> str | None:
    """The locator a ``patch:`` resolution patches (``typescript@npm:6.0.3``), else None."""
    _, ref = split_descriptor(resolution)
    if not ref.startswith("patch:"):
        return None
    return unquote(ref[len("patch:") :].split("#", 1)[0])


def _entry(key: str, fields: Mapping[str, Any], name: str, line: int | None) -> Entry:
    where = f"{name}: {key!r}"
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
