"""What npmguard reads from an npm lockfile equals what npm reads, entry by entry.

Two oracles, both npm's own ``npm ls --all --json --package-lock-only`` (which reads nothing
but the lockfile and package.json files):

- the real lockfiles in ``../shared/data/lockfiles`` with the output stored beside them: npm's
  tree is walked edge by edge, each edge resolved to a location the way Node resolves
  ``require`` (which is how npm built the tree), and every node npm prints must be the entry
  npmguard has there, with the same version and the same ``resolved``;
- generated variants run through the real npm here (``--long``, which prints each node's
  location, real name, version, resolved, integrity and flags): aliases, workspaces and links,
  git with and without a version, remote and local tarballs, bundled dependencies, every flag,
  a v1 file that has ``packages`` and one that does not.
"""

from __future__ import annotations

import gzip
import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from npmoracle import needs_node, needs_npm, npm_env, npm_ls, npm_ls_nodes, npm_module, run_node
from test_real_lockfiles import _oracle_cases

from npmguard.lockfile.npm import parse
from npmguard.lockfile.sources import classify, consistent_resolved
from npmguard.model import LockedPackage, Lockfile, Occurrence, SourceKind


class Reading:
    """npmguard's reading of one lockfile, by location, with Node's module resolution."""

    def __init__(self, lockfile: Lockfile) -> None:
        self.at: dict[str, tuple[LockedPackage, Occurrence]] = {
            occ.path: (pkg, occ) for pkg in lockfile.packages for occ in pkg.occurrences
        }

    def target(self, location: str) -> str:
        pkg, occ = self.at[location]
        if pkg.source is SourceKind.LINK and occ.resolved and "node_modules" in location:
            return posixpath.normpath(occ.resolved)
        return location

    def resolve(self, start: str, name: str) -> str | None:
        folder = self.target(start) if start else ""
        while True:
            candidate = f"{folder}/node_modules/{name}" if folder else f"node_modules/{name}"
            if candidate in self.at:
                return candidate
            if not folder:
                return None
            folder = folder.rpartition("/")[0]
            if folder.rpartition("/")[2] == "node_modules":
                folder = folder.rpartition("/")[0]

    def npm_resolved(self, location: str) -> str | None:
        """``resolved`` as npm prints it: links as ``file:`` paths from the link's folder,
        git repositories in npm's normal form."""
        pkg, occ = self.at[location]
        if pkg.source is SourceKind.LINK and "node_modules" in location:
            return "file:" + posixpath.relpath(self.target(location), posixpath.dirname(location))
        if pkg.source is SourceKind.GIT and occ.resolved:
            return consistent_resolved(occ.resolved)
        return occ.resolved


def _walk(
    node: dict[str, Any], reading: Reading, parent: str, seen: set[str]
) -> Iterator[tuple[str, str, object, object]]:
    """(location, what, npm's value, ours) for every disagreement under ``node``."""
    for name, item in node.get("dependencies", {}).items():
        if item.get("missing") or ("version" not in item and "resolved" not in item):
            continue
        location = reading.resolve(parent, name)
        if location is None:
            yield (f"{parent} -> {name}", "entry", item.get("version"), None)
            continue
        pkg, _ = reading.at[location]
        if "version" in item and item["version"] != pkg.version:
            yield (location, "version", item["version"], pkg.version)
        npm_resolved = item.get("resolved")
        if npm_resolved and not npm_resolved.startswith("file:/"):  # absolute: another machine
            ours = reading.npm_resolved(location)
            if ours != npm_resolved:
                yield (location, "resolved", npm_resolved, ours)
        full = "resolved" in item or "overridden" in item  # printed with its children
        if full and location not in seen:
            seen.add(location)
            yield from _walk(item, reading, location, seen)


