"""JSON from files and servers npmguard does not control, read as Node's ``JSON.parse`` reads it.

Lockfiles, package documents, ``package.json`` files and feed records all go through
:func:`loads`, so no shape of input can crash a later stage:

- an integer longer than Python's 4,300-digit conversion limit becomes a float (Node reads
  every number as a double), instead of ``ValueError`` from ``int()``;
- ``NaN``, ``Infinity`` and ``-Infinity`` are refused, as Node refuses them (Python's reader
  accepts them);
- nesting deeper than the interpreter can recurse is a :class:`JsonError` naming the limit,
  not a ``RecursionError``;
- a lone UTF-16 surrogate written as an escape (``"\\ud800"``) becomes U+FFFD: such a string
  cannot be encoded as UTF-8, so it could reach neither SQLite, nor a report, nor a terminal.
  (Node keeps it, and then fails wherever it encodes the string: ``encodeURIComponent``
  throws on it.)

Errors are :class:`JsonError` (a ``ValueError``); syntax errors stay
``json.JSONDecodeError`` (also a ``ValueError``) so callers can report their line.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Python's int() refuses more digits than this (sys.get_int_max_str_digits, PEP 651)
_INT_DIGITS = 4300
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonError(ValueError):
    """JSON that is well-formed for Python's reader but not for npm's, or too deep to read."""


def _int(text: str) -> int | float:
    digits = len(text) - (text[0] == "-")
    return int(text) if digits <= _INT_DIGITS else float(text)


def _constant(name: str) -> Any:
    raise JsonError(f"{name} is not JSON (Node's JSON.parse refuses it)")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonError(f"the key {json.dumps(key)} is given twice in one object")
        out[key] = value
    return out


_DECODER = json.JSONDecoder(parse_int=_int, parse_constant=_constant)
_UNIQUE_DECODER = json.JSONDecoder(
    parse_int=_int, parse_constant=_constant, object_pairs_hook=_unique
)


def loads(data: bytes | bytearray | str, *, unique_keys: bool = False) -> Any:
    """``data`` (UTF-8 bytes, or text) parsed as Node would (see the module docs).

    ``unique_keys`` refuses an object with a key given twice (a :class:`JsonError`): for
    readers whose tool does not keep the last one as ``JSON.parse`` does (Bun keeps the first
    top-level one and ignores a lockfile with one deeper down).

    Raises ``json.JSONDecodeError`` for a syntax error, :class:`JsonError` for what Node
    refuses, what is nested too deeply or a repeated key, ``UnicodeDecodeError`` for bytes that
    are not UTF-8 text.
    """
    text = data if isinstance(data, str) else bytes(data).decode("utf-8-sig")
    try:
        value = (_UNIQUE_DECODER if unique_keys else _DECODER).decode(text)
    except RecursionError:
        raise JsonError(
            "nested too deeply to read (arrays and objects inside each other)"
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        value = _replace_lone_surrogates(value)
    return value


def _clean(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _replace_lone_surrogates(value: Any) -> Any:
    """``value`` with every string (keys too) that holds a lone surrogate cleaned; walks the
    containers with a stack, not recursion (they may be nested as deep as the reader allows)."""
    if isinstance(value, str):
        return _clean(value) if _has_surrogate(value) else value
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                item = node[key]
                if isinstance(item, str) and _has_surrogate(item):
                    item = node[key] = _clean(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
                if _has_surrogate(key):
                    del node[key]
                    node[_clean(key)] = item
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str) and _has_surrogate(item):
                    node[i] = _clean(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value
