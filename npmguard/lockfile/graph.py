"""From lockfile entries to ``LockedPackage`` values: shared by the pnpm, yarn and bun readers.

A reader turns its format into :class:`Entry` values (one per lockfile entry, with the entries
it depends on as :class:`Edge` values) and, where the format names them, the project's direct
dependencies as :class:`Root` values (pnpm's ``importers``, bun's ``workspaces``).
:func:`build_packages` then

- computes the dev/optional flags as npm's Arborist does (``calcDepFlags``): *dev* when no
  path from a production dependency of the project reaches the entry, *optional* when every
  path passes an optional edge, *devOptional* when no path is both production and
  non-optional (so it is set with either, and alone when dev and optional paths both need
  the entry). Without roots (yarn lockfiles do not say which project depends on what) every
  flag stays false: the entry counts as production, the safe reading;
- groups the entries into one ``LockedPackage`` per real name, version and source kind;
- fills ``requires``/``dependents`` (name@version keys) from the edges.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from npmguard.model import LockedPackage, Occurrence, SourceKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Edge:
    """A dependency of an entry, resolved to another entry's ``id``."""

    target: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Root:
    """A direct dependency of the project (or one of its workspaces) on an entry."""

    target: str
    dev: bool = False
    optional: bool = False


@dataclass(slots=True)
class Entry:
    """One lockfile entry, checked and normalised by its reader."""

    id: str  # unique in the lockfile: pnpm's dependency path, yarn's key, bun's key
    name: str  # the real name (aliases resolved)
    version: str
    source: SourceKind
    path: str  # the entry as the lockfile names it: Occurrence.path
    installed_as: str
    resolved: str | None = None
    integrity: str | None = None  # SSRI, comparable with the registry's
    checksum: str | None = None  # the format's own hash, not comparable (Yarn Berry)
    conditions: str | None = None  # Yarn Berry's platform conditions (os=… & cpu=…)
    line: int | None = None
    has_install_script: bool | None = None
    license: str | None = None
    dependencies: dict[str, str] = field(default_factory=dict)  # name -> spec as locked
    edges: list[Edge] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Flags:
    dev: bool = False
    optional: bool = False
    dev_optional: bool = False


def build_packages(
    entries: Iterable[Entry], roots: Sequence[Root] | None
) -> tuple[LockedPackage, ...]:
    """Group entries into packages (sorted by name, version, source); see the module docs.

    ``roots`` None: the format does not say what the project depends on directly. Entries no
    root reaches keep every flag false and stay in: what links them may live outside the
    lockfile (Yarn Berry's ``resolutions`` in package.json, yarn's built-in package
    extensions), and checking a package that is not installed costs less than missing one.
    """
    by_id = {e.id: e for e in entries}
    flags = _dep_flags(by_id, roots) if roots is not None else {}
    groups: dict[tuple[str, str, SourceKind], list[Entry]] = defaultdict(list)
    for e in by_id.values():
        groups[(e.name, e.version, e.source)].append(e)
    requires: dict[str, set[str]] = defaultdict(set)
    dependents: dict[str, set[str]] = defaultdict(set)
    key_of = {entry_id: f"{e.name}@{e.version}" for entry_id, e in by_id.items()}
    for entry_id, e in by_id.items():
        me = key_of[entry_id]
        for edge in e.edges:
            other = key_of.get(edge.target)
            if other is not None and other != me:
                requires[me].add(other)
                dependents[other].add(me)
    none = _Flags()
    out = []
    for (name, version, source), members in groups.items():
        key = f"{name}@{version}"
        members.sort(key=lambda e: (e.line is None, e.line or 0, e.path))
        specs: dict[str, str] = {}
        for e in members:
            for dep, spec in e.dependencies.items():
                specs.setdefault(dep, spec)
        out.append(
            LockedPackage(
                name=name,
                version=version,
                source=source,
                occurrences=tuple(_occurrence(e, flags.get(e.id, none)) for e in members),
                has_install_script=_any_known(e.has_install_script for e in members),
                dependencies=dict(sorted(specs.items())),
                dependents=tuple(sorted(dependents[key])),
                requires=tuple(sorted(requires[key])),
                license=next((e.license for e in members if e.license), None),
            )
        )
    out.sort(key=lambda p: (p.name, p.version, p.source.value))
    return tuple(out)


def _occurrence(e: Entry, flags: _Flags) -> Occurrence:
    return Occurrence(
        path=e.path,
        installed_as=e.installed_as,
        resolved=e.resolved,
        integrity=e.integrity,
        checksum=e.checksum,
        conditions=e.conditions,
        line=e.line,
        dev=flags.dev,
        optional=flags.optional,
        dev_optional=flags.dev_optional,
    )


def _reach(by_id: Mapping[str, Entry], starts: Iterable[str], *, skip_optional: bool) -> set[str]:
    seen: set[str] = set()
    queue = deque(s for s in starts if s in by_id)
    seen.update(queue)
    while queue:
        for edge in by_id[queue.popleft()].edges:
            if skip_optional and edge.optional:
                continue
            if edge.target in by_id and edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def _dep_flags(by_id: Mapping[str, Entry], roots: Sequence[Root]) -> dict[str, _Flags]:
    reached = _reach(by_id, (r.target for r in roots), skip_optional=False)
    if len(reached) < len(by_id):
        log.debug("%d lockfile entries no dependency reaches", len(by_id) - len(reached))
    not_dev = _reach(by_id, (r.target for r in roots if not r.dev), skip_optional=False)
    not_optional = _reach(by_id, (r.target for r in roots if not r.optional), skip_optional=True)
    strict = _reach(
        by_id, (r.target for r in roots if not r.dev and not r.optional), skip_optional=True
    )
    out: dict[str, _Flags] = {}
    for key in reached:
        dev = key not in not_dev
        optional = key not in not_optional
        dev_optional = key not in strict
        if dev_optional:  # dev and optional imply it
            out[key] = _Flags(dev, optional, dev_optional)
    return out


def _any_known(flags: Iterable[bool | None]) -> bool | None:
    """True if any is true; else unknown (None) if any is unknown; else False."""
    seen = list(flags)
    if any(seen):
        return True
    return None if None in seen else False
