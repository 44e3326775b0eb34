"""The word lists shipped in ``npmguard/data/names``, loaded on first use."""

from __future__ import annotations

import functools

from npmguard.fsutil import package_data

LISTS = (
    "id-first-names",
    "en-first-names",
    "world-first-names",
    "surnames",
    "foods",
    "adjectives",
    "animals",
    "colours",
    "astronomy",
    "name-words",
    "word-given-names",
)


@functools.cache
def word_list(name: str) -> frozenset[str]:
    """The words of ``npmguard/data/names/<name>.txt``: whitespace-separated, ``#`` comments."""
    if name not in LISTS:
        raise KeyError(name)
    text = package_data(f"data/names/{name}.txt").decode("utf-8")
    return frozenset(
        word
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for word in line.split()
    )


def first_names() -> frozenset[str]:
    return word_list("id-first-names")


def foods() -> frozenset[str]:
    return word_list("foods")


def adjectives() -> frozenset[str]:
    return word_list("adjectives")


def animals() -> frozenset[str]:
    return word_list("animals")


def colours() -> frozenset[str]:
    return word_list("colours")


def astronomy() -> frozenset[str]:
    return word_list("astronomy")


def name_words() -> frozenset[str]:
    """Given names and ordinary words that read as a glued run of shorter names."""
    return word_list("name-words")


def word_given_names() -> frozenset[str]:
    """Given names that are also ordinary English words (``holly``, ``grace``)."""
    return word_list("word-given-names")


def split_into(word: str, vocabulary: frozenset[str], min_part: int = 3) -> tuple[str, ...] | None:
    """``word`` as a concatenation of vocabulary words (longest first), or None.

    ``rujaksoto`` with the food list -> ("rujak", "soto"). Parts shorter than ``min_part``
    are not used, so short words do not glue arbitrary text together.
    """
    if word in vocabulary:
        return (word,)
    for cut in range(len(word) - min_part, min_part - 1, -1):
        head = word[:cut]
        if head in vocabulary:
            rest = split_into(word[cut:], vocabulary, min_part)
            if rest is not None:
                return (head, *rest)
    return None


def en_first_names() -> frozenset[str]:
    return word_list("en-first-names")


def surnames() -> frozenset[str]:
    return word_list("surnames")


def world_first_names() -> frozenset[str]:
    return word_list("world-first-names")


@functools.cache
def given_names() -> frozenset[str]:
    """Given names of every list: Indonesian, English and the many-language list."""
    return first_names() | en_first_names() | world_first_names()