@pytest.mark.parametrize(("lockfile", "oracle"), _oracle_cases())
def test_every_node_npm_prints_is_the_entry_we_read(
    shared_data: Path, lockfile: str, oracle: str
) -> None:
    raw = gzip.decompress((shared_data / "lockfiles" / lockfile).read_bytes())
    reading = Reading(parse(raw, Path(Path(lockfile).name.split("__")[-1].removesuffix(".gz"))))
    with gzip.open(shared_data / "lockfiles" / oracle) as fh:
        tree = json.load(fh)
    seen: set[str] = set()
    assert list(_walk(tree, reading, "", seen)) == []
    assert len(seen) > 100  # the walk really went through the tree


# --- generated variants, read by the real npm ------------------------------------------------

SRI = "sha512-" + "A" * 86 + "=="
REG = "https://registry.npmjs.org"


def _tgz(name: str, version: str) -> str:
    return f"{REG}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def _reg(name: str, version: str, **extra: Any) -> dict[str, Any]:
    return {"version": version, "resolved": _tgz(name, version), "integrity": SRI, **extra}


KITCHEN_SINK: dict[str, Any] = {
    "": {
        "name": "sink",
        "version": "1.0.0",
        "workspaces": ["packages/*"],
        "dependencies": {
            "a": "^1.0.0",
            "alias-lodash": "npm:lodash@^4.17.0",
            "@types/old": "npm:@types/node@^14",
            "plain-alias": "npm:@scope/real@^2",
            "gitver": "github:u/gitver",
            "gitnover": "git+ssh://git@github.com/u/gitnover.git",
            "githttp": "git+http://git.example.org/acme/githttp.git",
            "gitproto": "git://git.example.org/acme/gitproto.git",
            "remote": "https://downloads.example.com/remote-1.2.3.tgz",
            "localtgz": "file:vendor/localtgz-0.1.0.tgz",
            "libdir": "file:../lib",
            "noresolved": "^0.5.0",
            "bundler": "^1.0.0",
            "w1": "*",
        },
        "devDependencies": {"d": "^1.0.0"},
        "optionalDependencies": {"o": "^1.0.0"},
    },
    "node_modules/a": _reg("a", "1.0.0", dependencies={"shared": "^1.0.0", "b": "^2.0.0"}),
    "node_modules/a/node_modules/b": _reg("b", "2.0.0"),
    "node_modules/b": _reg("b", "1.0.0", dev=True),
    "node_modules/shared": _reg("shared", "1.5.0", peer=True),
    "node_modules/alias-lodash": {**_reg("lodash", "4.17.21"), "name": "lodash"},
    "node_modules/@types/old": {**_reg("@types/node", "14.18.63"), "name": "@types/node"},
    "node_modules/plain-alias": {**_reg("@scope/real", "2.0.0"), "name": "@scope/real"},
    "node_modules/gitver": {
        "version": "3.0.0",
        "resolved": "git+https://github.com/u/gitver.git#0123456789abcdef0123456789abcdef01234567",
    },
    "node_modules/gitnover": {
        "resolved": "git+ssh://git@github.com/u/gitnover.git#93028ecaf307b2bf266d451df2dfe5b8f6b064f6"
    },
    "node_modules/githttp": {
        "version": "1.0.0",
        "resolved": "git+http://git.example.org/acme/githttp.git#0123456789abcdef0123456789abcdef01234567",
    },
    "node_modules/gitproto": {
        "resolved": "git://git.example.org/acme/gitproto.git#0123456789abcdef0123456789abcdef01234567"
    },
    "node_modules/remote": {
        "version": "1.2.3",
        "resolved": "https://downloads.example.com/remote-1.2.3.tgz",
        "integrity": SRI,
    },
    "node_modules/localtgz": {"version": "0.1.0", "resolved": "file:vendor/localtgz-0.1.0.tgz"},
    "node_modules/libdir": {"resolved": "../lib", "link": True},
    "../lib": {"name": "libdir", "version": "9.9.9", "dependencies": {"libdep": "^1.0.0"}},
    "../lib/node_modules/libdep": _reg("libdep", "1.0.0"),
    "node_modules/noresolved": {"version": "0.5.0", "devOptional": True},
    "node_modules/bundler": _reg(
        "bundler", "1.0.0", bundleDependencies=["inner"], dependencies={"inner": "^1.0.0"}
    ),
    "node_modules/bundler/node_modules/inner": {"version": "1.0.0", "inBundle": True},
    "node_modules/d": _reg("d", "1.0.0", dev=True, dependencies={"b": "^1.0.0"}),
    "node_modules/o": _reg("o", "1.0.0", optional=True, hasInstallScript=True),
    "node_modules/both": _reg("both", "1.0.0", dev=True, optional=True),
    "node_modules/w1": {"resolved": "./packages/w1", "link": True},
    "node_modules/w2": {"resolved": "packages/x/../w2", "link": True},
    "packages/w1": {"name": "w1", "version": "0.1.0", "dependencies": {"a": "^1.0.0"}},
    "packages/w2": {"name": "@sink/w2", "version": "0.2.0", "devDependencies": {"d": "^1.0.0"}},
    "node_modules/extra": _reg("extra", "1.0.0", extraneous=True),
}


