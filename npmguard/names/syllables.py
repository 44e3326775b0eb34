"""Random-syllable names: words that read like the campaign's generated syllables, not npm's.

Two letter-bigram models ship in ``npmguard/data/names/syllables.tsv``: one from the words of
popular npm names, one from the (train) campaign words that are not popular words. A word's
log-likelihood ratio says which vocabulary it resembles; names whose unknown words all lean
"campaign" get the ``random-syllables`` shape.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

_SMOOTH = 0.5
_ALPHABET = 28  # a-z, ^ and $


@dataclass(frozen=True, slots=True)
class BigramModel:
    pairs: Mapping[str, int]
    firsts: Mapping[str, int]  # count of bigrams starting with each letter

    def logprob(self, word: str) -> float:
        s = f"^{word}$"
        return sum(
            math.log(
                (self.pairs.get(a + b, 0) + _SMOOTH) / (self.firsts.get(a, 0) + _SMOOTH * _ALPHABET)
            )
            for a, b in itertools.pairwise(s)
        )


@functools.cache
def models() -> tuple[BigramModel, BigramModel]:
    """(legit, campaign) bigram models from the shipped counts."""
    from npmguard.fsutil import package_data

    text = package_data("data/names/syllables.tsv").decode("utf-8")
    tables: dict[str, dict[str, int]] = {"legit": {}, "campaign": {}}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        label, pair, count = line.split("\t")
        tables[label][pair] = int(count)
    built = []
    for label in ("legit", "campaign"):
        firsts: dict[str, int] = {}
        for pair, n in tables[label].items():
            firsts[pair[0]] = firsts.get(pair[0], 0) + n
        built.append(BigramModel(tables[label], firsts))
    return built[0], built[1]


def campaign_lean(word: str) -> float:
    """log P(word | campaign syllables) - log P(word | npm words); > 0 leans campaign."""
    legit, campaign = models()
    return campaign.logprob(word) - legit.logprob(word)
