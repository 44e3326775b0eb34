"""pnpm-lock.yaml is read as pnpm reads it: differential tests against js-yaml itself.

pnpm loads its lockfile with js-yaml 4's default schema, which merges ``<<`` keys, refuses a key
given twice and types plain scalars (``1.10`` is the number 1.1, ``~`` is null). npmguard reads
every scalar as text and refuses what js-yaml would read otherwise. The oracle is the real
js-yaml, installed into ``.tools/`` by ``scripts/install-test-tools.sh``; without it these tests
fail, saying how to install it.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from npmguard.errors import LockfileError
from npmguard.lockfile.yamlfile import load_documents

ROOT = Path(__file__).resolve().parents[2]
JS_YAML = ROOT / ".tools" / "node_modules" / "js-yaml"
MALFORMED = ROOT / "tests" / "fixtures" / "lockfiles" / "malformed-pm"

# Reads a JSON list of YAML texts on stdin; prints, for each, js-yaml's value with every leaf
# but null turned to text by String(), or the error.
_ORACLE = """
const yaml = require(process.argv[1]);
const leaves = (v) => v === null ? null : Array.isArray(v) ? v.map(leaves)
  : v instanceof Date ? String(v) : typeof v === "object"
  ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, leaves(x)])) : String(v);
const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(texts.map((t) => {
  try { return { value: yaml.loadAll(t).filter((d) => d != null).map(leaves) }; }
  catch (e) { return { error: e.message.split("\\n")[0] }; }
})));
"""

SCALARS = (
    "~ null Null NULL true True TRUE false FALSE yes no on off y n 1 0 01 012 08 -0 +1 -1 "
    "0x1F 0o17 0b101 -0x1 1_000 0_1 1.0 1.5 1.10 .5 +.5 1. 1e3 1.5e3 0.1e-3 .inf -.inf .NaN "
    "2001-12-14 2001-12-14t21:59:43.10-05:00 12345678901234567890 9007199254740993 "
    "2.1.2 1.2.3-beta 0.0.1 5.4 6.0 9.0 ^1.0.0 >=8 = 1:30 190:20:30 1e link:../a"
).split()


def _oracle(texts: list[str]) -> list[dict[str, Any]]:
    if not (JS_YAML / "package.json").is_file():
        pytest.fail("js-yaml not installed: run `bash scripts/install-test-tools.sh`")
    node = shutil.which("node")
    assert node is not None, "node is needed for this test"
    out = subprocess.run(
        [node, "-e", _ORACLE, str(JS_YAML)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: list[dict[str, Any]] = json.loads(out)
    return result


def _ours(text: str) -> list[Any] | None:
    """Our documents, or None when refused."""
    try:
        return load_documents(text.encode(), "pnpm-lock.yaml", "", js_yaml_keys=True)
    except LockfileError:
        return None


def _same(js: Any, ours: Any) -> bool:
    if js is None:  # null: an empty plain scalar (or `null`) for us
        return ours in ("", "null")
    if isinstance(js, dict):
        return (
            isinstance(ours, dict)
            and js.keys() == ours.keys()
            and all(_same(v, ours[k]) for k, v in js.items())
        )
    if isinstance(js, list):
        return (
            isinstance(ours, list)
            and len(js) == len(ours)
            and all(_same(a, b) for a, b in zip(js, ours, strict=True))
        )
    return bool(js == ours)


def _check(texts: list[str]) -> int:
    """Every text we accept reads as js-yaml reads it; returns how many we refused."""
    refused = 0
    for text, js in zip(texts, _oracle(texts), strict=True):
        ours = _ours(text)
        if ours is None:
            refused += 1
            continue
        assert "error" not in js, (text, js)
        assert _same(js["value"], ours), (text, js["value"], ours)
    return refused


def test_plain_scalars_as_values_and_keys() -> None:
    texts = [f"k: {s}\n" for s in SCALARS] + [f"{s}: v\n" for s in SCALARS]
    refused = _check(texts)
    # the shapes pnpm writes are read, not refused
    for plain in ("2.1.2", "5.4", "true", "^1.0.0", "link:../a"):
        assert _ours(f"k: {plain}\n") == [{"k": plain}]
    assert 0 < refused < len(texts)


def test_merge_keys_duplicates_and_tags_are_refused() -> None:
    texts = [
        (MALFORMED / "pnpm-merge-key.yaml").read_text(),
        (MALFORMED / "pnpm-duplicate-key.yaml").read_text(),
        "a:\n  b: 1\n  <<: {c: 2}\n",
        "a:\n  <<: [{c: 2}, {d: 3}]\n  c: 1\n",
        "x: &base {c: 2}\na:\n  <<: *base\n",
        "a:\n  '<<': {c: 2}\n",  # a quoted `<<` is an ordinary key to js-yaml too
        "a: !!int 12\n",
        "a: !!binary aGk=\n",
        "a: !!set {x, y}\n",
        "a:\n  b: 1\n  ? !!merge\n  : {c: 2}\n",
    ]
    js = _oracle(texts)
    assert "error" not in js[0] and "evil@1.0.0" in js[0]["value"][0]["packages"]
    assert "duplicated mapping key" in js[1]["error"]
    assert _check(texts) == len(texts) - 1


def test_real_pnpm_lockfiles_read_alike(shared_data: Path) -> None:
    files = sorted((shared_data / "lockfiles").glob("pnpm-v*/*pnpm-lock.yaml.gz"))
    assert files, "no pnpm lockfiles in the shared data"
    texts = [gzip.decompress(f.read_bytes()).decode() for f in files]
    assert _check(texts) == 0
