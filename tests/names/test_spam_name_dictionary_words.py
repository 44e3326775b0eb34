"""Review 4: spam-name's fourth-round shapes (``glued-full-name`` taking any run of given
names, ``sky-role``) flagged plain English words and real npm packages.

``skywalker`` and ``rosemary`` are packages on the public npm registry (and its mirror);
the others are dictionary words a legitimate package may well be named. A word built like a
glued name (a name and a suffix, a word-name and a compound head, one given name written as
one word) is one word, and a sky word + role noun needs a counter to count.
"""

from __future__ import annotations

import pytest
from providers import shipped_names

from npmguard.names import classify

THRESHOLD = 0.6


@pytest.mark.parametrize(
    "name",
    [
        # the reviewer's repro
        "skywalker",  # sky-role: 'sky' + 'walker' (on npm)
        "stargazer",  # sky-role: 'star' + 'gazer'
        "moonwalker",  # sky-role: 'moon' + 'walker'
        "rosemary",  # glued-full-name: 'rose' + 'mary' (on npm)
        "romanian",  # glued-full-name: 'roman' + 'ian'
        "jacobian",  # glued-full-name: 'jacob' + 'ian'
        "albania",  # glued-full-name: 'alba' + 'nia'
        "belladonna",  # glued-full-name: 'bella' + 'donna'
        "hazelwood",  # glued-full-name: 'hazel' + surname 'wood'
        "elisabeth",  # glued-full-name: 'elisa' + 'beth'
        # more look-alikes of the same kinds
        "arthurian",  # a name + the adjective suffix -ian
        "jacksonian",
        "oscarella",  # a name + -ella
        "hollywood",  # a given name that is a word + a compound head
        "ivystone",
        "bellabella",  # a repeated name
        "jeanpierre",  # one compound given name
        "marybeth",
        "nebulawanderer",  # a sky word + role alone
    ],
)
def test_dictionary_words_are_not_campaign_names(name: str) -> None:
    verdict = classify(name, shipped_names())
    assert verdict is None or verdict.score < THRESHOLD, verdict


@pytest.mark.parametrize(
    ("name", "decides"),
    [
        ("kevinlee", "surname 'lee'"),  # a short surname is a surname, not a suffix
        ("priyarao7", "surname 'rao'"),
        ("emmastone", "surname 'stone'"),  # a compound head after a plain given name
        ("oliverwood", "surname 'wood'"),
        ("cometgazer42", "digits '42'"),  # sky word + role + a counter
        # a counter after the names: never an ordinary word (second review: these had lost
        # their flag to the one-word exemptions)
        ("rinaeko12", "given name 'eko'"),  # a short given name, not a suffix
        ("putriayu7", "given name 'ayu'"),
        ("rohanella7", "digits '7'"),  # not "rohan" + the suffix -ella
        ("taylorhill42", "surname 'hill'"),  # not a compound word
        ("budibudi7", "digits '7'"),
        ("joshuasmithjoshuasmith", "surname 'smith'"),  # a full name twice, no digits
    ],
)
def test_glued_names_like_words_still_count(name: str, decides: str) -> None:
    verdict = classify(name, shipped_names())
    assert verdict is not None and verdict.score >= THRESHOLD, verdict
    assert decides in verdict.explanation
