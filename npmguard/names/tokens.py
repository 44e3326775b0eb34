"""Split a package name into tokens: words and digit runs, with the separator before each."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PIECE = re.compile(r"([-_.]*)([a-z]+|[0-9]+|[^-_.a-z0-9]+)")


@dataclass(frozen=True, slots=True)
class Token:
    """One run of letters (``word``) or digits; ``sep`` is what came before it ("" if glued)."""

    text: str
    sep: str

    @property
    def is_digits(self) -> bool:
        return self.text.isdigit()

    @property
    def is_word(self) -> bool:
        return self.text.isalpha()


def split_scope(name: str) -> tuple[str | None, str]:
    """``@scope/bare`` -> ("scope", "bare"); an unscoped name -> (None, name)."""
    if name.startswith("@") and "/" in name:
        scope, bare = name[1:].split("/", 1)
        return scope, bare
    return None, name


def tokenize(text: str) -> tuple[Token, ...]:
    """Tokens of a bare name (no scope), lowercased: ``budi-sate12_x`` -> budi, -sate, 12, _x."""
    return tuple(Token(m.group(2), m.group(1)) for m in _PIECE.finditer(text.lower()))


def parts(text: str) -> tuple[str, ...]:
    """The separator-delimited parts of a bare name: ``a-b_c.d`` -> (a, b, c, d)."""
    return tuple(p for p in re.split(r"[-_.]+", text.lower()) if p)