def _write_project(root: Path, lock: dict[str, Any], packages: dict[str, Any]) -> None:
    """The lockfile plus the package.json files npm reads (the root's, link targets')."""
    root.mkdir(parents=True)
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))
    manifest = {k: v for k, v in packages.get("", {}).items() if k != "version"}
    (root / "package.json").write_text(json.dumps({"version": "1.0.0", **manifest}))
    for location, meta in packages.items():
        if location and "node_modules" not in location.split("/"):
            folder = root / location
            folder.mkdir(parents=True, exist_ok=True)
            wanted = ("name", "version", "dependencies", "devDependencies")
            (folder / "package.json").write_text(
                json.dumps({k: meta[k] for k in wanted if k in meta})
            )


def _raw_resolved(reading: Reading, location: str) -> str | None:
    pkg, occ = reading.at[location]
    return reading.npm_resolved(location) if pkg.source is SourceKind.LINK else occ.resolved


def _disagreements(root: Path, reading: Reading) -> Iterator[tuple[str, str, object, object]]:
    nodes = npm_ls_nodes(npm_ls(root, npm_env(root.parent)), root)
    assert len(nodes) >= 10
    for location, item in sorted(nodes.items()):
        if location not in reading.at:
            yield (location, "entry", item.get("_id"), None)
            continue
        pkg, occ = reading.at[location]
        npm_flags = {f: bool(item.get(f)) for f in ("dev", "optional", "peer", "inBundle")}
        npm_flags["devOptional"] = bool(
            item.get("devOptional") or item.get("dev") or item.get("optional")
        )
        ours_flags = {
            "dev": occ.dev,
            "optional": occ.optional,
            "peer": occ.peer,
            "inBundle": occ.bundled,
            "devOptional": occ.dev_optional,
        }
        pairs = {
            "name": (item.get("name"), pkg.name),
            "version": (item.get("version"), pkg.version or None),
            # --long prints the lockfile's own `resolved` (links: the target as a file: path)
            "resolved": (item.get("resolved"), _raw_resolved(reading, location)),
            "integrity": (item.get("integrity"), occ.integrity),
            "flags": (npm_flags, ours_flags),
        }
        if "resolved" in pairs and str(item.get("resolved", "")).startswith("file:/"):
            pairs["resolved"] = (None, None)  # npm prints local tarballs as absolute paths
        for what, (theirs, ours) in pairs.items():
            if theirs != ours:
                yield (location, what, theirs, ours)


