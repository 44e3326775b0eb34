"""Where a key sits in a TOML file, best effort, so policy errors can name a line.

``tomllib`` gives line numbers only for syntax errors; for everything else we scan the text
for table headers and ``key =`` lines. Key paths look like ``rules.too-new.days`` or
``allow[1].reason`` (array-of-tables entries are numbered from 0).
"""

from __future__ import annotations

import re

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]")
_KEY_LINE = re.compile(
    r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_SYNTAX_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _dotted(raw: str) -> str:
    parts = re.findall(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""", raw)
    return ".".join(p.strip("\"'") for p in parts)


def key_lines(text: str) -> dict[str, int]:
    """Key path -> 1-based line of its first appearance (headers and ``key =`` lines)."""
    found: dict[str, int] = {}
    counts: dict[str, int] = {}
    table = ""
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:  # inside a multi-line string: nothing to see
            if in_multiline in line:
                in_multiline = None
            continue
        if m := _ARRAY_HEADER.match(line):
            name = _dotted(m.group(1))
            index = counts.get(name, 0)
            counts[name] = index + 1
            table = f"{name}[{index}]"
            found.setdefault(table, number)
            found.setdefault(name, number)
        elif m := _TABLE_HEADER.match(line):
            table = _dotted(m.group(1))
            found.setdefault(table, number)
        elif m := _KEY_LINE.match(line):
            key = _dotted(m.group(1))
            path = f"{table}.{key}" if table else key
            found.setdefault(path, number)
            rest = line[m.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return found


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path``, else of the nearest enclosing key or table that has one."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return None
        path = path[:cut]
    return None


def syntax_position(message: str) -> tuple[int, int] | None:
    """(line, column) from a ``tomllib.TOMLDecodeError`` message, if it carries one."""
    m = _SYNTAX_POSITION.search(message)
    return (int(m.group(1)), int(m.group(2))) if m else None
