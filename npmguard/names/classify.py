"""Campaign name shapes: a small grammar over word lists, scored 0..1.

Each shape is a function from a bare name to a ``NameVerdict`` or None; ``classify`` returns
the best. Scores add up independent clues (a known first name, a known food word, glued digits,
a trailing suffix), so one clue alone never reaches the default threshold (0.6).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from npmguard.names import words
from npmguard.names.tokens import parts, split_scope

# Words that tea.xyz farming names glue to "tea" (teagooddev, appteadev, tealove, teaprotocol).
_TEA_GLUE = frozenset(
    "dev devs app apps good excellent love lover gun guns z s x xyz protocol token tokens "
    "farm farming reward rewards point points pkg package the not tool tools".split()
)
_TECH_SUFFIX = frozenset(
    "js ts jsx tsx node react vue cli sdk api core utils util lib plugin loader types config "
    "server client esm cjs min dist dev test tests mock mocks demo app web ui".split()
)


@dataclass(frozen=True, slots=True)
class NameVerdict:
    """Why a name looks like campaign spam: the shape, a score 0..1 and the decomposition."""

    pattern: str  # "first-food-digits", "adjective-animal", "star-mashup", "tea-farming", ...
    score: float
    parts: tuple[str, ...]  # "first name 'budi'", "food 'rendang'", "digits '23'", ...

    @property
    def explanation(self) -> str:
        return " + ".join(self.parts)


def _food(word: str) -> tuple[str, ...] | None:
    return words.split_into(word, words.foods())


def _tea_token(word: str) -> str | None:
    """``appteadev`` -> "app+tea+dev" when the word is "tea" glued to farming words only."""
    if "tea" not in word or word == "tea":
        return None
    head, _, tail = word.partition("tea")
    pieces = [p for p in (head, tail) if p]
    glue = frozenset(_TEA_GLUE)
    if all(words.split_into(p, glue, 1) is not None for p in pieces):
        return word
    return None


_FOOD_SHAPE = re.compile(
    r"^(?P<first>[a-z]{2,12})-(?P<food>[a-z]{2,}(?:-[a-z]{2,})?)(?P<num>\d{1,3})"
    r"(?:-(?P<suffix>[a-z]{2,16}))?$"
)


def _first_food(bare: str) -> NameVerdict | None:
    """IndonesianFoods: first name + food word + digits (+ suffix): ``budi-rendang23-kyu``."""
    m = _FOOD_SHAPE.match(bare)
    if m is None:
        return None
    first, food, num, suffix = m.group("first", "food", "num", "suffix")
    score, why = 0.1, []
    if first in words.first_names():
        score += 0.35
        why.append(f"first name {first!r}")
    else:
        why.append(f"word {first!r}")
    eaten = _food(food.replace("-", "")) or _food(food)
    tea = _tea_token(food) if eaten is None else None
    if eaten is not None:
        score += 0.4
        why.append(f"food {'+'.join(eaten)!r}")
    elif tea is not None:
        score += 0.3
        why.append(f"tea-farming word {tea!r}")
    else:
        why.append(f"word {food!r}")
    why.append(f"digits {num!r}")
    if suffix is not None:
        if suffix in _TECH_SUFFIX:
            score -= 0.2
        else:
            score += 0.15
        why.append(f"suffix {suffix!r}")
    return NameVerdict("first-food-digits", round(min(score, 1.0), 2), tuple(why))


_NAME_NUM = re.compile(r"^(?P<first>[a-z]{3,12})-(?P<num>\d{1,3})$")


def _first_number(bare: str) -> NameVerdict | None:
    """A first name and a number only: ``sari-27``."""
    m = _NAME_NUM.match(bare)
    if m is None or m.group("first") not in words.first_names():
        return None
    return NameVerdict(
        "first-digits", 0.6, (f"first name {m.group('first')!r}", f"digits {m.group('num')!r}")
    )


def _adjective_animal(bare: str) -> NameVerdict | None:
    """``adjective_animal_z3n``, ``adjective-colour-animal``, ``adjective_animal-somedev``."""
    toks = re.findall(r"[-_.]*[a-z0-9]+", bare)
    texts = [t.lstrip("-_.") for t in toks]
    seps = [t[: len(t) - len(x)] for t, x in zip(toks, texts, strict=True)]
    if len(texts) < 2 or texts[0] not in words.adjectives():
        return None
    i, why, score = 1, [f"adjective {texts[0]!r}"], 0.0
    if texts[i] in words.colours() and i + 1 < len(texts) and texts[i + 1] in words.animals():
        why.append(f"colour {texts[i]!r}")
        score += 0.35
        i += 1
    if texts[i] not in words.animals():
        return None
    why.append(f"animal {texts[i]!r}")
    score += 0.3
    if "_" in seps[1]:
        score += 0.2
        why.append("joined with '_'")
    rest = texts[i + 1 :]
    if rest:
        tail = "".join(seps[i + 1 :]) + "".join(rest)
        if any(r in _TECH_SUFFIX for r in rest):
            score -= 0.2
        else:
            score += 0.3
        why.append(f"suffix {tail.lstrip('-_.')!r}")
    return NameVerdict("adjective-animal", round(min(score, 1.0), 2), tuple(why))


_WORD_WORD_CODE = re.compile(r"^([a-z]{3,})_([a-z]{3,})_([a-z0-9]{2,4})$")


def _underscore_code(bare: str) -> NameVerdict | None:
    """``word_word_x9y``: two underscore-joined words and a short code with a digit."""
    m = _WORD_WORD_CODE.match(bare)
    if m is None or not any(c.isdigit() for c in m.group(3)) or not m.group(3)[0].isalpha():
        return None
    a, b, code = m.groups()
    return NameVerdict(
        "word_word_code", 0.6, (f"word {a!r}", f"word {b!r}", f"code suffix {code!r}")
    )


def _star_mashup(bare: str) -> NameVerdict | None:
    """Package words mixed with star/constellation names: ``parcel-algol-relay-deneb``."""
    ps = parts(bare)
    if len(ps) < 3:
        return None
    stars = [p for p in ps if p in words.astronomy()]
    if not stars:
        return None
    score = 0.25 * len(stars) + 0.1 * (len(ps) - 2)
    why = (f"{len(ps)} words", *(f"star/astronomy {s!r}" for s in stars))
    return NameVerdict("star-mashup", round(min(score, 1.0), 2), why)


def _tea_farming(bare: str) -> NameVerdict | None:
    """A "tea" word glued to farming words (``teagooddev``, ``appteadev``) anywhere in the name."""
    ps = re.split(r"[-_.]+|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", bare)
    teas = [p for p in ps if _tea_token(p) is not None]
    if not teas:
        return None
    score = 0.45 + 0.15 * (len(ps) > 1)
    return NameVerdict("tea-farming", round(score, 2), tuple(f"tea-farming word {t!r}" for t in teas))


def _glued_name_food(bare: str) -> NameVerdict | None:
    """A first name glued to a food word: ``budirendang``, ``sarisate7``."""
    m = re.match(r"^([a-z]{6,24})(\d{0,3})$", bare)
    if m is None:
        return None
    word, num = m.groups()
    for cut in range(3, len(word) - 2):
        first, rest = word[:cut], word[cut:]
        if first in words.first_names():
            eaten = _food(rest)
            if eaten is not None:
                why = [f"first name {first!r}", f"food {'+'.join(eaten)!r}"]
                if num:
                    why.append(f"digits {num!r}")
                return NameVerdict("glued-name-food", 0.6 + 0.1 * bool(num), tuple(why))
    return None


SHAPES: tuple[Callable[[str], NameVerdict | None], ...] = (
    _first_food,
    _first_number,
    _adjective_animal,
    _underscore_code,
    _star_mashup,
    _tea_farming,
    _glued_name_food,
)


def classify(name: str) -> NameVerdict | None:
    """The best-scoring campaign shape for ``name`` (scope ignored), or None if none applies."""
    _scope, bare = split_scope(name.strip().lower())
    best: NameVerdict | None = None
    for shape in SHAPES:
        verdict = shape(bare)
        if verdict is not None and (best is None or verdict.score > best.score):
            best = verdict
    return best