@needs_npm
@pytest.mark.npm
@pytest.mark.parametrize(
    "variant",
    ["v3", "v2-sections-differ", "v1-with-packages"],
)
def test_generated_variants_read_as_npm_reads_them(tmp_path: Path, variant: str) -> None:
    """Aliases, links, git (rw-14: no version), bundled, every flag (rw-16), v1 with
    `packages` (npm reads `packages` whatever the version says)."""
    packages = json.loads(json.dumps(KITCHEN_SINK))
    lock: dict[str, Any] = {"name": "sink", "version": "1.0.0", "lockfileVersion": 3}
    if variant != "v3":
        lock["lockfileVersion"] = 2 if variant == "v2-sections-differ" else 1
        # an old-style section that disagrees: npm ignores it when `packages` is there
        lock["dependencies"] = {"a": {"version": "6.6.6", "resolved": _tgz("a", "6.6.6")}}
    lock["requires"] = True
    lock["packages"] = packages
    root = tmp_path / "sink" / "project"
    _write_project(root, lock, packages)
    reading = Reading(parse((root / "package-lock.json").read_bytes(), root / "package-lock.json"))
    assert list(_disagreements(root, reading)) == []


V1_ONLY: dict[str, Any] = {
    "name": "old",
    "version": "1.0.0",
    "lockfileVersion": 1,
    "requires": True,
    "dependencies": {
        "a": {
            "version": "1.0.0",
            "resolved": _tgz("a", "1.0.0"),
            "integrity": SRI,
            "requires": {"b": "^2.0.0", "nov": "^2.0.0"},
            "dependencies": {
                "b": {"version": "2.0.0", "resolved": _tgz("b", "2.0.0"), "integrity": SRI},
                "nov": {"resolved": _tgz("nov", "2.0.0")},
            },
        },
        "alias": {
            "version": "npm:@scope/real@2.0.0",
            "resolved": _tgz("@scope/real", "2.0.0"),
            "integrity": SRI,
        },
        "gh": {
            "version": "github:u/gh#0123456789abcdef0123456789abcdef01234567",
            "from": "github:u/gh",
        },
        "gitplain": {
            "version": "git+http://git.example.org/u/gitplain.git#0123456789abcdef0123456789abcdef01234567",
            "from": "git+http://git.example.org/u/gitplain.git",
        },
        "folder": {"version": "file:local/folder", "requires": {"a": "^1.0.0"}},
        "tgz": {"version": "file:vendor/tgz-0.3.0.tgz", "integrity": SRI},
        "remote": {"version": "https://downloads.example.com/remote-1.2.3.tgz", "integrity": SRI},
        "d": {"version": "1.0.0", "resolved": _tgz("d", "1.0.0"), "integrity": SRI, "dev": True},
        "o": {
            "version": "1.0.0",
            "resolved": _tgz("o", "1.0.0"),
            "integrity": SRI,
            "optional": True,
        },
        "bundler": {
            "version": "1.0.0",
            "resolved": _tgz("bundler", "1.0.0"),
            "integrity": SRI,
            "requires": {"inner": "^1.0.0"},
            "dependencies": {"inner": {"version": "1.0.0", "bundled": True}},
        },
    },
}


@needs_npm
@pytest.mark.npm
def test_v1_dependencies_are_migrated_as_npm_migrates_them(tmp_path: Path) -> None:
    """v1 without `packages`: aliases, git specs in `version` (no version kept), `file:`
    folders as links, tarball versions from the file name, bundled, nested `requires`."""
    root = tmp_path / "old" / "project"
    deps = {n: e["version"] for n, e in V1_ONLY["dependencies"].items()}
    # npm reads a linked folder's version from its package.json on disk; npmguard reads the
    # lockfile alone, where a v1 `file:` link has none: a folder without one agrees on both
    packages = {"": {"name": "old", "dependencies": deps}, "local/folder": {"name": "folder"}}
    _write_project(root, V1_ONLY, packages)
    reading = Reading(parse((root / "package-lock.json").read_bytes(), root / "package-lock.json"))
    found = list(_disagreements(root, reading))
    assert found == []


