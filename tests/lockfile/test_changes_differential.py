"""`--changed-since` on npm lockfiles: the quick comparison (raw entries first, the reader only
on what could differ) gives exactly the answer of reading the whole old file.

Real lockfiles (the bench ones and every npm one in the shared data) are edited at random:
versions, integrity, hosts, flags, licenses, aliases, entries added, removed, moved and
copied, the root's and entries' dependencies, the targets of optional and peer dependencies,
workspace folders, and now and then something global (lockfileVersion, the order, a link).
Each edit is compared both ways (old -> new and new -> old) against the full read.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from npmguard.errors import LockfileError
from npmguard.lockfile import load_lockfile, parse_lockfile_text
from npmguard.lockfile.changes import _npm_quick, changed_keys
from npmguard.model import Lockfile

SHARED_DATA = Path(
    os.environ.get(
        "NPMGUARD_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
ROUNDS = 4
Packages = dict[str, dict[str, Any]]


def _lockfiles() -> list[str]:
    found = sorted((SHARED_DATA / "bench").glob("*.package-lock.json.gz"))
    for folder in ("npm-v2", "npm-v3", "shrinkwrap"):
        found += sorted(
            p
            for p in (SHARED_DATA / "lockfiles" / folder).glob("*.json.gz")
            if ".npm-ls" not in p.name
        )
    return [str(p.relative_to(SHARED_DATA)) for p in found]


def _integrity(seed: str) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()


def _installed(packages: Packages, rng: random.Random) -> str:
    """A random entry under node_modules that is not a link."""
    keys = [k for k, e in packages.items() if "node_modules/" in k and not e.get("link")]
    return rng.choice(keys)


def _version(p: Packages, rng: random.Random) -> None:
    e = p[_installed(p, rng)]
    old, new = str(e.get("version", "")), f"{rng.randint(0, 99)}.0.{rng.randint(0, 9)}"
    e["version"] = new
    if isinstance(e.get("resolved"), str) and old:
        e["resolved"] = e["resolved"].replace(f"-{old}.tgz", f"-{new}.tgz")


def _integrity_edit(p: Packages, rng: random.Random) -> None:
    p[_installed(p, rng)]["integrity"] = _integrity(str(rng.random()))


def _host(p: Packages, rng: random.Random) -> None:
    e = p[_installed(p, rng)]
    if isinstance(e.get("resolved"), str):
        e["resolved"] = e["resolved"].replace("https://", "https://evil.example/", 1)


def _flag(p: Packages, rng: random.Random) -> None:
    e = p[_installed(p, rng)]
    flag = rng.choice(["dev", "optional", "devOptional", "peer", "inBundle", "hasInstallScript"])
    if e.pop(flag, None) is None:
        e[flag] = True


def _license(p: Packages, rng: random.Random) -> None:
    e = p[_installed(p, rng)]
    if e.pop("license", None) is None:
        e["license"] = rng.choice(["MIT", "ISC", "UNLICENSED"])


def _alias(p: Packages, rng: random.Random) -> None:
    p[_installed(p, rng)]["name"] = _installed(p, rng).rpartition("node_modules/")[2]


def _add(p: Packages, rng: random.Random) -> None:
    name = f"fresh-{rng.randint(0, 10**6)}"
    p[f"node_modules/{name}"] = {
        "version": "1.0.0",
        "resolved": f"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz",
        "integrity": _integrity(name),
    }


def _copy(p: Packages, rng: random.Random) -> None:
    """Another copy of a known name@version, nested (a tampered one, sometimes)."""
    source = _installed(p, rng)
    under = _installed(p, rng)
    entry = dict(p[source])
    if rng.random() < 0.5:
        entry["integrity"] = _integrity("tampered")
    p[f"{under}/node_modules/{source.rpartition('node_modules/')[2]}"] = entry


def _remove(p: Packages, rng: random.Random) -> None:
    del p[rng.choice([k for k in p if k])]


def _move(p: Packages, rng: random.Random) -> None:
    """An entry hoisted or nested elsewhere (npm dedupes): not a change by itself."""
    source = _installed(p, rng)
    entry = p.pop(source)
    name = source.rpartition("node_modules/")[2]
    if source.count("node_modules/") > 1 and f"node_modules/{name}" not in p:
        p[f"node_modules/{name}"] = entry
    else:
        p[f"{_installed(p, rng)}/node_modules/{name}"] = entry


def _peer_target(p: Packages, rng: random.Random) -> None:
    """Remove or add the folder an optional or peer dependency resolves to."""
    wanted = sorted(
        {
            d
            for e in p.values()
            for fld in ("peerDependencies", "optionalDependencies")
            for d in (e.get(fld) or {})
        }
    )
    if not wanted:
        return _remove(p, rng)
    name = rng.choice(wanted)
    if f"node_modules/{name}" in p:
        del p[f"node_modules/{name}"]
    else:
        p[f"node_modules/{name}"] = {"version": "1.0.0", "resolved": f"https://r.example/{name}"}
    return None


def _dependencies(p: Packages, rng: random.Random) -> None:
    key = rng.choice(["", _installed(p, rng), _installed(p, rng)])
    e = p.setdefault(key, {})
    fld = rng.choice(["dependencies", "dependencies", "peerDependencies", "optionalDependencies"])
    deps = e.setdefault(fld, {})
    if deps and rng.random() < 0.5:
        del deps[rng.choice(sorted(deps))]
    else:
        deps[_installed(p, rng).rpartition("node_modules/")[2]] = f"^{rng.randint(0, 9)}.0.0"


def _workspace(p: Packages, rng: random.Random) -> None:
    """A workspace folder's version (its link takes it), or any entry without one."""
    free = [k for k in p if k and "node_modules" not in k.split("/")]
    if not free:
        return _version(p, rng)
    p[rng.choice(free)]["version"] = f"9.9.{rng.randint(0, 99)}"
    return None


