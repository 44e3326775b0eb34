"""SSRI integrity values read as npm's ``ssri`` reads them: one parser for the whole tool."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from npmoracle import needs_node, npm_module, run_node

from npmguard.integrity import Integrity

DATA = b"some tarball bytes"
SHA512 = "sha512-" + base64.b64encode(hashlib.sha512(DATA).digest()).decode()
SHA1 = "sha1-" + base64.b64encode(hashlib.sha1(DATA).digest()).decode()
OTHER512 = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()

VALUES = [
    SHA512,
    f"{SHA1} {SHA512}",
    f"  {SHA512}?opt1?opt2  \n{SHA1}",
    SHA512.upper(),  # not lower case: no hash at all to npm
    "SHA512-" + SHA512[7:],
    "md5-AAAA",
    "sha3-abc",
    "whatever",
    "sha512-",
    "sha512-a?b",
    "",
]


@needs_node
def test_parsing_and_strongest_algorithm_match_npms_ssri() -> None:
    module = npm_module("ssri")
    if module is None:
        pytest.skip("npm's ssri is not installed here")
    script = (
        f"const ssri = require({json.dumps(str(module))});"
        "const vals = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(vals.map((v) => { const p = ssri.parse(v);"
        "  return p ? [p.toString(), p.pickAlgorithm()] : null })));"
    )
    theirs = run_node(script, VALUES)
    ours = [[str(p), p.strongest()] if (p := Integrity.parse(v)) else None for v in VALUES]
    assert ours == theirs


@needs_node
def test_matching_follows_ssri() -> None:
    module = npm_module("ssri")
    if module is None:
        pytest.skip("npm's ssri is not installed here")
    pairs = [
        [SHA512, SHA512],
        [SHA512, OTHER512],
        [f"{SHA1} {OTHER512}", f"{SHA1} {SHA512}"],  # compared under sha512 only
        [SHA1, f"{SHA1} {OTHER512}"],
        [SHA1, SHA512],  # nothing in common
    ]
    script = (
        f"const ssri = require({json.dumps(str(module))});"
        "const pairs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(pairs.map(([a, b]) => !!ssri.parse(a).match(b))));"
    )
    theirs = run_node(script, pairs)
    ours = [bool(Integrity.parse(a).matches(Integrity.parse(b))) for a, b in pairs]
    assert ours == theirs
    assert Integrity.parse(SHA1).matches(Integrity.parse(SHA512)) is None  # unknown
    assert Integrity.parse(SHA512).conflicts(Integrity.parse(OTHER512))


def test_verify_uses_the_strongest_algorithm() -> None:
    assert Integrity.parse(f"{SHA1} {SHA512}").verify(DATA) == ("sha512", True)
    assert Integrity.parse(f"{SHA1} {OTHER512}").verify(DATA) == ("sha512", False)
    assert Integrity.parse(SHA1).verify(DATA) == ("sha1", True)
    with pytest.raises(ValueError):
        Integrity.parse("md5-AAAA").verify(DATA)


def test_hex_conversions() -> None:
    hex_sha1 = hashlib.sha1(DATA).hexdigest()
    assert str(Integrity.from_hex("sha1", hex_sha1)) == SHA1
    assert Integrity.from_hex_guess(hex_sha1.upper()) == Integrity.parse(SHA1)
    assert Integrity.from_hex_guess("xyz") == Integrity()
    assert Integrity.parse(SHA1).hex_digests() == (f"sha1:{hex_sha1}",)
    assert Integrity.parse("sha512-!!").hex_digests() == ()
