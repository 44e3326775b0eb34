"""Allow/deny version ranges follow npm's semantics exactly.

The table is taken from node-semver's documented examples (caret, tilde, x-ranges, hyphen
ranges, ``||``, prereleases). When npm's own copy of node-semver is installed, a test also
runs the table through it, so the expectations themselves are checked against npm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from npmguard.policy.model import PackageMatcher
from npmguard.semver import satisfies, valid_range

# (version, range, in range?) with npm's default options (no includePrerelease)
RANGE_CASES: list[tuple[str, str, bool]] = [
    # caret: changes that do not modify the left-most non-zero part
    ("1.2.3", "^1.2.3", True),
    ("1.9.9", "^1.2.3", True),
    ("1.2.2", "^1.2.3", False),
    ("2.0.0", "^1.2.3", False),
    ("0.2.5", "^0.2.3", True),
    ("0.3.0", "^0.2.3", False),
    ("0.0.3", "^0.0.3", True),
    ("0.0.4", "^0.0.3", False),
    ("1.4.0", "^1.x", True),
    ("0.9.0", "^0.x", True),
    ("1.0.0", "^0.x", False),
    ("0.0.9", "^0.0", True),
    ("0.1.0", "^0.0", False),
    # caret with prereleases: allowed only on the same [major, minor, patch] tuple
    ("1.2.3-beta.4", "^1.2.3-beta.2", True),
    ("1.2.3-beta.1", "^1.2.3-beta.2", False),
    ("1.2.4-beta.2", "^1.2.3-beta.2", False),
    ("1.2.4", "^1.2.3-beta.2", True),
    # tilde: patch-level changes if a minor is given, minor-level if not
    ("1.2.9", "~1.2.3", True),
    ("1.3.0", "~1.2.3", False),
    ("1.2.0", "~1.2", True),
    ("1.2.99", "~1.2", True),
    ("1.3.0", "~1.2", False),
    ("1.9.0", "~1", True),
    ("2.0.0", "~1", False),
    ("0.2.9", "~0.2.3", True),
    ("0.3.0", "~0.2.3", False),
    ("1.2.3-beta.4", "~1.2.3-beta.2", True),
    ("1.2.4-beta.2", "~1.2.3-beta.2", False),
    # x-ranges and star
    ("1.3.0", "1.x", True),
    ("2.0.0", "1.x", False),
    ("1.2.7", "1.2.x", True),
    ("1.3.0", "1.2.x", False),
    ("1.99.0", "1", True),
    ("1.2.5", "1.2", True),
    ("1.3.0", "1.2", False),
    ("0.0.0", "*", True),
    ("3.1.4", "*", True),
    ("3.1.4", "", True),
    ("3.1.4", "x", True),
    ("1.0.0-rc.1", "*", False),
    # hyphen ranges: inclusive; a partial upper bound means "up to the next"
    ("1.2.3", "1.2.3 - 2.3.4", True),
    ("2.3.4", "1.2.3 - 2.3.4", True),
    ("2.3.5", "1.2.3 - 2.3.4", False),
    ("1.2.0", "1.2 - 2.3.4", True),
    ("1.1.9", "1.2 - 2.3.4", False),
    ("2.3.9", "1.2.3 - 2.3", True),
    ("2.4.0", "1.2.3 - 2.3", False),
    ("2.9.9", "1.2.3 - 2", True),
    ("3.0.0", "1.2.3 - 2", False),
    # comparator sets and ||
    ("1.5.0", ">=1.2.3 <2", True),
    ("2.0.0", ">=1.2.3 <2", False),
    ("2.0.0-alpha", ">=1.2.3 <2", False),
    ("1.2.7", "1.2.7 || >=1.2.9 <2.0.0", True),
    ("1.2.8", "1.2.7 || >=1.2.9 <2.0.0", False),
    ("1.4.6", "1.2.7 || >=1.2.9 <2.0.0", True),
    ("2.0.0", "1.2.7 || >=1.2.9 <2.0.0", False),
    ("0.9.0", "<1.0.0 || >=3.0.0", True),
    ("2.0.0", "<1.0.0 || >=3.0.0", False),
    ("3.0.0", "<1.0.0 || >=3.0.0", True),
    ("1.0.0", "=1.0.0", True),
    ("1.0.1", "1.0.0", False),
    ("1.0.0", "v1.0.0", True),
    # prereleases: excluded unless a comparator on the same tuple has one
    ("1.2.3-alpha.7", ">1.2.3-alpha.3", True),
    ("1.2.3-alpha.2", ">1.2.3-alpha.3", False),
    ("3.4.5-alpha.9", ">1.2.3-alpha.3", False),
    ("3.4.5", ">1.2.3-alpha.3", True),
    ("1.2.3-rc.1", ">=1.2.3-rc.0", True),
    ("1.2.4-rc.1", ">=1.2.3-rc.0", False),
    ("1.0.0-beta", "1.0.0-beta", True),
    ("2.0.0-beta.1", ">=1.0.0", False),
    ("1.0.0-rc.1", "<1.0.0", False),
]

# (glob, name, matches?)
NAME_CASES: list[tuple[str, str, bool]] = [
    ("left-pad", "left-pad", True),
    ("left-pad", "left-pad2", False),
    ("@acme/*", "@acme/tool", True),
    ("@acme/*", "@acmecorp/tool", False),
    ("@acme/*", "acme", False),
    ("@acme/ui-*", "@acme/ui-button", True),
    ("@acme/ui-*", "@acme/core", False),
    ("*", "anything", True),
    ("@*/eslint-config", "@acme/eslint-config", True),
]


def _id(case: tuple[str, str, bool]) -> str:
    return f"{case[0]} in {case[1] or '(empty)'} is {case[2]}"


@pytest.mark.parametrize("case", RANGE_CASES, ids=[_id(c) for c in RANGE_CASES])
def test_range_matching_agrees_with_npm(case: tuple[str, str, bool]) -> None:
    version, spec, expected = case
    assert valid_range(spec)
    assert satisfies(version, spec) is expected
    assert PackageMatcher("pkg", spec).matches("pkg", version) is expected


@pytest.mark.parametrize("case", NAME_CASES, ids=[_id(c) for c in NAME_CASES])
def test_package_globs(case: tuple[str, str, bool]) -> None:
    glob, name, expected = case
    assert PackageMatcher(glob).matches(name, "1.0.0") is expected


def test_no_version_matches_every_version() -> None:
    assert PackageMatcher("x").matches("x", "0.0.1-security")


def _npm_semver() -> Path | None:
    npm = shutil.which("npm")
    candidates = [Path("/usr/lib/node_modules/npm/node_modules/semver")]
    if npm is not None:  # npm's install: <prefix>/lib/node_modules/npm/bin/npm-cli.js
        real = Path(npm).resolve()
        candidates += [parent / "node_modules" / "semver" for parent in real.parents[:3]]
    return next((c for c in candidates if (c / "package.json").is_file()), None)


def test_table_matches_npms_own_semver() -> None:
    semver = _npm_semver()
    node = shutil.which("node")
    if semver is None or node is None:
        pytest.skip("npm's own node-semver is not installed here")
    script = (
        f"const semver = require({json.dumps(str(semver))});"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(cases.map(([v, r]) => semver.satisfies(v, r))));"
    )
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps([[v, r] for v, r, _ in RANGE_CASES]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    npm_says = json.loads(result.stdout)
    disagree = [
        (case, said) for case, said in zip(RANGE_CASES, npm_says, strict=True) if case[2] != said
    ]
    assert disagree == []


def test_deny_ranges_take_prereleases_allow_ranges_do_not() -> None:
    """A deny range is read with npm's include-prerelease, so publishing `2.0.0-rc.1` does not
    step out of `version = ">=1.0.0"` (found in review); an allow range keeps npm's default."""
    from npmguard.policy.parse import parse_text

    entry = 'package = "bad"\nversion = ">=1.0.0"\nreason = "r"\n'
    layer = parse_text(f"[[deny]]\n{entry}[[allow]]\n{entry}", "npmguard.toml", version="9.9.9")
    deny, allow = layer.deny[0].matcher, layer.allow[0].matcher
    assert deny.matches("bad", "2.0.0-rc.1") and deny.matches("bad", "1.0.0")
    assert not deny.matches("bad", "0.9.0-rc.1")
    assert not allow.matches("bad", "2.0.0-rc.1") and allow.matches("bad", "1.0.0")
