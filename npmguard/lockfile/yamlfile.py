"""YAML lockfiles (``pnpm-lock.yaml``, Yarn Berry's ``yarn.lock``): loading and key lines.

Loading reads YAML's failsafe schema: every scalar stays a string, as Yarn Berry reads its
lockfile (js-yaml's FAILSAFE schema) and as pnpm's values are meant (a version ``1.10`` is not the
number 1.1; a package named ``yes`` or ``on`` is not a boolean). Readers interpret ``"true"``
themselves. PyYAML's libyaml parser and composer do the work when PyYAML was built with libyaml
(the usual wheels are); our own resolver (everything is a string) and constructor (plain dicts,
lists and strings) replace PyYAML's Python ones, which cost more than the parsing itself on
large lockfiles. Without libyaml, PyYAML's pure-Python ``BaseLoader`` gives the same values.

Line numbers come from one scan of the text: the line of every top-level key and of every key
one level (two spaces) below one, per YAML document. Both tools write keys one per line, so the
scan is exact for their files; a hand-written flow-style file simply gets no line numbers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from npmguard.errors import LockfileError

try:
    from yaml.cyaml import CParser as _CParser  # type: ignore[attr-defined]

    HAVE_LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    HAVE_LIBYAML = False

_CONFLICT = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)
_DOC_START = re.compile(r"^---[ \t]*(#.*)?$")


def load_documents(data: bytes, name: str, hint: str, *, js_yaml_keys: bool = False) -> list[Any]:
    """Every YAML document in ``data`` (empty ones dropped), scalars as strings.

    With ``js_yaml_keys`` (pnpm, which loads its lockfile with js-yaml's default schema), what
    js-yaml would read differently from us is refused rather than read our way: a merge key
    ``<<`` (js-yaml merges the mapping it names into its parent, so it can add entries), a key
    given twice in one mapping (js-yaml stops with "duplicated mapping key"), and a plain
    scalar js-yaml types so that its text changes (``1.10`` is the number 1.1, ``~`` is null,
    ``2001-12-14`` a date), or an explicit tag (``!!int``, ``!!binary``, ``!!set``). pnpm
    quotes such scalars and writes none of the others.

    Errors are :class:`LockfileError` naming ``name`` and the line: not UTF-8, an unresolved
    merge conflict, YAML syntax (with PyYAML's description of the problem), or such a key.
    """
    text = decode(data, name, hint)
    if not text or text.isspace():
        raise LockfileError(f"{name}: empty file", hint=hint)
    conflict = _CONFLICT.search(text) if "<<<<<<<" in text or ">>>>>>>" in text else None
    if conflict:
        line = text.count("\n", 0, conflict.start()) + 1
        raise LockfileError(
            f"{name}: unresolved merge conflict (`{conflict.group(1)}`) at line {line}",
            hint=hint,
        )
    try:
        docs = [d for d in _load_all(text, js_yaml_keys) if d is not None]
    except _KeyRefused as e:
        raise LockfileError(f"{name}: {e.args[0]} at line {e.args[1]}", hint=hint) from e
    except (TypeError, RecursionError) as e:  # a mapping as a key; absurd nesting
        raise LockfileError(f"{name}: not valid YAML for a lockfile ({e})", hint=hint) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = e.problem or e.context or "syntax error"
        raise LockfileError(f"{name}: not valid YAML: {what}{where}", hint=hint) from e
    except yaml.YAMLError as e:  # pragma: no cover - libyaml reports everything as marked
        raise LockfileError(f"{name}: not valid YAML: {e}", hint=hint) from e
    if not docs:
        raise LockfileError(f"{name}: empty file (only comments)", hint=hint)
    return docs


_STR_TAG = "tag:yaml.org,2002:str"

if HAVE_LIBYAML:

    class _FailsafeParser(_CParser):  # type: ignore[misc]
        """libyaml's parser and composer with a resolver that leaves every scalar a string."""

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            return _STR_TAG

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass


class _KeyRefused(Exception):
    """A key js-yaml reads differently: (what, 1-based line)."""


def _load_all(text: str, js_yaml_keys: bool) -> list[Any]:
    if HAVE_LIBYAML:
        parser: Any = _FailsafeParser(text)
    else:  # pragma: no cover - PyYAML built without libyaml
        parser = yaml.BaseLoader(text)
    construct = _construct_checked if js_yaml_keys else _construct
    try:
        docs = []
        while parser.check_node():
            node = parser.get_node()
            if node is not None:
                docs.append(construct(node))
        return docs
    finally:
        parser.dispose()


def _construct(node: Node) -> Any:
    """Plain values from composed nodes: what PyYAML's ``BaseConstructor`` builds."""
    if node.__class__ is ScalarNode:
        return node.value
    if node.__class__ is MappingNode:
        return {_construct(k): _construct(v) for k, v in node.value}
    return [_construct(item) for item in node.value]


# Plain scalars js-yaml's default schema reads as something other than a string (a superset:
# null, booleans, integers in any base, floats, .inf/.nan, timestamps), and the ones among them
# whose JavaScript ``String()`` is the text itself, so that reading them as text changes nothing.
_JS_TYPED = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o[0-7_]+|[0-9_]*[0-9][0-9_]*)"
    r"|[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?"
)
_JS_SAME_TEXT = re.compile(
    r"null|true|false|0|-?[1-9][0-9]{0,14}|-?(?:0|[1-9][0-9]{0,6})\.[0-9]{0,5}[1-9]"
)