# --- specs: npm-package-arg and consistent-resolve themselves ---------------------------------

SPECS = [
    "git+https://github.com/u/r.git#0123",
    "git+http://github.com/u/r.git#1",  # not a protocol hosted-git-info knows for GitHub
    "http://github.com/u/r#1",
    "git://github.com/u/r.git#1",
    "git://git.example.org/u/r.git#1",
    "git+http://git.example.org/u/r.git#1",
    "github:u/r#semver:^1",
    "u/r#1",
    "u/r",
    "git+ssh://git@github.com:u/r.git#1",
    "git@github.com:u/r.git",
    "git+ssh://git@git.example.org:acme/r.git#abc",
    "https://github.com/u/r#1",
    "https://github.com/u/r/tree/v1",
    "https://github.com/u/r/archive/v1.tar.gz",
    "https://www.github.com/u/r.git",
    "git+https://tok:x@github.com/u/r.git#c",
    "https://user@github.com/u/r.git",
    "gitlab:g/p#1",
    "git+https://gitlab.com/g/sub/p.git#1",
    "https://gitlab.com/g/p/-/archive/v1/p-v1.tar.gz",
    "bitbucket:u/r#1",
    "git+https://bitbucket.org/u/r.git#1",
    "https://bitbucket.org/u/r/get/v1.tar.gz",
    "gist:abc123#1",
    "git+https://gist.github.com/abc123.git",
    "sourcehut:~u/r#1",
    "https://git.sr.ht/~u/r",
    "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
    "https://downloads.example.com/x-1.0.0.tgz",
    "file:../vendor/x-1.0.0.tgz",
    "file:packages/a",
    "../lib",
    "./vendor/x.tgz",
    "npm:@scope/real@^2",
    "1.2.3",
    "^1.0.0",
    "latest",
]


@needs_node
def test_git_repositories_are_normalised_as_npm_normalises_them() -> None:
    """consistent-resolve: which git URLs npm rewrites (to git+ssh) and which it keeps."""
    module = npm_module("@npmcli/arborist")
    if module is None:
        pytest.skip("npm's Arborist is not installed here")
    script = (
        f"const c = require({json.dumps(str(module / 'lib' / 'consistent-resolve.js'))});"
        "const specs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(specs.map((s) => c(s, '/p', '/p'))));"
    )
    theirs = run_node(script, SPECS)
    ours = [consistent_resolved(s) for s in SPECS]
    keep = [i for i, s in enumerate(SPECS) if classify(None, s) is SourceKind.GIT]
    assert len(keep) > 20
    assert [(SPECS[i], ours[i]) for i in keep] == [(SPECS[i], theirs[i]) for i in keep]


@needs_node
def test_source_kinds_are_npm_package_args_types() -> None:
    """npm-package-arg's type for each spec: git, remote (a URL), file/directory, or a
    registry type (version, range, tag, alias)."""
    module = npm_module("npm-package-arg")
    if module is None:
        pytest.skip("npm's npm-package-arg is not installed here")
    script = (
        f"const npa = require({json.dumps(str(module))});"
        "const specs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(specs.map((s) => {"
        "  try { return npa.resolve('x', s, '/p').type } catch (e) { return 'error' } })));"
    )
    kinds = {
        "git": {SourceKind.GIT},
        "remote": {SourceKind.TARBALL, SourceKind.REGISTRY},  # a registry tarball is a URL too
        "file": {SourceKind.FILE},
        "directory": {SourceKind.FILE},
        "version": {SourceKind.REGISTRY},
        "range": {SourceKind.REGISTRY},
        "tag": {SourceKind.REGISTRY},
        "alias": {SourceKind.REGISTRY},
    }
    theirs = run_node(script, SPECS)
    wrong = [
        (s, t, classify(None, s))
        for s, t in zip(SPECS, theirs, strict=True)
        if classify(None, s) not in kinds[t]
    ]
    assert wrong == []
