"""What a commit changed in a lockfile (``--changed-since``): the name@version keys of the
entries added or changed since an older copy of the file.

A change is anything the lockfile says of an entry that a rule or the policy's scope could
read: its source, integrity or checksum, its Arborist flags (an entry that stops being ``dev``
or ``inBundle`` comes into scope), Yarn's ``conditions``, whether it has install scripts, its
dependencies or license. Only the folder it sits in and its line do not count: a copy that
only moved (hoisting) is not a change. Every occurrence counts: a tampered nested copy of a
known name@version is a change.

:func:`changed_keys` reads the old copy with the reader its name picks (any format). For npm's
``packages`` lockfiles (v2, v3, shrinkwrap, the hidden lockfile) it first compares the raw
entries of both copies by path (two ``json.loads``) and reads only the old entries that could
say something different, each with the context npm's reader gives it: the root's workspaces,
every link and its target, the other copies of the same name@version, and the entries its
optional and peer dependencies resolve to. The answer is the same as from the whole old file
(a differential test edits real lockfiles at random and compares); whenever a difference
reaches past single entries (``lockfileVersion``, the workspaces, a link, the order of the
entries, a number where npm writes true or false, which only the full read refuses) the whole
old file is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields
from operator import attrgetter
from typing import Any

from npmguard.errors import LockfileError
from npmguard.lockfile import parse_lockfile_text, spec_for_name
from npmguard.lockfile.jsonfile import DEPENDENCY_FIELDS
from npmguard.lockfile.npm import _target as link_target
from npmguard.model import LockedPackage, Lockfile, Occurrence

# what an occurrence says apart from its folder and line: the fields its equality compares
# (a tuple of them, far cheaper than a copy of the dataclass to compare)
_SAID = attrgetter(
    *(f.name for f in fields(Occurrence) if f.compare and f.name not in ("path", "line"))
)
_MISSING = object()
_NODE_MODULES = "node_modules/"
# a JSON number after a key (and, rarely, such text inside a string): ``1 == True`` in Python,
# so a flag written as a number would compare equal to npm's true while the reader refuses it
_NUMBER_VALUE = re.compile(rb":\s*[-0-9]")
_OPTIONAL_FIELDS = tuple(f for f in DEPENDENCY_FIELDS if f != "dependencies")


def changed_keys(
    lockfile: Lockfile, old: bytes, *, quick: bool = True, shown: str | None = None
) -> set[str]:
    """name@version keys of ``lockfile`` that are new or changed against ``old`` (the bytes
    of an older copy of the same file, named ``shown`` in errors: ``package-lock.json at
    HEAD``). ``quick=False`` always reads the whole old file (the reference the quick
    comparison is tested against).

    Raises :class:`~npmguard.errors.LockfileError` when the old copy cannot be read."""
    if quick:
        found = _npm_quick(lockfile, old)
        if found is not None:
            return found
    before = said(parse_lockfile_text(old, lockfile.path, display_name=shown, lines=False).packages)
    return {str(changed[0]) for changed in said(lockfile.packages) - before}


def said(packages: Iterable[LockedPackage]) -> set[tuple[object, ...]]:
    """What the lockfile says of each occurrence of ``packages``, with the package's key
    first: two copies agree on a package exactly when these sets agree on its key."""
    out: set[tuple[object, ...]] = set()
    for p in packages:
        head = (
            p.key,
            p.source,
            p.has_install_script,
            tuple(sorted(p.dependencies.items())),
            p.license,
        )
        out.update((*head, _SAID(o)) for o in p.occurrences)
    return out


def _npm_quick(lockfile: Lockfile, old: bytes) -> set[str] | None:
    """:func:`changed_keys` for npm's ``packages`` lockfiles without reading every old
    entry; None when the two copies differ in a way only the full read answers."""
    spec = spec_for_name(lockfile.path.name)
    if spec is None or spec.tool != "npm" or not lockfile.format.startswith("npm-"):
        return None
    after: Mapping[str, Any] | None
    if lockfile.kept is not None:  # read with lines_later: the document it was read from
        after = lockfile.kept.document
    else:
        try:  # the working-tree copy again
            after = _load(lockfile.path.read_bytes())
        except OSError:
            return None
    before = _load(old)
    if before is None or after is None:
        return None  # the full read says what is wrong with the old copy
    po, pn = before.get("packages"), after.get("packages")
    if not isinstance(po, dict) or not isinstance(pn, dict):
        return None
    free = _same_frame(old, before, after)
    if free is None:
        return None
    key_of: dict[str, str] = {}  # every new entry's name@version
    for package in lockfile.packages:
        key = package.key
        for occurrence in package.occurrences:
            key_of[occurrence.path] = key
    if len(key_of) != len(pn) - ("" in pn):
        return None  # not the file `lockfile` was read from
    touched = _touched(po, pn)
    if touched is None or len(touched) > len(pn) // 2:
        return None  # a link changed, or so much changed that the full read is cheaper
    # the entries every reduced read keeps: the root (workspaces), the folders outside
    # node_modules (workspaces and their copies), every link and its target
    links = [k for k, meta in pn.items() if meta.get("link")]
    frame = {"", *free, *links, *(link_target(pn[k]) for k in links)}
    version = before.get("lockfileVersion", _MISSING)
    first = _read_some(po, frame | touched, version, lockfile)
    if first is None:
        return None
    old_key = {o.path: p.key for p in first.packages for o in p.occurrences}
    keys = {key_of[k] for k in touched if k in key_of}
    keys |= {old_key[k] for k in touched if k in old_key}
    # every old copy of those keys (an entry not touched has its new key), and the entries
    # their optional and peer dependencies may resolve to (whether one is found decides
    # whether the dependency is listed)
    keep = frame | touched | {k for k in po if key_of.get(k) in keys}
    wanted = {d for k in keep if isinstance(po.get(k), dict) for d in _optional(po[k])}
    if any("node_modules" in d for d in wanted):
        return None
    if wanted:
        keep |= {k for k in po if k.rpartition(_NODE_MODULES)[2] in wanted and _NODE_MODULES in k}
    second = _read_some(po, keep, version, lockfile)
    if second is None:
        return None
    now = said(p for p in lockfile.packages if p.key in keys)
    then = said(p for p in second.packages if p.key in keys)
    return {str(changed[0]) for changed in now - then}


def _load(data: bytes) -> dict[str, Any] | None:
    """The top-level object, or None for anything the full read refuses with an error."""
    from npmguard.jsontext import loads

    try:
        doc = loads(data)
    except ValueError:  # not JSON, not UTF-8, or JSON that Node refuses
        return None
    return doc if isinstance(doc, dict) else None


def _same_frame(old: bytes, before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str] | None:
    """The entries outside ``node_modules`` (workspaces, ``file:`` folders) when what the
    reader reads around the entries is the same in both copies, else None: the
    ``lockfileVersion``, the root's ``workspaces``, those entries' paths, the order of the
    entries both have; and the old copy writes no number where the new one may write true
    or false (one number, the ``lockfileVersion``, is expected)."""
    version = before.get("lockfileVersion", _MISSING)
    other = after.get("lockfileVersion", _MISSING)
    if type(version) is not type(other) or version != other:
        return None
    numbers = 1 if type(version) in (int, float) else 0
    if len(_NUMBER_VALUE.findall(old)) > numbers:
        return None
    po, pn = before["packages"], after["packages"]
    ro, rn = po.get("") or {}, pn.get("") or {}
    if not isinstance(ro, dict) or not isinstance(rn, dict):
        return None
    if ro.get("workspaces") != rn.get("workspaces"):
        return None
    free = _free(pn)
    if _free(po) != free or [k for k in po if k in pn] != [k for k in pn if k in po]:
        return None
    return free


def _free(packages: Mapping[str, Any]) -> set[str]:
    """Entries outside any ``node_modules`` folder: workspaces, ``file:`` folders."""
    return {
        k
        for k in packages
        if k and not k.startswith(_NODE_MODULES) and "node_modules" not in k.split("/")
    }


def _touched(po: Mapping[str, Any], pn: Mapping[str, Any]) -> set[str] | None:
    """Entries whose reading may differ between the copies: added, removed or changed ones,
    every link (it takes its target's name, version and flags), and entries with an optional
    or peer dependency named like an added or removed folder (found or not decides whether
    the dependency is listed). None when a link itself changed."""
    added = [k for k in pn if k not in po]
    removed = [k for k in po if k not in pn]
    changed = [k for k, meta in pn.items() if po.get(k, meta) != meta]
    for k in (*added, *changed):
        if pn[k].get("link"):
            return None
    for k in (*removed, *changed):
        if not isinstance(po[k], dict) or po[k].get("link"):
            return None
    out = {*added, *removed, *changed}
    out |= {k for k, meta in pn.items() if meta.get("link")}
    moved: set[str] = set()  # dependency names a folder added or removed can be found as
    for k in (*added, *removed):
        at = k.find(_NODE_MODULES)
        while at != -1:
            moved.add(k[at + len(_NODE_MODULES) :])
            at = k.find(_NODE_MODULES, at + 1)
    if moved:
        out |= {
            k for k, meta in pn.items() if k not in out and not moved.isdisjoint(_optional(meta))
        }
    out.discard("")
    return out


def _optional(meta: Mapping[str, Any]) -> set[str]:
    """Names an entry depends on optionally or as peers (listed only when found)."""
    out: set[str] = set()
    for fld in _OPTIONAL_FIELDS:
        deps = meta.get(fld)
        if isinstance(deps, dict):
            out.update(deps)
    return out


def _read_some(
    packages: Mapping[str, Any], keep: set[str], version: object, lockfile: Lockfile
) -> Lockfile | None:
    """The reader's view of the entries in ``keep`` (in the file's order), under the file's
    ``lockfileVersion``; None when the reader refuses them (the full read then says why)."""
    doc: dict[str, object] = {"packages": {k: v for k, v in packages.items() if k in keep}}
    if version is not _MISSING:
        doc["lockfileVersion"] = version
    try:
        return parse_lockfile_text(json.dumps(doc).encode(), lockfile.path, lines=False)
    except LockfileError:
        return None


__all__ = ["changed_keys", "said"]
