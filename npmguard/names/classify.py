"""Campaign name shapes: a small grammar over word lists, scored 0..1.

Each shape is a function from a bare name to a ``NameVerdict`` or None; ``classify`` returns
the best. Scores add up independent clues (a known first name, a known food word, glued digits,
a trailing suffix), so one clue alone never reaches the default threshold (0.6).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass

from npmguard.facts import NameLookup
from npmguard.names import words
from npmguard.names.syllables import campaign_lean
from npmguard.names.tokens import parts, split_scope


class PopularWords:
    """Every letter run in the popular names (scope dropped): the words npm people use,
    as a container (``word in words``), answered by the name data."""

    def __init__(self, names: NameLookup) -> None:
        self._names = names

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._names.is_word(word)


@dataclass(frozen=True)
class Lexicon:
    """What the shapes look words up in: the popular-names data, and its words."""

    names: NameLookup

    @property
    def words(self) -> PopularWords:
        return PopularWords(self.names)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that tea.xyz farming names glue to "tea" (teagooddev, appteadev, tealove, teaprotocol).
_TEA_GLUE = _wordset(
    "dev devs app apps good excellent love lover gun guns z s x xyz protocol token "
    "tokens farm farming reward rewards point points pkg package the not tool tools"
)
_TECH_SUFFIX = _wordset(
    "js ts jsx tsx node react vue cli sdk api core utils util lib plugin loader types "
    "config server client esm cjs min dist dev test tests mock mocks demo app web ui"
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


def _first_food(bare: str, lex: Lexicon) -> NameVerdict | None:
    """IndonesianFoods: first name + food word + digits (+ suffix): ``budi-rendang23-kyu``."""
    m = _FOOD_SHAPE.match(bare)
    if m is None:
        return None
    first, food, num, suffix = m.group("first", "food", "num", "suffix")
    score, why = 0.1, []
    # words npm people never use in popular names are a weak clue each
    npm_words = lex.words
    score += 0.1 * sum(
        1 for w in (first, food.replace("-", ""), suffix) if w is not None and w not in npm_words
    )
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


def _first_number(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A first name (or a name-like word npm never uses) and a number only: ``sari-27``."""
    m = _NAME_NUM.match(bare)
    if m is None:
        return None
    first, num = m.group("first", "num")
    if first in words.first_names():
        return NameVerdict("first-digits", 0.6, (f"first name {first!r}", f"digits {num!r}"))
    return None


