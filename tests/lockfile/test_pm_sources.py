"""pnpm, yarn and bun lockfiles written by the real tools for one small project (see
tests/fixtures/lockfiles/sources/README.md): names, sources, integrity, flags, edges, lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from npmguard.errors import LockfileError, UsageError
from npmguard.lockfile import load_lockfile, parse_lockfile_text
from npmguard.model import LockedPackage, Lockfile, SourceKind

SOURCES = Path(__file__).resolve().parent.parent / "fixtures" / "lockfiles" / "sources"
PNPM = ("pnpm-5.4", "pnpm-6.0", "pnpm-9.0")
ALL = (*PNPM, "yarn-v1", "yarn-berry-10")


def _load(folder: str) -> Lockfile:
    return load_lockfile(SOURCES / folder)


def _one(lockfile: Lockfile, name: str, version: str | None = None) -> LockedPackage:
    (pkg,) = [
        p for p in lockfile.packages if p.name == name and (version is None or p.version == version)
    ]
    return pkg


@pytest.mark.parametrize(
    ("folder", "fmt", "version"),
    [
        ("pnpm-5.4", "pnpm-v5.4", 5),
        ("pnpm-6.0", "pnpm-v6.0", 6),
        ("pnpm-9.0", "pnpm-v9.0", 9),
        ("pnpm-9.0-env", "pnpm-v9.0", 9),
        ("yarn-v1", "yarn-v1", 1),
        ("yarn-berry-10", "yarn-berry-v10", 10),
        ("bun", "bun-v2", 2),
    ],
)
def test_format_and_version(folder: str, fmt: str, version: int) -> None:
    lockfile = _load(folder)
    assert (lockfile.format, lockfile.lockfile_version) == (fmt, version)


@pytest.mark.parametrize("folder", ALL)
def test_registry_packages_with_nested_versions(folder: str) -> None:
    lockfile = _load(folder)
    registry = {p.key for p in lockfile.packages if p.source is SourceKind.REGISTRY}
    assert registry == {
        "is-buffer@1.1.6",
        "is-even@1.0.0",
        "is-number@3.0.0",
        "is-number@6.0.0",
        "is-number@7.0.0",
        "is-odd@0.1.2",
        "is-odd@3.0.1",
        "kind-of@3.2.2",
        "left-pad@1.3.0",
        "ms@2.1.3",
    }
    # every registry entry carries the tarball's hash, in the form the format gives
    for pkg in lockfile.packages:
        if pkg.source is SourceKind.REGISTRY:
            occ = pkg.first
            if folder.startswith("yarn-berry"):
                assert occ.integrity is None and (occ.checksum or "").startswith("10c0/")
            else:
                assert (occ.integrity or "").startswith("sha512-"), pkg.key


@pytest.mark.parametrize("folder", ALL)
def test_an_alias_is_its_real_package_installed_under_the_alias(folder: str) -> None:
    pkg = _one(_load(folder), "left-pad")
    assert pkg.first.installed_as == "lp"
    assert pkg.aliases == ("lp",)


@pytest.mark.parametrize("folder", ALL)
def test_the_tarball_url_is_a_tarball_source(folder: str) -> None:
    pkg = _one(_load(folder), "tgz-pkg")
    assert pkg.source is SourceKind.TARBALL
    assert pkg.version == "3.0.0"
    assert (pkg.resolved or "").startswith("http://127.0.0.1:47999/tgz-pkg-3.0.0.tgz")


def test_tarball_integrity_where_the_tool_records_it() -> None:
    # pnpm 7/8 record no hash for a tarball URL; pnpm 10 does; yarn 1 puts a sha1 after `#`
    assert _one(_load("pnpm-6.0"), "tgz-pkg").integrity is None
    assert (_one(_load("pnpm-9.0"), "tgz-pkg").integrity or "").startswith("sha512-")
    yarn = _one(_load("yarn-v1"), "tgz-pkg")
    assert yarn.integrity == "sha1-kDrRusuQYO1iaad+Ckp4Fdv6pQo="  # 903ad1ba… in base64


@pytest.mark.parametrize("folder", ("pnpm-5.4", "pnpm-9.0", "yarn-v1", "bun"))
def test_git_dependency(folder: str) -> None:
    pkg = _one(_load(folder), "gitdep")
    assert pkg.source is SourceKind.GIT
    assert "04eb7a4fb976f427ed3febac2b3a205ea1dfc522" in (pkg.resolved or "")
    assert pkg.integrity is None


@pytest.mark.parametrize("folder", (*PNPM, "yarn-v1", "yarn-berry-10", "bun"))
def test_file_folder_is_a_local_source(folder: str) -> None:
    pkg = _one(_load(folder), "local-folder")
    assert pkg.source is SourceKind.FILE
    assert not pkg.on_registry


@pytest.mark.parametrize("folder", (*PNPM, "yarn-berry-10"))
def test_workspace_is_a_link_named_by_its_package(folder: str) -> None:
    pkg = _one(_load(folder), "@fx/a")
    assert pkg.source is SourceKind.LINK
    assert pkg.requires == ("is-number@7.0.0",)


@pytest.mark.parametrize("folder", PNPM)
def test_dev_and_optional_flags_follow_the_importers(folder: str) -> None:
    lockfile = _load(folder)
    dev_only = {p.key for p in lockfile.packages if p.dev}
    assert dev_only == {"is-even@1.0.0", "is-odd@0.1.2", "is-number@3.0.0", "kind-of@3.2.2"} | {
        "is-buffer@1.1.6"
    }
    assert _one(lockfile, "ms").optional and not _one(lockfile, "ms").dev


def test_bun_flags_follow_the_workspaces() -> None:
    lockfile = _load("bun")  # is-odd is a root devDependency; @fx/b's is-even is dev too
    dev_only = {p.key for p in lockfile.packages if p.dev}
    assert {"is-odd@3.0.1", "is-number@6.0.0", "is-even@1.0.0", "is-odd@0.1.2"} <= dev_only
    assert not {"is-number@7.0.0", "express@4.22.3", "ms@2.1.3"} & dev_only
    assert _one(lockfile, "left-pad").optional


def test_yarn_lockfiles_do_not_say_what_is_dev() -> None:
    # yarn records no dependency kinds per workspace: everything counts as production
    for folder in ("yarn-v1", "yarn-berry-10"):
        assert not any(p.dev for p in _load(folder).packages)
    assert _one(_load("yarn-berry-10"), "ms").optional  # dependenciesMeta says optional


@pytest.mark.parametrize("folder", ALL)
def test_edges(folder: str) -> None:
    lockfile = _load(folder)
    assert _one(lockfile, "is-odd", "3.0.1").requires == ("is-number@6.0.0",)
    assert _one(lockfile, "is-odd", "0.1.2").dependents == ("is-even@1.0.0",)
    assert _one(lockfile, "kind-of").requires == ("is-buffer@1.1.6",)


@pytest.mark.parametrize("folder", (*ALL, "bun"))
def test_every_entry_has_the_line_of_its_key(folder: str) -> None:
    lockfile = _load(folder)
    path = next((SOURCES / folder).glob("*.lock*"), None) or SOURCES / folder / "pnpm-lock.yaml"
    lines = path.read_text().splitlines()
    for pkg in lockfile.packages:
        if pkg.source is SourceKind.LINK and folder.startswith("pnpm"):
            continue  # a workspace: the line of its importer
        for occ in pkg.occurrences:
            assert occ.line is not None, (pkg.key, occ.path)
            text = lines[occ.line - 1].strip().strip("'\"")
            assert text.startswith(occ.path.split(", ")[0].strip('"')), (occ.line, text)


def test_install_scripts_are_known_only_where_the_format_says() -> None:
    # pnpm 5.x/6.x: requiresBuild absent -> no script; true is unknown (pnpm also writes it
    # for packages it did not look into: ms has no script)
    assert _one(_load("pnpm-6.0"), "is-odd", "3.0.1").has_install_script is False
    assert _one(_load("pnpm-6.0"), "ms").has_install_script is None
    for folder in ("pnpm-9.0", "yarn-v1", "yarn-berry-10", "bun"):
        assert _one(_load(folder), "is-odd", "3.0.1").has_install_script is None


def test_yarn_berry_link_and_portal_are_links() -> None:
    lockfile = _load("yarn-berry-10")
    for name in ("linked", "portaled"):
        assert _one(lockfile, name).source is SourceKind.LINK
    assert lockfile.root_name == "fx-root"


def test_pnpm_env_document_is_read_too() -> None:
    # pnpm 11+ puts config dependencies in a YAML document of their own, first
    lockfile = _load("pnpm-9.0-env")
    assert {p.key for p in lockfile.packages} == {
        "is-even@1.0.0",
        "is-number@6.0.0",
        "is-odd@3.0.1",
    }
    assert _one(lockfile, "is-even").line == 14


def test_bun_matches_bun_pm_ls() -> None:
    """``bun pm ls --all`` prints each installed folder as name@version (aliases by alias)."""
    listed = set()
    for line in (SOURCES / "bun" / "bun-pm-ls.txt").read_text().splitlines()[1:]:
        item = line.lstrip("│├└─ ")
        name, _, version = item.rpartition("@")
        if version[:1].isdigit():
            listed.add(f"{name}@{version}")
    lockfile = _load("bun")
    ours = {
        f"{o.installed_as}@{p.version}"
        for p in lockfile.packages
        if p.source is SourceKind.REGISTRY
        for o in p.occurrences
    }
    assert len(listed) > 80 and ours == listed
    assert _one(lockfile, "lodash").first.installed_as == "lodash-alias"
    assert {o.path for o in _one(lockfile, "debug", "2.6.9").occurrences} == {
        "body-parser/debug",
        "express/debug",
        "finalhandler/debug",
        "send/debug",
    }
    assert _one(lockfile, "@fx/b").requires == ("@fx/a@1.0.0", "ms@2.1.3")


def test_bun_binary_lockfile_is_refused_with_the_command_that_converts_it() -> None:
    with pytest.raises(UsageError, match="binary lockfile") as info:
        load_lockfile(SOURCES / "bun-binary" / "bun.lockb")
    assert "--save-text-lockfile" in str(info.value)
    # the same bytes under another name (stdin, git show) are recognised by their header
    data = (SOURCES / "bun-binary" / "bun.lockb").read_bytes()
    with pytest.raises(LockfileError, match="binary lockfile") as parsed:
        parse_lockfile_text(data, Path("-"))
    assert "--save-text-lockfile" in parsed.value.hint


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("pnpm-9.0", "pnpm-lock.yaml"),
        ("yarn-v1", "yarn.lock"),
        ("yarn-berry-10", "yarn.lock"),
        ("bun", "bun.lock"),
    ],
)
def test_sniffed_without_the_file_name(folder: str, name: str) -> None:
    data = (SOURCES / folder / name).read_bytes()
    assert parse_lockfile_text(data, Path("some-other-name")).format == _load(folder).format
