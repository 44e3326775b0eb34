"""The campaign-name grammar on hand-made names of each shape, and on legitimate look-alikes.

The campaign-like names here are made up for the tests (same grammar, other words and
numbers), not copied from the tracker's list.
"""

from __future__ import annotations

import pytest
from providers import shipped_names

from npmguard.names import NameVerdict, classify, split_scope, tokenize
from npmguard.names.words import split_into, word_list

THRESHOLD = 0.6


def flagged(name: str) -> NameVerdict | None:
    verdict = classify(name, shipped_names())
    return verdict if verdict is not None and verdict.score >= THRESHOLD else None


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("budi-rendang23-kyu", "first-food-digits"),
        ("sari-nasigoreng7-pokle", "first-food-digits"),
        ("wulan-gado-gado41-mbak", "first-food-digits"),
        ("dimas-bakso5", "first-food-digits"),
        ("yoga-rujaksate18-lamo", "first-food-digits"),  # two foods glued
        ("tari-31", "first-digits"),
        ("gentle_otter_q7x", "adjective-animal"),
        ("brave_walrus_k2p", "adjective-animal"),
        ("sleepy-teal-heron", "adjective-animal"),
        ("clumsy_badger-fastdev", "adjective-animal"),
        ("frosty_otter-teagooddev", "adjective-animal"),
        ("velvet_gopher_m4r", "adjective-animal"),  # unknown adjective, '_' + code suffix
        ("rollup-alnitak-relay-mintaka", "star-mashup"),
        ("webpack-bellatrix-parser-schedar-yarn", "star-mashup"),
        ("mawar-appteadev", "tea-farming"),
        ("obor-teagooddev", "tea-farming"),
        ("budirendang", "glued-name-food"),
        ("emilyjohnson", "glued-full-name"),
        ("mobakiu-fasugi-ilamuao", "random-syllables"),
        # glued names from other languages, a food word with a counter, farming suffixes,
        # "tea" with a counter, Greek letters in a mashup
        ("siobhanmurphy", "glued-full-name"),
        ("arjunkapoor", "glued-full-name"),
        ("matteoconti", "glued-full-name"),
        ("giuliatiramisu", "glued-name-food"),
        ("karedok57", "food-digits"),
        ("marmalade-notthedevs", "tea-farming"),
        ("kelapa-devapp", "tea-farming"),
        ("senja-tea42", "tea-farming"),
        ("lodash-psi-fetch-yaml", "star-mashup"),
        ("chalk-upsilon-stream-kappa", "star-mashup"),
    ],
)
def test_campaign_shapes_are_flagged(name: str, pattern: str) -> None:
    verdict = flagged(name)
    assert verdict is not None, classify(name, shipped_names())
    assert verdict.pattern == pattern
    assert 0 < verdict.score <= 1
    assert verdict.explanation  # says what it saw


def test_explanation_names_the_parts() -> None:
    verdict = flagged("budi-rendang23-kyuu")
    assert verdict is not None
    assert verdict.explanation == (
        "first name 'budi' + food 'rendang' + digits '23' + suffix 'kyuu'"
    )


@pytest.mark.parametrize(
    "name",
    [
        # Indonesian payment SDKs, dictionaries and other legitimate Indonesian words
        "midtrans-client",
        "midtrans-node",
        "xendit-node",
        "xendit-js-node",
        "kbbi",
        "kbbi-js",
        "nasi",
        "nasi-goreng",
        "sate",
        "react-nasi",
        "rupiah-format",
        "terbilang",
        "indonesia-area",
        # ordinary names near the newer shapes
        "react-devtools",
        "redux-devtools",
        "quill-delta-to-html",
        "serverless-plugin-lambda-insights",
        "iso-3166-1-alpha-2",
        "tea-time",
        "crossfit-tea",
        "pizza",
        "pizza-js",
        "sushi",
        # popular shapes that resemble the grammar
        "lightningcss-linux-x64-musl",
        "is-es6-generator-function",
        "collect-v8-coverage",
        "string_decoder",
        "child_process",
        "happy-dom",
        "lru-cache",
        "fast-deep-equal",
        "eslint-plugin-react-hooks",
        "buffer-crc32",
        "cli-table3",
        "react-dnd-html5-backend",
        "@babel/core",
        "@types/node",
        "quasar",
        "@quasar/app-vite",
        "orion-ui",
        "aurora-data-api",
    ],
)
def test_legitimate_look_alikes_are_not_flagged(name: str) -> None:
    assert flagged(name) is None, classify(name, shipped_names())