def _name_like_number(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A name-like word npm never uses and a number: ``sulastri-27``."""
    m = _NAME_NUM.match(bare)
    if m is None:
        return None
    first, num = m.group("first", "num")
    if first not in lex.words and campaign_lean(first) >= 0:
        # a word npm never uses that reads like the campaign's names: "sulastri-27"
        why = (f"unknown name-like word {first!r}", f"digits {num!r}")
        return NameVerdict("first-digits", 0.6, why)
    return None


def _adjective_animal(bare: str, lex: Lexicon) -> NameVerdict | None:
    """``adjective_animal_z3n``, ``adjective-colour-animal``, ``adjective_animal-somedev``.

    The animal must be a known one; the adjective may be one the list lacks when the animal is
    joined with ``_`` or preceded by a colour (generators draw from thousands of adjectives).
    """
    toks = re.findall(r"[-_.]*[a-z0-9]+", bare)
    texts = [t.lstrip("-_.") for t in toks]
    seps = [t[: len(t) - len(x)] for t, x in zip(toks, texts, strict=True)]
    if len(texts) < 2 or not texts[0].isalpha():
        return None
    known_adjective = texts[0] in words.adjectives()
    score = 0.15 if known_adjective else 0.0
    why = [f"adjective {texts[0]!r}" if known_adjective else f"word {texts[0]!r}"]
    i = 1
    if len(texts) > 2 and texts[1] in words.colours() and texts[2] in words.animals():
        why.append(f"colour {texts[1]!r}")
        score += 0.35
        i = 2
    if texts[i] not in words.animals():
        return None
    why.append(f"animal {texts[i]!r}")
    score += 0.3
    underscore = "_" in seps[1]
    if underscore:
        score += 0.2
        why.append("joined with '_'")
    elif not known_adjective and i == 1:
        return None
    rest = texts[i + 1 :]
    if rest:
        tail = "".join(s + t for s, t in zip(seps[i + 1 :], rest, strict=True)).lstrip("-_.")
        npm_words = lex.words
        if any(r in _TECH_SUFFIX for r in rest):
            score -= 0.2
        elif all(r not in npm_words for r in rest) or underscore:
            score += 0.3
        else:
            score += 0.05
        why.append(f"suffix {tail!r}")
    return NameVerdict("adjective-animal", round(min(score, 1.0), 2), tuple(why))


_WORD_WORD_CODE = re.compile(r"^([a-z]{3,})_([a-z]{3,})_([a-z][0-9][a-z])$")


def _underscore_code(bare: str, lex: Lexicon) -> NameVerdict | None:
    """``word_word_x9y``: two underscore-joined words and a letter-digit-letter code."""
    m = _WORD_WORD_CODE.match(bare)
    if m is None:
        return None
    a, b, code = m.groups()
    return NameVerdict(
        "word_word_code", 0.6, (f"word {a!r}", f"word {b!r}", f"code suffix {code!r}")
    )


# Astronomy words that are also ordinary project names: they count for less.
_COMMON_SKY = _wordset(
    "quasar hydra orion atlas apollo mercury mars venus phoenix pegasus gemini nova "
    "cosmos galaxy comet eclipse aurora zenith titan luna nebula pulsar meteor asteroid "
    "jupiter saturn neptune pluto io leo libra virgo ara crater norma musca indus ariel "
    "miranda rhea vela lupus mensa cancer taurus aries pisces draco crux corona coma "
    "ceres vesta pallas eris mimosa peacock phoebe titania oberon sirius vega polaris "
    "capella spica castor pollux regulus rigel altair europa callisto hyperion solstice "
    "equinox parsec lightyear supernova magnetar"
)


_SCIENCE = re.compile(r"..(?:ology|onomy|ography|ogenesis|ophysics|otechnology)$")


_HYPHENATED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


def _star_mashup(bare: str, lex: Lexicon, min_sky: int = 1) -> NameVerdict | None:
    """Package words mixed with star/constellation names: ``parcel-algol-relay-deneb``.

    ``min_sky``: how many distinct sky or science words the name needs."""
    if not _HYPHENATED.fullmatch(bare):
        return None
    ps = parts(bare)
    if len(ps) < 3:
        return None
    stars = [p for p in ps if p in words.astronomy() and len(p) > 2]
    if not stars and not any(_SCIENCE.search(p) for p in ps):
        return None
    # sky words that popular packages also use ("quasar", "prometheus") count for less
    npm_words = lex.words
    strong = sum(1 for p in stars if p not in _COMMON_SKY and p not in npm_words)
    science = sum(1 for p in ps if _SCIENCE.search(p))
    if strong + science == 0 and len(stars) < 2:
        return None  # one word like "neutrino" or "aurora" is a project name, not a mashup
    if len({p for p in ps if p in stars or _SCIENCE.search(p)}) < min_sky:
        return None
    score = 0.4 * strong + 0.15 * (len(stars) - strong) + 0.1 * (len(ps) - 3)
    score += 0.2 * science
    # other popular one-word package names mixed in ("parcel", "rimraf", "sqlite")
    score += 0.1 * sum(1 for p in ps if p not in stars and (lex.names.downloads(p) or 0) >= 300_000)
    why = (f"{len(ps)} words", *(f"star/astronomy {s!r}" for s in stars))
    return NameVerdict("star-mashup", round(min(score, 1.0), 2), why)


def _scoped_star_mashup(bare: str, lex: Lexicon) -> NameVerdict | None:
    """Within a scope one sky word is the owner's project name (``@org/x-cosmology-utils``):
    a scoped mashup needs two."""
    return _star_mashup(bare, lex, min_sky=2)


_GLUE = _wordset(
    "plugin loader config preset core utils util types cli server client react vue node js "
    "dev web api"
)


def _star_combo(bare: str, lex: Lexicon) -> NameVerdict | None:
    """Four or more words mixing a sky word with unknown words or several package names.

    ``rimraf-kaus-despina-grus``, ``cassini-cors-concurrently-nuxtjs``: legitimate names put
    one ecosystem word first (``eslint-plugin-...``); mashups scatter package names and sky
    words anywhere. Only for unscoped names (scoped names belong to their scope's owner).
    """
    if not _HYPHENATED.fullmatch(bare):
        return None
    ps = bare.split("-")
    if len(ps) < 4:
        return None
    sky = [p for p in ps if p in words.astronomy() and len(p) > 2]
    if not sky:
        return None
    npm_words = lex.words
    unknown = [p for p in ps if p not in npm_words]
    projects = [
        p
        for p in ps[1:]
        if len(p) >= 3 and p not in _GLUE and (lex.names.downloads(p) or 0) >= 1_000_000
    ]
    if not (len(unknown) >= 2 or (unknown and projects) or len(projects) >= 2 or len(sky) >= 2):
        return None
    why = (
        f"{len(ps)} words",
        *(f"sky word {p!r}" for p in sky),
        *(f"unknown word {p!r}" for p in unknown if p not in sky),
        *(f"package name {p!r}" for p in projects),
    )
    return NameVerdict("star-mashup", 0.6, why)


_TEA_NUMBER = re.compile(r"^[a-z]{3,}[-_.]tea\d{1,3}$")


def _farming_suffix(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A word and a suffix glued from farming words only: ``halibut-notthedevs``, ``x-devapp``.

    The suffix must be at least two such words and not a word npm people use (``devtools``).
    """
    head, sep, tail = bare.rpartition("-")
    if not sep or not head or tail in lex.words:
        return None
    glued = words.split_into(tail, _TEA_GLUE, 2)
    if glued is None or len(glued) < 2:
        return None
    why = (f"word {head!r}", f"farming suffix {'+'.join(glued)!r}")
    return NameVerdict("tea-farming", 0.6, why)


_FOOD_NUMBER = re.compile(r"^([a-z]{4,16})(\d{1,3})$")


def _food_number(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A food word glued to a counter: ``karedok24``, ``baso101``."""
    m = _FOOD_NUMBER.match(bare)
    if m is None or m.group(1) not in words.foods():
        return None
    return NameVerdict("food-digits", 0.6, (f"food {m.group(1)!r}", f"digits {m.group(2)!r}"))


# Greek letters name stars (Bayer designations) and turn up in the mashups; the common ones
# (alpha, beta, delta, lambda, ...) are everyday package words, so one alone counts only if rare
_GREEK = _wordset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "sigma tau upsilon phi chi psi omega"
)
_RARE_GREEK = _wordset("zeta eta iota kappa mu nu xi omicron rho tau upsilon phi chi psi epsilon")


def _greek_mashup(bare: str, lex: Lexicon) -> NameVerdict | None:
    """Four or more words with a rare Greek letter (or two of any) among package and unknown
    words: ``wind-psi-zeta-debug-zeta``, ``byte-nu-monitor-module-static``. Unscoped only."""
    if not _HYPHENATED.fullmatch(bare):
        return None
    ps = bare.split("-")
    if len(ps) < 4:
        return None
    greek = [p for p in ps if p in _GREEK]
    if not any(p in _RARE_GREEK for p in greek) and len(greek) < 2:
        return None
    npm_words = lex.words
    unknown = [p for p in ps if p not in npm_words]
    projects = [
        p
        for p in ps
        if len(p) >= 3 and p not in _GLUE and (lex.names.downloads(p) or 0) >= 1_000_000
    ]
    if not (unknown or projects or len(greek) >= 2):
        return None
    why = (
        f"{len(ps)} words",
        *(f"Greek letter {p!r}" for p in greek),
        *(f"unknown word {p!r}" for p in unknown if p not in greek),
        *(f"package name {p!r}" for p in projects),
    )
    return NameVerdict("star-mashup", 0.6, why)


def _tea_farming(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A "tea" word glued to farming words (``teagooddev``, ``appteadev``) anywhere in the name."""
    ps = re.split(r"[-_.]+|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", bare)
    teas = [p for p in ps if _tea_token(p) is not None]
    if not teas and _TEA_NUMBER.search(bare) and len(ps) > 2:
        teas = ["tea"]  # "lintang-tea27": a word, then "tea" and a counter
    if not teas:
        return None
    score = 0.45 + 0.15 * (len(ps) > 1)
    return NameVerdict(
        "tea-farming", round(score, 2), tuple(f"tea-farming word {t!r}" for t in teas)
    )


def _glued_name_food(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A first name glued to a food word: ``budirendang``, ``sarisate7``."""
    m = re.match(r"^([a-z]{6,24})(\d{0,3})$", bare)
    if m is None:
        return None
    word, num = m.groups()
    given = words.given_names()
    for cut in range(3, len(word) - 2):
        first, rest = word[:cut], word[cut:]
        if first in given:
            eaten = _food(rest)
            if eaten is not None:
                why = [f"first name {first!r}", f"food {'+'.join(eaten)!r}"]
                if num:
                    why.append(f"digits {num!r}")
                return NameVerdict("glued-name-food", 0.6 + 0.1 * bool(num), tuple(why))
    return None


_WORDS_DIGITS = re.compile(r"^([a-z]{2,14})-([a-z]{2,14})(\d{1,3})(?:-([a-z]{2,16}))?$")


def _unknown_words_digits(bare: str, lex: Lexicon) -> NameVerdict | None:
    """Two words npm never uses, then glued digits: ``kelapa-nokiru38``, ``sumbu-taliwa7-ruk``."""
    m = _WORDS_DIGITS.match(bare)
    if m is None:
        return None
    a, b, num, suffix = m.groups()
    npm_words = lex.words
    unknown = [w for w in (a, b, suffix) if w is not None and w not in npm_words]
    if len(unknown) < 2:
        return None
    why = (*(f"unknown word {w!r}" for w in unknown), f"digits {num!r}")
    return NameVerdict("unknown-words-digits", 0.6 + 0.1 * (len(unknown) - 2), why)


_INNER_DIGITS = re.compile(r"[a-z]\d+[a-z]")
_NUMERONYM = re.compile(r"^[a-z]\d+[a-z]$")  # i18n, k8s, n8n, a11y, e2e


def _is_noise(part: str, npm_words: Container[str]) -> bool:
    """Digits inside a part's letters (``fs0boina``, ``al1f``), where the part is no numeronym
    (``i18n``) nor words npm people use around a version (``sqlite3sync``, ``es6promise``)."""
    if not _INNER_DIGITS.search(part) or _NUMERONYM.match(part):
        return False
    runs = re.findall(r"[a-z]+", part)
    return not all(len(run) >= 3 and run in npm_words for run in runs)


def _random_syllables(bare: str, lex: Lexicon) -> NameVerdict | None:
    """Parts that read like generated syllables, not words: ``kulima-dosafi-gunaoi``.

    A part with digits inside its letters (``fs0boina``, ``al12f``) is the generator's noise:
    it counts as an unknown part without a syllable lean of its own."""
    raw = parts(bare)
    npm_words = lex.words
    noise = [p for p in raw if _is_noise(p, npm_words)]
    ps = [p.rstrip("0123456789") for p in raw if p not in noise]
    if len(ps) + len(noise) < 2 or not all(p.isalpha() for p in ps):
        return None
    # real words of the lists (foods, given names) are words, not generated syllables
    real = words.foods() | words.first_names()
    unknown = [p for p in ps if p not in npm_words and p not in real]
    total, strange = len(ps) + len(noise), len(unknown) + len(noise)
    if len(unknown) < 1 or strange < 2 or strange * 3 < total * 2:
        return None
    lean = sum(campaign_lean(p) for p in unknown)
    if strange < total:
        lean -= 2  # a real word among them: less likely generated
    if total == 2:
        lean -= 2  # two words carry less evidence than three
    if lean < -2:
        return None
    score = 0.6 + min(0.3, lean / 20) if lean >= 0 else 0.3 + 0.3 * (lean + 2) / 2
    why = (
        *(f"unknown word {p!r}" for p in unknown),
        *(f"digits inside {p!r}" for p in noise),
        f"syllable lean {lean:.1f}",
    )
    return NameVerdict("random-syllables", round(score, 2), why)


_LONG_WORD = re.compile(r"[a-z]{8,}")
LONG_WORD_LEAN = 7.0


def _long_generated_word(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A long run of letters npm never uses that reads strongly like the campaign's generated
    syllables (``fagiufagugafa``): one such word is evidence enough."""
    npm_words = lex.words
    for word in _LONG_WORD.findall(bare):
        if word in npm_words or word in words.given_names() or word in words.foods():
            continue
        lean = campaign_lean(word)
        if lean >= LONG_WORD_LEAN:
            why = (f"unknown word {word!r}", f"syllable lean {lean:.1f}")
            return NameVerdict("random-syllables", 0.6, why)
    return None


_HANDLE = re.compile(r"^[a-z]+[0-9]+$")
HANDLE_LEAN = 0.0


def _handle_noise(scope: str, bare: str, npm_words: Container[str]) -> list[str]:
    """The parts of ``bare`` with generator noise: digits inside letters (``r2seads``,
    ``g1mphser``) that are not the handle's own number (``@bitrix24/b24ui``), with no word npm
    people use around them (``rancher2api``)."""
    own = re.sub(r"[a-z]+", "", scope)
    return [
        p
        for p in parts(bare)
        if _is_noise(p, npm_words)
        and own not in re.findall(r"\d+", p)
        and not any(len(r) >= 3 and r in npm_words for r in re.findall(r"[a-z]+", p))
    ]


def _handle_scope(scope: str, bare: str, lex: Lexicon) -> NameVerdict | None:
    """A personal handle as scope (letters then digits, no popular package in it) holding a
    name made only of words npm never uses that read like generated syllables
    (``@user12/kavudasi``), or a generated word with digits inside (``@user12/g1mphser``).
    Scopes npm people use (``@babel``) are never judged."""
    if not _HANDLE.match(scope):
        return None

    if lex.names.scope_known(scope):
        return None
    npm_words = lex.words
    noise = _handle_noise(scope, bare, npm_words)
    if noise:
        why = (f"handle scope '@{scope}'", *(f"digits inside {p!r}" for p in noise))
        return NameVerdict("handle-scope", 0.6, why)
    # one- and two-letter runs (``ad-``, ``-1r``) say nothing, unless a suffix like ``ui``
    runs = [r for r in re.findall(r"[a-z]+", bare) if len(r) > 2 or r in _TECH_SUFFIX]
    if sum(map(len, runs)) < 4 or any(r in npm_words for r in runs):
        return None
    lean = sum(campaign_lean(r) for r in runs)
    if lean < HANDLE_LEAN:
        return None
    why = (
        f"handle scope '@{scope}'",
        *(f"unknown word {r!r}" for r in runs),
        f"syllable lean {lean:.1f}",
    )
    return NameVerdict("handle-scope", 0.6, why)


_GLUED = re.compile(r"^([a-z]{6,32})(\d{0,3})$")

# Ordinary words are built like glued names: a name and a suffix (``jacobian``, ``albania``,
# ``jacksonia``, ``oscarella``) or a name-like word and a compound head that is also a surname
# (``hollywood``, ``rosehill``; ``emmastone`` is a full name). Such a run reads as one word.
_WORD_SUFFIXES = ("ian", "ia", "ella", "ina", "ana", "ette", "ine", "ism", "ist", "ite")
_COMPOUND_HEADS = _wordset("wood stone hill ward ford field brook land berg")


def _reads_as_one_word(word: str, glued: tuple[str, ...], names: frozenset[str]) -> str | None:
    """Why a run of names ``glued`` (spelling ``word``) is more likely one ordinary word, or
    None: a short given name after the first piece reads as a suffix (``roman+ian``,
    ``alba+nia``; short surnames like ``lee`` or ``rao`` still count), a single name takes
    a word suffix (``jackson+ia``), a given name that is also a word takes a compound head
    (``holly+wood``; not ``emma+stone``), or it is one name twice (``bella+bella``). Asked
    only of names without digits."""
    short = [p for p in glued[1:] if len(p) < 4 and p not in words.surnames()]
    if short:
        return f"suffix-like {short[0]!r}"
    for suffix in _WORD_SUFFIXES:
        if word.endswith(suffix) and word[: -len(suffix)] in names:
            return f"name + suffix {suffix!r}"
    if glued[-1] in _COMPOUND_HEADS and glued[-2] in words.word_given_names():
        return f"compound head {glued[-1]!r}"
    if len(glued) == 2 and glued[0] == glued[1]:
        return "repeated name"  # one name twice; a full name twice is the campaign's
    return None


def _glued_full_name(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A given name glued to further given names or surnames: ``emilyjohnson``,
    ``budisantoso``, ``mayacandra``, ``conorniamhkelly7``. Not when npm people use the word,
    when the whole word is one name or a word that reads like names (``rosemary``,
    ``belladonna``: the ``name-words`` list), nor when it is built like an ordinary word
    (``jacobian``, ``hollywood``: see ``_reads_as_one_word``)."""
    m = _GLUED.match(bare)
    if m is None or m.group(1) in lex.words or m.group(1) in words.name_words():
        return None
    word, num = m.groups()
    given = words.given_names()
    names = given | words.surnames()
    glued = words.split_into(word, names)
    if glued is None or len(glued) < 2 or glued[0] not in given:
        return None
    # digits after the names are the campaign's counter, never part of an ordinary word
    # (``rinaeko12``, ``taylorhill42`` stay flagged; review of the fourth round)
    if not num and _reads_as_one_word(word, glued, names) is not None:
        return None
    why = [
        f"given name {glued[0]!r}",
        *(f"{'given name' if p in given else 'surname'} {p!r}" for p in glued[1:]),
    ]
    if num:
        why.append(f"digits {num!r}")
    return NameVerdict("glued-full-name", 0.6, tuple(why))


# Username generators glue a sky word to a role noun ("stellarwatcher", "cometcrafter"):
# the sky words are these and the longer names of the astronomy list
_SKY_GLUE = _wordset(
    "astro astral cosmic cosmo celestial stellar starry star lunar solar sky space orbit galaxy "
    "nebula nova comet meteor planet universe horizon zenith quantum moon moonlit sun eclipse "
    "aurora milkyway"
)
_ROLE = _wordset(
    "crafter hunter watcher observer seeker seer dreamer voyager navigator pathfinder explorer "
    "wanderer traveler traveller rider strider walker sage oracle guide keeper guardian weaver "
    "smith sculptor carver envoy nomad scribe mystic wizard knight ranger scout pilot captain "
    "sailor chaser catcher gazer drifter rover pioneer builder maker forger architect alchemist "
    "bard poet adventurer champion warrior"
)
SKY_ROLE_ALONE = 0.45


def _sky_role(bare: str, lex: Lexicon) -> NameVerdict | None:
    """A sky word glued to a role noun, as username generators make them: ``stellarwatcher7``,
    ``lunarpathfinder42``. English makes the same compounds (``skywalker``, ``stargazer``,
    ``moonwalker``), so without a counter glued on the shape alone scores ``SKY_ROLE_ALONE``,
    under the default threshold. Not when npm people use the word."""
    m = _GLUED.match(bare)
    if m is None or m.group(1) in lex.words:
        return None
    word, num = m.groups()
    for cut in range(3, len(word) - 3):
        sky, role = word[:cut], word[cut:]
        if role in _ROLE and (sky in _SKY_GLUE or (len(sky) >= 4 and sky in words.astronomy())):
            why = (f"sky word {sky!r}", f"role {role!r}", *([f"digits {num!r}"] if num else []))
            return NameVerdict("sky-role", 0.6 if num else SKY_ROLE_ALONE, why)
    return None


SHAPES: tuple[Callable[[str, Lexicon], NameVerdict | None], ...] = (
    _first_food,
    _first_number,
    _adjective_animal,
    _underscore_code,
    _scoped_star_mashup,
    _tea_farming,
    _glued_name_food,
    _unknown_words_digits,
    _food_number,
)


# shapes only tried on unscoped names: within a scope, font families, vendor product names and
# other unusual words are the scope owner's business (and the campaign rarely used scopes)
UNSCOPED_SHAPES: tuple[Callable[[str, Lexicon], NameVerdict | None], ...] = (
    _star_mashup,
    _star_combo,
    _name_like_number,
    _random_syllables,
    _farming_suffix,
    _greek_mashup,
    _long_generated_word,
    _glued_full_name,
    _sky_role,
)


def classify(name: str, names: NameLookup) -> NameVerdict | None:
    """The best-scoring campaign shape for ``name``, or None if none applies. ``names`` is
    the popular-names data (the words npm people use, downloads, known scopes)."""
    lex = Lexicon(names)
    scope, bare = split_scope(name.strip().lower())
    best: NameVerdict | None = None
    for shape in SHAPES + (UNSCOPED_SHAPES if scope is None else ()):
        verdict = shape(bare, lex)
        if verdict is not None and (best is None or verdict.score > best.score):
            best = verdict
    if scope is not None and (best is None or best.score < 0.6):
        best = _handle_scope(scope, bare, lex) or best
    return best
