"""JSON read as Node's JSON.parse reads it, without a crash on any shape (issue 13)."""

from __future__ import annotations

import json

import pytest

from npmguard.jsontext import JsonError, loads


def test_long_integers_are_doubles_as_in_node() -> None:
    assert loads(b'{"n": ' + b"1" * 4301 + b"}") == {"n": float("inf")}
    assert loads("[-" + "9" * 4400 + "]") == [-float("inf")]
    assert loads("[" + "9" * 400 + "]") == [int("9" * 400)]  # within the limit: exact
    assert loads("[12, -3, 1.5]") == [12, -3, 1.5]
    assert isinstance(loads("7"), int)


@pytest.mark.parametrize("text", ["[NaN]", '{"a": Infinity}', "-Infinity"])
def test_what_node_refuses_is_refused(text: str) -> None:
    with pytest.raises(JsonError, match="is not JSON"):
        loads(text)


def test_nesting_too_deep_is_a_json_error() -> None:
    with pytest.raises(JsonError, match="nested too deeply"):
        loads("[" * 100_000 + "]" * 100_000)
    assert loads("[" * 200 + "]" * 200) is not None


def test_lone_surrogates_become_replacement_characters() -> None:
    got = loads(b'{"x\\ud800": ["a\\udfffb", {"k": "\\ud83d\\ude00"}], "y": "\\ud800"}')
    assert got == {"x\ufffd": ["a\ufffdb", {"k": "\U0001f600"}], "y": "\ufffd"}
    json.dumps(got).encode("utf-8")  # any UTF-8 output can hold it now
    assert loads('"\\\\ud800"') == "\\ud800"  # an escaped backslash, no surrogate


def test_syntax_errors_keep_their_position() -> None:
    with pytest.raises(json.JSONDecodeError) as err:
        loads(b'{\n  "a": tru\n}')
    assert err.value.lineno == 2
    with pytest.raises(UnicodeDecodeError):
        loads(b'{"a": "\xff"}')
    assert loads(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}