def _reorder(p: Packages, rng: random.Random) -> None:
    """Two entries swap places (npm sorts its keys; a hand-edited file may not)."""
    keys = list(p)
    i, j = rng.sample(range(1, len(keys)), 2)
    keys[i], keys[j] = keys[j], keys[i]
    items = [(k, p[k]) for k in keys]
    p.clear()
    p.update(items)


def _link(p: Packages, rng: random.Random) -> None:
    links = [k for k, e in p.items() if e.get("link")]
    if not links:
        return _remove(p, rng)
    p[rng.choice(links)]["resolved"] = "elsewhere"
    return None


EDITS: list[Callable[[Packages, random.Random], None]] = [
    _version,
    _version,
    _integrity_edit,
    _host,
    _flag,
    _flag,
    _license,
    _alias,
    _add,
    _copy,
    _copy,
    _remove,
    _move,
    _move,
    _peer_target,
    _peer_target,
    _dependencies,
    _dependencies,
    _workspace,
]
RARE: list[Callable[[Packages, random.Random], None]] = [_reorder, _link]


def _write(folder: Path, file_name: str, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


def _load(path: Path) -> Lockfile:
    return parse_lockfile_text(path.read_bytes(), path, lines=False)  # lines are not compared


def _compare(lockfile: Lockfile, old: bytes) -> bool:
    """The quick answer is the full one, or None (the full read answers then, as
    :func:`changed_keys` does); whether the quick comparison answered."""
    try:
        full = changed_keys(lockfile, old, quick=False)
    except LockfileError:
        assert _npm_quick(lockfile, old) is None  # the error comes from the full read
        return False
    quick = _npm_quick(lockfile, old)
    assert quick is None or quick == full
    return quick is not None


@pytest.mark.parametrize("relative", _lockfiles())
def test_quick_equals_full_on_random_edits(tmp_path: Path, relative: str) -> None:
    source = SHARED_DATA / relative
    if not source.is_file():
        pytest.skip("shared data not found")
    file_name = "npm-shrinkwrap.json" if "shrinkwrap" in relative else "package-lock.json"
    original = json.loads(gzip.decompress(source.read_bytes()))
    first = _write(tmp_path / "a", file_name, original)
    before = _load(first)
    answered = 0
    for round_ in range(ROUNDS):
        rng = random.Random(f"{relative}:{round_}")
        doc = json.loads(json.dumps(original))
        edits = rng.sample(EDITS, rng.randint(1, 3))
        if round_ == ROUNDS - 1:
            edits.append(rng.choice(RARE))
        for edit in edits:
            edit(doc["packages"], rng)
        second = _write(tmp_path / f"b{round_}", file_name, doc)
        answered += _compare(_load(second), first.read_bytes())
        answered += _compare(before, second.read_bytes())
    # the quick comparison answered most of them itself (the rare edits read the full file)
    assert answered >= ROUNDS, answered


def _small(packages: Packages) -> dict[str, Any]:
    return {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": packages}


def _entry(name: str, version: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": version,
        "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
        "integrity": _integrity(f"{name}@{version}"),
        **extra,
    }


def _tree(**extra: dict[str, Any]) -> Packages:
    packages: Packages = {"": {"name": "app", "dependencies": {"host": "1.0.0"}}}
    packages["node_modules/host"] = _entry("host", "1.0.0", peerDependencies={"peer": "^1"})
    for name in "abcdef":
        packages[f"node_modules/{name}"] = _entry(name, "1.0.0")
    packages.update(extra)
    return packages


def test_removing_a_peer_target_changes_its_dependent(tmp_path: Path) -> None:
    """The peer dependency is listed only while a folder for it is in the tree: removing the
    folder changes what the lockfile says of the package that names it, not just the folder."""
    old = _write(tmp_path / "old", "package-lock.json", _small(_tree(**{
        "node_modules/peer": _entry("peer", "1.0.0")
    })))  # fmt: skip
    new = _write(tmp_path / "new", "package-lock.json", _small(_tree()))
    lockfile = load_lockfile(new)
    assert _npm_quick(lockfile, old.read_bytes()) == {"host@1.0.0"}
    assert changed_keys(lockfile, old.read_bytes(), quick=False) == {"host@1.0.0"}


def test_a_workspace_version_changes_its_link(tmp_path: Path) -> None:
    def tree(version: str) -> Packages:
        packages = _tree()
        packages[""]["workspaces"] = ["packages/*"]
        packages["node_modules/ws"] = {"resolved": "packages/ws", "link": True}
        packages["packages/ws"] = {"name": "ws", "version": version}
        return packages

    old = _write(tmp_path / "old", "package-lock.json", _small(tree("1.0.0")))
    new = _write(tmp_path / "new", "package-lock.json", _small(tree("1.1.0")))
    lockfile = load_lockfile(new)
    assert _npm_quick(lockfile, old.read_bytes()) == {"ws@1.1.0"}
    assert changed_keys(lockfile, old.read_bytes(), quick=False) == {"ws@1.1.0"}


def test_a_flag_written_as_a_number_in_the_old_file_is_refused_as_before(tmp_path: Path) -> None:
    """``1 == True`` in Python: the raw entries compare equal, but the full read refuses the
    old file, so the quick comparison leaves it to the full read."""
    text = json.dumps(_small(_tree(**{"node_modules/x": _entry("x", "1.0.0", dev=True)})))
    new = tmp_path / "package-lock.json"
    new.write_text(text)
    old = text.replace('"dev": true', '"dev": 1').encode()
    lockfile = load_lockfile(new)
    assert _npm_quick(lockfile, old) is None
    with pytest.raises(LockfileError, match=r'packages\["node_modules/x"\]\.dev'):
        changed_keys(lockfile, old)


def _workspace_tree(*, workspaces: bool = True, folder: bool = True) -> dict[str, Any]:
    packages = _tree()
    if workspaces:
        packages[""]["workspaces"] = ["packages/*"]
    if folder:
        packages["packages/a"] = {"name": "a-ws", "version": "1.0.0"}
    packages["packages/a/node_modules/x"] = _entry("x", "1.0.0")
    return _small(packages)


def _licensed_copies(first: str) -> dict[str, Any]:
    """Two copies of x@1.0.0 (under a and under b) that differ in license, ``first`` first."""
    packages = _tree()
    licenses = {"a": "MIT", "b": "ISC"}
    for parent in sorted(licenses, key=lambda p: p != first):
        packages[f"node_modules/{parent}/node_modules/x"] = _entry(
            "x", "1.0.0", license=licenses[parent]
        )
    return _small(packages)


@pytest.mark.parametrize(
    ("old", "new", "full"),
    [
        # npmguard reads 1, 2 and 3: the full read refuses the old copy
        (dict(_small(_tree()), lockfileVersion=99), _small(_tree()), None),
        # packages/a becomes a workspace: --omit now applies under it (omittable)
        (_workspace_tree(workspaces=False), _workspace_tree(), {"a-ws@1.0.0", "x@1.0.0"}),
        # the workspace folder appears: the same
        (_workspace_tree(folder=False), _workspace_tree(), {"a-ws@1.0.0", "x@1.0.0"}),
        # two copies of x@1.0.0 swap places: the package's license is the first copy's
        (_licensed_copies("a"), _licensed_copies("b"), {"x@1.0.0"}),
    ],
    ids=["lockfileVersion", "workspaces", "workspace-folder", "order"],
)
def test_global_changes_read_the_whole_old_file(
    tmp_path: Path, old: dict[str, Any], new: dict[str, Any], full: set[str] | None
) -> None:
    lockfile = load_lockfile(_write(tmp_path, "package-lock.json", new))
    before = json.dumps(old).encode()
    assert _npm_quick(lockfile, before) is None
    if full is None:
        with pytest.raises(LockfileError, match="unsupported lockfileVersion 99"):
            changed_keys(lockfile, before)
    else:
        assert changed_keys(lockfile, before) == full


def test_a_link_whose_target_goes_away(tmp_path: Path) -> None:
    """A link takes its target's name and version; without the target it is read on its
    own, under another key: a change although the link's own entry did not change."""
    packages = _tree()
    packages["node_modules/lnk"] = {"resolved": "node_modules/.store/real", "link": True}
    old = json.dumps(
        _small({**packages, "node_modules/.store/real": {"name": "real", "version": "1.0.0"}})
    ).encode()
    lockfile = load_lockfile(_write(tmp_path, "package-lock.json", _small(packages)))
    full = changed_keys(lockfile, old, quick=False)
    assert full == {"lnk@"}
    assert _npm_quick(lockfile, old) == full
