"""v1 lockfiles (npm 5 and 6): the nested ``dependencies`` tree migrated into ``packages``
entries, the way Arborist's ``Shrinkwrap`` migrates it before reading (``#loadAll`` and
``#metaFromLock``), so v1 and v2/v3 files are read by one reader.

npm 6 kept different facts in ``version`` depending on the source, and this follows npm's
reading of each:

- a semver version (registry), or ``npm:<name>@<version>`` (an alias: the real name and
  version);
- a git spec (``github:u/r#sha``, ``git+https://...``): no version at all; ``resolved``
  becomes the repository URL as npm normalises it (``git+ssh://git@github.com/u/r.git#sha``);
- ``file:<folder>``: a link to that folder, whose own entry is made without a version;
- ``file:<tarball>`` or a tarball URL: the version is taken from the tarball's file name.

``bundled`` becomes ``inBundle``; ``dev`` and ``optional`` are kept (``devOptional`` follows
from them when the entry is read). Dependencies nested under a link belong to its target.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from npmguard.lockfile.sources import classify, consistent_resolved, is_tarball_file
from npmguard.model import SourceKind
from npmguard.semver import version_key


@dataclass
class Migrated:
    """``packages``-shaped entries by location, with where each came from in the file."""

    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # JSON keys, for lines
    where: dict[str, str] = field(default_factory=dict)  # JSON path, for error messages


def migrate(dependencies: dict[str, Any]) -> Migrated:
    """Entries for every lock in a v1 ``dependencies`` tree (already type-checked objects)."""
    out = Migrated()
    _walk(out, dependencies, "", ("dependencies",), "")
    return out


def _walk(
    out: Migrated, deps: dict[str, Any], parent: str, keys: tuple[str, ...], where: str
) -> None:
    for folder, lock in deps.items():
        location = f"{parent}node_modules/{folder}"
        here = f"{where}dependencies[{json.dumps(folder)}]"
        meta = _meta_from_lock(out, location, folder, lock)
        out.keys.setdefault(location, (*keys, folder))
        out.where.setdefault(location, here)
        nested = lock.get("dependencies")
        if isinstance(nested, dict):
            below = meta["resolved"] if meta.get("link") else location
            _walk(out, nested, f"{below}/", (*keys, folder, "dependencies"), f"{here}.")


def _meta_from_lock(
    out: Migrated, location: str, name: str, lock: dict[str, Any]
) -> dict[str, Any]:
    version = _str(lock.get("version"))
    resolved = _str(lock.get("resolved"))
    integrity = _str(lock.get("integrity"))
    spec = _spec(lock, version, resolved, integrity)
    kind = classify(None, spec) if spec is not None else SourceKind.REGISTRY
    if kind is SourceKind.FILE and spec is not None and not is_tarball_file(spec):
        target = posixpath.normpath(spec.strip()[5:] if spec.startswith("file:") else spec)
        out.packages[location] = {"link": True, "resolved": target}
        if target not in out.packages:  # the folder itself, version unknown
            out.packages[target] = _flags(lock, {"name": name})
        return out.packages[location]
    meta: dict[str, Any] = _flags(lock, {})
    if integrity:
        meta["integrity"] = integrity
    if kind is SourceKind.GIT and spec is not None:
        meta["resolved"] = consistent_resolved(spec)
    elif resolved:
        meta["resolved"] = resolved
    elif kind is not SourceKind.REGISTRY and spec is not None:
        meta["resolved"] = spec
    if kind is SourceKind.GIT:
        pass  # npm keeps no version for git entries of old lockfiles
    elif spec is not None and spec.startswith("npm:"):
        real, _, real_version = spec[4:].rpartition("@")
        if real:
            meta["name"], meta["version"] = real, real_version
        else:
            meta["version"] = spec  # "npm:x" without a version: kept, judged as written
    elif version is not None and (kind is SourceKind.REGISTRY or version_key(version)):
        meta["version"] = version
    else:
        from_file = _version_from_tarball(name, meta.get("resolved") or spec or "")
        if from_file is not None:
            meta["version"] = from_file
    out.packages[location] = meta
    return meta


def _spec(
    lock: dict[str, Any], version: str | None, resolved: str | None, integrity: str | None
) -> str | None:
    """The spec npm installs the entry from (Arborist's ``spec-from-lock``)."""
    if version is not None:
        kind = classify(None, version)
        if integrity or kind is SourceKind.GIT:
            return version
    from_spec = _str(lock.get("from"))
    if from_spec is not None:
        if classify(None, from_spec) is SourceKind.REGISTRY and version is not None:
            return version
        if resolved is None:
            return from_spec
    if resolved is not None:
        return resolved
    return version


def _flags(lock: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    if isinstance(lock.get("requires"), dict):
        meta["dependencies"] = lock["requires"]
    for flag in ("dev", "optional"):
        if lock.get(flag) is True:
            meta[flag] = True
    if lock.get("bundled") is True:
        meta["inBundle"] = True
    return meta


def _version_from_tarball(name: str, spec: str) -> str | None:
    """``<name>-<version>.tgz`` at the end of a tarball path or URL (``version-from-tgz``)."""
    base = spec.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    project = name.rsplit("/", 1)[-1]
    if not base.endswith(".tgz") or not base.startswith(project + "-"):
        return None
    candidate = base[len(project) + 1 : -len(".tgz")]
    return candidate if version_key(candidate) is not None else None


def _str(value: object) -> str | None:
    """A string field; npm 6 sometimes wrote ``""`` or ``false`` for "none"."""
    return value if isinstance(value, str) and value else None


__all__ = ["Migrated", "migrate"]