def _js_yaml_text(node: ScalarNode) -> str:
    """A scalar's text, refused when js-yaml (pnpm) would read another value from it."""
    text: str = node.value
    if (
        node.style in (None, "")
        and text
        and _JS_TYPED.fullmatch(text)
        and not _JS_SAME_TEXT.fullmatch(text)
    ):
        raise _KeyRefused(
            f"`{text}` is not text to pnpm (js-yaml reads it as a number, date, boolean or"
            " null); quote it",
            node.start_mark.line + 1,
        )
    return text


_PLAIN_TAGS = frozenset({_STR_TAG, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _construct_checked(node: Node) -> Any:
    """:func:`_construct`, refusing what js-yaml reads differently (see load_documents)."""
    if node.tag not in _PLAIN_TAGS:  # `!!int`, `!!binary`, `!!set`, `!!merge`, a local tag
        raise _KeyRefused(f"an explicit YAML tag `{node.tag}`", node.start_mark.line + 1)
    if node.__class__ is ScalarNode:
        return _js_yaml_text(node)  # type: ignore[arg-type]
    if node.__class__ is MappingNode:
        result: dict[Any, Any] = {}
        for k, v in node.value:
            line = k.start_mark.line + 1
            if k.__class__ is ScalarNode and k.value == "<<" and k.style in (None, ""):
                raise _KeyRefused("a YAML merge key `<<` (pnpm would merge its entries in)", line)
            key = _construct_checked(k)
            if key in result:
                raise _KeyRefused(f"the key {key!r} is given twice in one mapping", line)
            result[key] = _construct_checked(v)
        return result
    return [_construct_checked(item) for item in node.value]


def decode(data: bytes, name: str, hint: str) -> str:
    """UTF-8 text without a byte-order mark, or a clear error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LockfileError(f"{name}: not UTF-8 text ({e.reason})", hint=hint) from e
    return text.removeprefix("\ufeff")


@dataclass
class KeyLines:
    """Lines (1-based) of one YAML document's keys: top level, and one level below."""

    top: dict[str, int] = field(default_factory=dict)
    nested: dict[tuple[str, str], int] = field(default_factory=dict)  # (top key, key) -> line

    def line(self, section: str, key: str) -> int | None:
        return self.nested.get((section, key))


_TOP = re.compile(r"^(?:---|[^\s#-]).*$", re.MULTILINE)
_TOP_OR_NESTED = re.compile(r"^(?:---|[^\s#-]|  [^\s#-]).*$", re.MULTILINE)


def key_lines(text: str, nested: frozenset[str] = frozenset()) -> list[KeyLines]:
    """One :class:`KeyLines` per YAML document of ``text`` (documents split at ``---``), with
    the keys one level below the top-level keys named in ``nested``."""
    docs = [KeyLines()]
    seen_content = False
    section = ""
    line, pos = 1, 0
    for m in (_TOP_OR_NESTED if nested else _TOP).finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        found = m.group(0)
        if found[0] != " ":
            if _DOC_START.match(found):
                if seen_content:
                    docs.append(KeyLines())
                seen_content = False
                continue
            seen_content = True
            key = _key(found)
            if key is not None:
                section = key
                docs[-1].top.setdefault(key, line)
        elif section in nested:
            key = _key(found[2:])
            if key is not None:
                docs[-1].nested.setdefault((section, key), line)
    return docs


def _key(text: str) -> str | None:
    """The key a ``key: ...`` line opens (plain, 'single' or "double" quoted), else None."""
    if text[0] == "'":
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                return None
            if text[end + 1 : end + 2] == "'":
                end += 2
                continue
            break
        rest = text[end + 1 :]
        return text[1:end].replace("''", "'") if rest.startswith(":") else None
    if text[0] == '"':
        m = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        if m is None or not text[m.end() :].startswith(":"):
            return None
        try:
            value = json.loads(m.group(0))
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    colon = text.find(": ")
    if colon < 0:
        stripped = text.rstrip()
        return stripped[:-1] if stripped.endswith(":") else None
    return text[:colon]


def mapping(value: object) -> dict[str, Any] | None:
    """``value`` if it is a mapping (with string keys, as BaseLoader gives), else None."""
    return value if isinstance(value, dict) else None


def describe(value: object) -> str:
    """What a YAML value is, for error messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a string"
