"""The fast packument reader gives the extractor exactly what jsontext's full reading gives."""

from __future__ import annotations

import json

import pytest

from npmguard.jsontext import loads
from npmguard.reputation.decode import read_packument
from npmguard.reputation.extract import extract_package


def _version(**extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "p",
        "readme": "long text " * 50,
        "dist": {"integrity": "sha512-x", "tarball": "https://r/p.tgz", "fileCount": 3},
        "scripts": {"test": "x", "postinstall": "node i.js"},
        "dependencies": {"b": "^1", "a": "2"},
        "devDependencies": {"jest": "*"},
        "bin": {"p": "cli.js"},
        "_npmUser": {"name": "alice"},
        "maintainers": [{"name": "bob"}, "carol <c@x>"],
        "keywords": ["tea.xyz"],
    }
    doc.update(extra)
    return doc


def _doc(**versions: object) -> bytes:
    return json.dumps(
        {
            "name": "p",
            "readme": "top readme",
            "dist-tags": {"latest": "1.0.1"},
            "time": {"created": "2020-01-01T00:00:00Z", "1.0.0": "2020-01-02T00:00:00.000Z"},
            "maintainers": [{"name": "alice"}],
            "versions": versions or {"1.0.0": _version(), "1.0.1": _version(deprecated="old")},
            "users": {"x": True},
        }
    ).encode()


DOCUMENTS = [
    _doc(),
    _doc(**{"1.0.0": _version(bin="cli.js", gypfile=True, hasInstallScript=True)}),
    _doc(**{"1.0.0": "not an object", "2.0.0": _version()}),
    _doc(**{"1.0.0": _version(dist={"fileCount": 1.0, "unpackedSize": True})}),
    _doc(**{"1.0.0": _version(dist={"fileCount": 10**30}, license={"type": "MIT"})}),
    _doc(**{"1.0.0": _version(description="\ud800 lone", deprecated="")}),
    b'{"versions": [], "time": null}',
    b'{"versions": {"1.0.0": {"dist": {"fileCount": 1e400}}}}',
    b'{"versions": {"1.0.0": {"dist": {"fileCount": ' + b"9" * 4400 + b"}}}}",
    b'{"versions": {"1.0.0": {"a": 1}}, "versions": {"2.0.0": {"deprecated": "x"}}}',
    b'{"versions": {"1.0.0": {"deprecated": "a", "deprecated": "b"}}}',
    b'\xef\xbb\xbf{"versions": {}}',
    b'{"versions": {"1.0.0": {"readme": "\\ud83d\\ude00 paired"}}}',
    b'{"versions": {"1.0.0": {"description": "\\udc00 lone escape"}}}',
    b'{"readme": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"versions": {"1.0.0": {"dist": {"fileCount": NaN}}}}',
    b'{"versions": {"1.0.0": {"description": "\xff"}}}',
    b"[1, 2]",
    b'"text"',
    b"{",
]


def _facts(read: object, body: bytes) -> object:
    try:
        data = read(body)  # type: ignore[operator]
    except ValueError as e:  # what jsontext refuses, the fast reader refuses the same way
        return ("refused", type(e).__name__)
    if not isinstance(data, dict):
        return ("not an object", data)
    versions = data.get("versions")
    wanted = list(versions)[:2] if isinstance(versions, dict) else []
    return extract_package("p", data, wanted)


@pytest.mark.parametrize("body", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_the_same_facts_as_reading_the_whole_document(body: bytes) -> None:
    assert _facts(read_packument, body) == _facts(loads, body)


def test_only_the_fields_the_extractor_reads_are_kept() -> None:
    data = read_packument(_doc())
    assert set(data) == {"versions", "time", "dist-tags", "maintainers"}
    assert "readme" not in data["versions"]["1.0.0"]
    assert "devDependencies" not in data["versions"]["1.0.0"]
    assert data["versions"]["1.0.0"]["_npmUser"] == {"name": "alice"}
