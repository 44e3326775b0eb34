"""Reading a lockfile's JSON text: clear errors for damaged files, the line of every key, and
the type checks npmguard makes on each entry before it trusts a field."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from npmguard.errors import LockfileError

REGENERATE = "regenerate the lockfile with `npm install --package-lock-only`"
_DAMAGED = "the file is damaged; regenerate it with `npm install --package-lock-only`"
# a line that opens an object under a key: `    "node_modules/x": {`
_OBJECT_KEY = re.compile(r'^([ \t]*)"((?:[^"\\\n]|\\.)*)"[ \t]*:[ \t]*\{', re.MULTILINE)
_CONFLICT = re.compile(r"^<<<<<<< ", re.MULTILINE)
FLAGS = (
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
DEPENDENCY_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")


def load_json(data: bytes, name: str) -> dict[str, Any]:
    """The top-level object of a lockfile; ``LockfileError`` naming the file and the line."""
    if not data.strip():
        raise LockfileError(f"{name}: empty file, expected a JSON object", hint=_DAMAGED)
    from npmguard.jsontext import JsonError, loads

    try:
        doc = loads(data)
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
            f"{name}: not valid JSON: {what} at line {e.lineno} column {e.colno}", hint=_DAMAGED
        ) from e
    except UnicodeDecodeError as e:
        raise LockfileError(
            f"{name}: not valid JSON: not UTF-8 text ({e.reason})", hint=_DAMAGED
        ) from e
    except JsonError as e:
        raise LockfileError(f"{name}: not valid JSON: {e}", hint=_DAMAGED) from e
    if not isinstance(doc, dict):
        raise LockfileError(
            f"{name}: expected a JSON object at the top level, found {kind(doc)}", hint=_DAMAGED
        )
    return doc


def kind(value: object) -> str:
    """What a JSON value is, for messages ("a string", "an array", "null")."""
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


def as_object(value: object, name: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LockfileError(
            f"{name}: {where}: expected an object, found {kind(value)}", hint=REGENERATE
        )
    return value


def opt_str(entry: Mapping[str, Any], key: str) -> str | None:
    """A string field; npm 6 sometimes wrote ``""`` or ``false`` for "none", read as absent."""
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


def check_entry(entry: dict[str, Any], name: str, where: str, *, v1: bool = False) -> None:
    """Refuse an entry whose fields have types npm never writes (``LockfileError``)."""
    for key in ("version", "resolved", "integrity", "name", "from"):
        value = entry.get(key)
        if value is False and key in ("resolved", "integrity", "from"):
            continue  # npm 6 wrote `"resolved": false` for some nested entries; npm skips it
        if value is not None and not isinstance(value, str):
            raise LockfileError(
                f"{name}: {where}.{key}: expected a string, found {kind(value)}", hint=REGENERATE
            )
    for key in FLAGS:
        value = entry.get(key)
        if value is not None and not isinstance(value, bool):
            raise LockfileError(
                f"{name}: {where}.{key}: expected true or false, found {kind(value)}",
                hint=REGENERATE,
            )
    for key in ("requires",) if v1 else DEPENDENCY_FIELDS:
        value = entry.get(key)
        if value is None or (key == "requires" and isinstance(value, bool)):
            continue
        deps = as_object(value, name, f"{where}.{key}")
        for dep, spec in deps.items():
            if not isinstance(spec, str):
                raise LockfileError(
                    f"{name}: {where}.{key}[{json.dumps(dep)}]: expected a string, "
                    f"found {kind(spec)}",
                    hint=REGENERATE,
                )


def check_v1_tree(deps: object, name: str, where: str = "") -> None:
    """:func:`check_entry` on every entry of a v1 ``dependencies`` tree, nested ones too."""
    tree = as_object(deps, name, f"{where}dependencies")
    for folder, raw in tree.items():
        here = f"{where}dependencies[{json.dumps(folder)}]"
        entry = as_object(raw, name, here)
        check_entry(entry, name, here, v1=True)
        if entry.get("dependencies") is not None:
            check_v1_tree(entry["dependencies"], name, f"{here}.")


class KeyLines:
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

    def lines_for(self, wanted: Collection[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
        """What :meth:`line` gives for each of the ``wanted`` key paths that has a line,
        without the pass over every key when few are wanted (the entries a commit changed).

        A path's line is that of the first key line whose path it is; every such line opens
        an object under the path's last key, so only the key lines indented less than the
        deepest of those candidates can be its parents (deeper lines never pop a shallower
        one off the stack): those and the candidates give exactly :meth:`line`'s answer. A
        text with escapes (a key could be written ``\\u0061``), or many paths, takes the
        whole pass."""
        if self._lines is not None or len(wanted) > _FEW_PATHS or b"\\" in self._data:
            return {p: n for p in wanted if (n := self.line(*p)) is not None}
        text = self._data.decode("utf-8", errors="replace")
        candidates: dict[int, tuple[int, str]] = {}  # position -> (indent, key)
        for key in {p[-1] for p in wanted if p}:
            quoted = f'"{key}"'
            at = text.find(quoted)
            while at != -1:
                start = at  # a key line has only spaces and tabs before the key: no search
                while start and text[start - 1] in " \t":  # back to the line's start
                    start -= 1
                if not start or text[start - 1] == "\n":
                    m = _OBJECT_KEY.match(text, start)
                    if m is not None and m.start(2) == at + 1 and m.group(2) == key:
                        candidates[start] = (len(m.group(1)), key)
                at = text.find(quoted, at + 1)
        if not candidates:
            return {}
        deepest = max(indent for indent, _ in candidates.values())
        shallow = {  # a match starts at the newline before its line
            m.start() + 1: (len(m.group(1)), m.group(2))
            for m in _shallow_keys(deepest).finditer(text)
        }
        first = _OBJECT_KEY.match(text)
        if first is not None and len(first.group(1)) < deepest:
            shallow[0] = (len(first.group(1)), first.group(2))
        found: dict[tuple[str, ...], int] = {}
        stack: list[tuple[int, str]] = []
        line, counted = 1, 0  # the line at ``counted``: newlines counted once, in order
        for start in sorted(shallow.keys() | candidates.keys()):
            indent, key = shallow.get(start) or candidates[start]
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key))
            if start in candidates:
                path = tuple(k for _, k in stack)
                if path in wanted and path not in found:
                    line += text.count("\n", counted, start)
                    counted = start
                    found[path] = line
        return found

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
            key = _key(raw) if "\\" in raw else raw
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key))
            found.setdefault(tuple(k for _, k in stack), line)
        return found


_FEW_PATHS = 64  # more wanted paths than this: one pass over every key is cheaper


@functools.lru_cache(maxsize=4)
def _shallow_keys(below: int) -> re.Pattern[str]:
    """:data:`_OBJECT_KEY` for key lines but the first indented by fewer than ``below``
    spaces or tabs, each match starting at the newline before its line (a search for the
    newline is many times faster than trying ``^`` at every character)."""
    if below == 0:
        return re.compile(r"(?!)")  # nothing is indented less than nothing
    return re.compile(rf'\n([ \t]{{0,{below - 1}}}+)"((?:[^"\\\n]|\\.)*)"[ \t]*:[ \t]*\{{')


def _key(raw: str) -> str:
    """A key as the lockfile's reader decoded it (escapes, lone surrogates replaced)."""
    from npmguard.jsontext import loads

    try:
        key = loads(f'"{raw}"')
    except ValueError:  # cannot happen once the whole file parsed; a key that never matches
        return raw
    return key if isinstance(key, str) else raw