def test_scope_is_ignored_for_the_grammar_but_kept_for_mashups() -> None:
    assert flagged("@someone/budi-rendang23-kyu") is not None
    assert flagged("rollup-alnitak-relay-mintaka") is not None


def test_tokenize_and_scope() -> None:
    assert split_scope("@a/b-c") == ("a", "b-c")
    assert split_scope("b-c") == (None, "b-c")
    toks = tokenize("Budi-Sate12_x")
    assert [(t.text, t.sep) for t in toks] == [("budi", ""), ("sate", "-"), ("12", ""), ("x", "_")]
    assert toks[2].is_digits and toks[1].is_word


def test_split_into_compound_foods() -> None:
    foods = word_list("foods")
    assert split_into("rujaksoto", foods) == ("rujak", "soto")
    assert split_into("nasiuduk", foods) is not None
    assert split_into("webpack", foods) is None


def test_word_lists_load_and_reject_unknown_lists() -> None:
    assert "rendang" in word_list("foods")
    assert "budi" in word_list("id-first-names")
    with pytest.raises(KeyError):
        word_list("passwords")


@pytest.mark.parametrize(
    ("name", "decides"),
    [
        # a personal handle as scope, holding made-up syllables
        ("@kelana7/vobatusa", "handle scope '@kelana7'"),
        # digits inside generated words are noise, not a version
        ("tuvasi-ga3mobu-kelo", "digits inside 'ga3mobu'"),
        # one long run of letters that reads like the generator's syllables
        ("mafagubasaguna", "unknown word 'mafagubasaguna'"),
    ],
)
def test_generated_names_of_unseen_shapes(name: str, decides: str) -> None:
    verdict = flagged(name)
    assert verdict is not None, name
    assert decides in verdict.explanation


@pytest.mark.parametrize(
    "name",
    [
        "@kelana7/utils",  # a handle scope with a word npm people use
        "@babel/vobatusa",  # a scope npm people use is never judged by its names
        "@kelana7/ab",  # too short to say anything
        "n8n-nodes-kelo",  # numeronyms (n8n, i18n, k8s) are words, not noise
        "i18n-kelo-vaba",
        "sqlite3sync-kelo-vaba",  # words npm people use around a version
        "@acme/x-cosmology-utils",  # in a scope, one sky word is the owner's project name
    ],
)
def test_handle_scopes_and_inner_digits_leave_look_alikes_alone(name: str) -> None:
    assert flagged(name) is None, classify(name, shipped_names())


@pytest.mark.parametrize(
    ("name", "decides"),
    [
        # glued runs of given names and surnames from many traditions (issue 19, fourth round)
        ("rohannadia", "given name 'rohan' + given name 'nadia'"),
        ("aoifeciaranbyrne", "surname 'byrne'"),
        ("kavitamittal", "surname 'mittal'"),
        ("thiagocunha7", "digits '7'"),
        # a sky word glued to a role noun and a counter, as username generators make them
        ("nebulawanderer7", "role 'wanderer'"),
        ("cometgazer42", "sky word 'comet'"),
        # a personal handle's scope: digits inside a generated word, short runs say nothing
        ("@tavira42/k3vudr", "digits inside 'k3vudr'"),
        ("@kelana7/ad-vobatusa", "handle scope '@kelana7'"),
    ],
)
def test_glued_names_sky_roles_and_handle_noise(name: str, decides: str) -> None:
    verdict = flagged(name)
    assert verdict is not None, classify(name, shipped_names())
    assert decides in verdict.explanation


@pytest.mark.parametrize(
    "name",
    [
        "@sofie-automation/sorensen",  # in a scope, a glued name is the owner's business
        "@avo-hq/marksmith",
        "hallmark",  # a surname first is no generated full name
        "pagewalker",
        "startserver",  # not a sky word + role
        "nebulawanderer",  # a sky word + role alone: English makes these (``stargazer``)
        "@bitrix24/b24jssdk",  # the handle's own number inside the word
        "@parameter1/rancher2api",  # words npm people use around the digits
        "@sweet5/uview-ui",  # a short suffix npm people use still counts as a word
    ],
)
def test_glued_names_and_handle_noise_leave_look_alikes_alone(name: str) -> None:
    assert flagged(name) is None, classify(name, shipped_names())
