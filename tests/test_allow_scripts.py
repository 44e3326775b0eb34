"""npmguard's reading of ``allowScripts`` against npm's own (arborist's script-allowed.js).

The same keys and packages go to both; every verdict (true, false, or unreviewed) must agree.
npm sees a package as an arborist node: its locked ``resolved``, whether every dependency
edge to it is a registry spec, and the edges' names.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from npmguard.allow_scripts import script_approval

NPM = shutil.which("npm")
REG = "https://registry.npmjs.org"
# (name its dependents ask for, resolved, from the registry)
PACKAGES = [
    ("probe", f"{REG}/probe/-/probe-1.0.0.tgz", True),
    ("@s/probe", "https://r.example/npm/@s/probe/-/probe-2.0.0.tgz", True),
    ("trusted", f"{REG}/evil/-/evil-1.0.0.tgz", True),  # a lockfile entry claiming a name
    ("probe", None, True),  # omit-lockfile-registry-resolved: the version is unknown
    ("probe", f"{REG}/probe/-/probe-1.0.0-beta.1.tgz", True),
    ("probe", "https://example.com/dl/probe.tgz", False),  # a tarball URL dependency
    ("probe", f"{REG}/probe/-/probe-1.0.0.tgz", False),  # asked for by URL, not by range
    ("probe", "git+ssh://git@github.com/u/probe.git#0123456789abcdef", False),
]
KEYS = [
    "probe",
    "probe@*",
    "probe@1.0.0",
    "probe@v1.0.0",
    "probe@1.0.0 || 1.0.1",
    "probe@1.0.1||1.0.0",
    "probe@v1.0.0 || 1.0.1",
    "probe@=1.0.0",
    "probe@^1.0.0",
    "probe@1.x",
    "probe@latest",
    "probe@1.0.0-beta.1",
    "evil",
    "evil@1.0.0",
    "trusted",
    "@s/probe",
    "@s/probe@2.0.0",
    "@s/probe@1.0.0",
    "https://example.com/dl/probe.tgz",
    f"{REG}/probe/-/probe-1.0.0.tgz",
    "other",
    "probe@npm:other@1.0.0",
]


@pytest.mark.skipif(NPM is None, reason="the real npm CLI is not on PATH")
def test_verdicts_match_npms() -> None:
    root = Path(NPM or "").resolve().parent.parent
    script = (
        "const { isScriptAllowed } = require(process.argv[1]);"
        "const cases = JSON.parse(process.argv[2]);"
        "console.log(JSON.stringify(cases.map(([name, resolved, registry, key, value]) =>"
        "  isScriptAllowed({ resolved, isRegistryDependency: registry, inBundle: false,"
        "    edgesIn: [{ name, spec: registry ? '^1.0.0' : resolved }] }, { [key]: value }))))"
    )
    cases = [
        [name, resolved, registry, key, value]
        for (name, resolved, registry), key, value in itertools.product(
            PACKAGES, KEYS, (True, False)
        )
    ]
    allowed_js = root / "node_modules/@npmcli/arborist/lib/script-allowed.js"
    out = subprocess.run(
        ["node", "-e", script, str(allowed_js), json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
    )
    npm = json.loads(out.stdout)
    ours = [
        script_approval(name, resolved, {key: value}, registry=registry)
        for name, resolved, registry, key, value in cases
    ]
    differ = [(c, n, o) for c, n, o in zip(cases, npm, ours, strict=True) if n != o]
    assert differ == []
    assert npm.count(True) > 10 and npm.count(False) > 10  # the cases exercise both


def test_a_false_entry_wins() -> None:
    url = f"{REG}/probe/-/probe-1.0.0.tgz"
    assert script_approval("probe", url, {"probe": True, "probe@1.0.0": False}) is False
    assert script_approval("probe", url, {"probe": True, "other": False}) is True
    assert script_approval("probe", url, {}) is None
