"""The npm lockfile reader on small hand-made lockfiles: names, sources, flags, edges, lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npmguard.errors import UsageError
from npmguard.lockfile import find_lockfile, load_lockfile, parse_lockfile_text
from npmguard.model import LockedPackage, Lockfile, SourceKind

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lockfiles"


@pytest.fixture(scope="module")
def v3() -> Lockfile:
    return load_lockfile(FIXTURES / "sources-v3.json")


@pytest.fixture(scope="module")
def v1() -> Lockfile:
    return load_lockfile(FIXTURES / "v1-aliases.json")


def by_path(lockfile: Lockfile, path: str) -> LockedPackage:
    (pkg,) = [p for p in lockfile.packages if path in p.paths]
    return pkg


def test_root_entry_is_not_a_package(v3: Lockfile) -> None:
    assert v3.root_name == "fixture-app"
    assert v3.root_version == "1.2.3"
    assert v3.format == "npm-v3"
    assert v3.lockfile_version == 3
    assert "" not in {path for p in v3.packages for path in p.paths}


def test_v2_legacy_dependencies_section_is_ignored(v3: Lockfile) -> None:
    # the fixture's `dependencies` section says left-pad 9.9.9; `packages` says 1.3.0
    assert [p.version for p in v3.packages if p.name == "left-pad"] == ["1.3.0"]


def test_alias_takes_the_real_name_from_the_name_field(v3: Lockfile) -> None:
    pkg = by_path(v3, "node_modules/string-width-cjs")
    assert pkg.name == "string-width"
    assert pkg.version == "4.2.3"
    # the alias and the plain install of the same version are one package, two occurrences
    assert pkg.paths == ("node_modules/string-width", "node_modules/string-width-cjs")
    assert {o.installed_as for o in pkg.occurrences} == {"string-width", "string-width-cjs"}
    assert pkg.aliases == ("string-width-cjs",)


def test_nested_duplicates_at_other_versions_are_kept(v3: Lockfile) -> None:
    versions = sorted(p.version for p in v3.packages if p.name == "string-width")
    assert versions == ["4.2.3", "5.1.2"]


def test_a_package_is_production_if_any_occurrence_is(v3: Lockfile) -> None:
    pkg = by_path(v3, "node_modules/string-width")  # dev here, production as string-width-cjs
    assert [o.dev for o in pkg.occurrences] == [True, False]
    assert pkg.dev is False


def test_flags(v3: Lockfile) -> None:
    fsevents = by_path(v3, "node_modules/fsevents")
    assert fsevents.dev and fsevents.optional
    no_resolved = by_path(v3, "node_modules/no-resolved")
    # rw-16: devOptional alone is neither dev nor optional: npm drops it only when both are
    assert no_resolved.first.dev_optional and no_resolved.dev_optional
    assert not no_resolved.dev and not no_resolved.optional
    assert by_path(v3, "node_modules/left-pad").peer
    bundled = by_path(v3, "node_modules/a/node_modules/bundled-dep")
    assert bundled.bundled and bundled.integrity is None
    assert by_path(v3, "node_modules/a").has_install_script
    assert not by_path(v3, "node_modules/left-pad").has_install_script
    assert bundled.license == "MIT"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("node_modules/a", SourceKind.REGISTRY),
        ("node_modules/no-resolved", SourceKind.REGISTRY),  # version only: npm asks the registry
        ("node_modules/a/node_modules/bundled-dep", SourceKind.REGISTRY),
        ("node_modules/private-pkg", SourceKind.REGISTRY),  # registry-shaped URL, other host
        ("node_modules/gitdep", SourceKind.GIT),
        ("node_modules/tarball-dep", SourceKind.TARBALL),
        ("node_modules/local-tgz", SourceKind.FILE),
        ("node_modules/@app/ws", SourceKind.LINK),
        ("packages/ws", SourceKind.LINK),
    ],
)
def test_source_kinds(v3: Lockfile, path: str, kind: SourceKind) -> None:
    assert by_path(v3, path).source is kind


def test_workspace_link_and_its_folder_are_one_package_never_on_a_registry(v3: Lockfile) -> None:
    ws = by_path(v3, "node_modules/@app/ws")
    assert (ws.name, ws.version) == ("@app/ws", "0.1.0")
    assert ws.paths == ("node_modules/@app/ws", "packages/ws")
    assert ws.first.resolved == "packages/ws"
    assert not ws.on_registry
    assert ws.requires == ("left-pad@1.3.0",)


def test_edges_follow_node_resolution(v3: Lockfile) -> None:
    a = by_path(v3, "node_modules/a")
    # string-width resolves to a's own nested copy, not the hoisted 4.2.3
    assert a.requires == ("bundled-dep@3.0.0", "left-pad@1.3.0", "string-width@5.1.2")
    # an optional dependency that is not installed is not an edge and not listed
    assert a.dependencies == {
        "bundled-dep": "^3.0.0",
        "left-pad": "^1.0.0",
        "string-width": "^5.1.2",
    }
    assert by_path(v3, "node_modules/a/node_modules/string-width").dependents == ("a@1.0.0",)
    assert by_path(v3, "node_modules/left-pad").dependents == ("@app/ws@0.1.0", "a@1.0.0")


def test_line_numbers_point_at_the_entry_key(v3: Lockfile) -> None:
    lines = (FIXTURES / "sources-v3.json").read_text().splitlines()
    for pkg in v3.packages:
        for occ in pkg.occurrences:
            assert occ.line is not None
            assert lines[occ.line - 1].strip() == f'"{occ.path}": {{'
    assert by_path(v3, "node_modules/a").line == 30


def test_minified_lockfile_has_no_line_numbers_but_the_same_packages(v3: Lockfile) -> None:
    raw = json.loads((FIXTURES / "sources-v3.json").read_text())
    mini = parse_lockfile_text(json.dumps(raw).encode(), Path("package-lock.json"))
    assert [p.key for p in mini.packages] == [p.key for p in v3.packages]
    assert {o.line for p in mini.packages for o in p.occurrences} == {None}


def test_resolved_urls_are_kept_as_written(v3: Lockfile) -> None:
    # redaction is for outputs; the model keeps the URL so rules can compare hosts
    assert "s3cr3t-t0ken" in (by_path(v3, "node_modules/private-pkg").resolved or "")


def test_v1_npm_alias_splits_on_the_last_at(v1: Lockfile) -> None:
    types = by_path(v1, "node_modules/@types/node-old")
    assert (types.name, types.version, types.source) == (
        "@types/node",
        "14.18.63",
        SourceKind.REGISTRY,
    )
    assert types.first.installed_as == "@types/node-old"
    assert types.dev
    sw = by_path(v1, "node_modules/string-width-cjs")
    assert (sw.name, sw.version) == ("string-width", "4.2.3")


def test_v1_sources_nesting_and_requires(v1: Lockfile) -> None:
    assert v1.format == "npm-v1"
    assert v1.root_name == "fixture-v1"
    assert by_path(v1, "node_modules/gitdep").source is SourceKind.GIT
    folder = by_path(v1, "node_modules/local-folder")
    assert folder.source is SourceKind.LINK  # a `file:` folder is a symlink
    assert folder.requires == ("ms@2.1.3",)
    nested = by_path(v1, "node_modules/string-width-cjs/node_modules/ms")
    assert nested.version == "2.0.0" and nested.bundled
    assert by_path(v1, "node_modules/string-width-cjs").requires == ("ms@2.0.0",)


def test_v1_line_numbers_track_nesting(v1: Lockfile) -> None:
    lines = (FIXTURES / "v1-aliases.json").read_text().splitlines()
    nested = by_path(v1, "node_modules/string-width-cjs/node_modules/ms").first
    top = by_path(v1, "node_modules/ms").first
    assert nested.line is not None and top.line is not None
    assert nested.line != top.line
    assert lines[nested.line - 1].strip() == '"ms": {'
    assert lines[nested.line].strip() == '"version": "2.0.0",'
    assert lines[top.line].strip() == '"version": "2.1.3",'


def _write(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "lockfileVersion": 3, "packages": {}}))


def test_find_lockfile_prefers_shrinkwrap(tmp_path: Path) -> None:
    _write(tmp_path / "package-lock.json", "lock")
    _write(tmp_path / "npm-shrinkwrap.json", "shrink")
    _write(tmp_path / "node_modules" / ".package-lock.json", "hidden")
    assert find_lockfile(tmp_path) == tmp_path / "npm-shrinkwrap.json"
    lockfile = load_lockfile(tmp_path)  # a folder: the same choice
    assert lockfile.root_name == "shrink"
    assert lockfile.format == "npm-shrinkwrap-v3"


def test_hidden_lockfile_is_the_last_resort(tmp_path: Path) -> None:
    hidden = tmp_path / "node_modules" / ".package-lock.json"
    hidden.parent.mkdir()
    hidden.write_text(
        json.dumps(
            {
                "name": "app",
                "lockfileVersion": 3,
                "packages": {
                    "node_modules/ms": {
                        "version": "2.1.3",
                        "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
                    }
                },
            },
            indent=2,
        )
    )
    assert find_lockfile(tmp_path) == hidden
    lockfile = load_lockfile(tmp_path)
    assert lockfile.format == "npm-hidden-v3"
    assert lockfile.root_name == "app"
    assert [p.key for p in lockfile.packages] == ["ms@2.1.3"]
    assert lockfile.packages[0].line == 5


def test_find_lockfile_names_the_folder_when_there_is_none(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=str(tmp_path)):
        find_lockfile(tmp_path)


@pytest.mark.parametrize(
    ("resolved", "version", "kind"),
    [
        ("https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz", "20.1.0", SourceKind.REGISTRY),
        ("http://registry.npmjs.org/ms/-/ms-2.1.3.tgz", "2.1.3", SourceKind.REGISTRY),
        ("https://npm.corp.example/api/npm/ms/-/ms-2.1.3.tgz", "2.1.3", SourceKind.REGISTRY),
        (None, "1.0.0-beta.1", SourceKind.REGISTRY),
        ("https://codeload.github.com/u/r/tar.gz/abc", "1.0.0", SourceKind.TARBALL),
        ("https://example.com/files/r-1.0.0.tgz?sig=x", "1.0.0", SourceKind.TARBALL),
        ("git+https://github.com/u/r.git#abc", "1.0.0", SourceKind.GIT),
        ("git://github.com/u/r.git#abc", "1.0.0", SourceKind.GIT),
        (None, "github:u/r#abc", SourceKind.GIT),
        (None, "gitlab:u/r#abc", SourceKind.GIT),
        (None, "bitbucket:u/r#abc", SourceKind.GIT),
        (None, "git+ssh://git@github.com/u/r.git#abc", SourceKind.GIT),
        ("file:vendor/r-1.0.0.tgz", "1.0.0", SourceKind.FILE),
        (None, "file:../r-1.0.0.tgz", SourceKind.FILE),
    ],
)
def test_classify(resolved: str | None, version: str, kind: SourceKind) -> None:
    from npmguard.lockfile.sources import classify

    assert classify(resolved, version) is kind


def test_v1_entry_without_version_takes_it_from_the_tarball_name() -> None:
    """npm's version-from-tgz: ``npm ls`` reads this nested entry as b@2.0.0."""
    text = {
        "lockfileVersion": 1,
        "dependencies": {
            "a": {
                "version": "1.0.0",
                "requires": {"b": "^2.0.0"},
                "dependencies": {"b": {"resolved": "https://registry.npmjs.org/b/-/b-2.0.0.tgz"}},
            }
        },
    }
    lockfile = parse_lockfile_text(json.dumps(text).encode(), Path("package-lock.json"))
    b = by_path(lockfile, "node_modules/a/node_modules/b")
    assert (b.name, b.version, b.source) == ("b", "2.0.0", SourceKind.REGISTRY)
    assert by_path(lockfile, "node_modules/a").requires == ("b@2.0.0",)
