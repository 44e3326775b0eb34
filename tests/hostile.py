"""Helpers for the hostile-input tests (issue 13): a project locked against the loopback
registry, hostile tarballs built without holding them unpacked, and the CLI run in-process.

    reg = fake_registry
    lock = locked_project(reg, tmp_path, {"left-pad": "1.0.0"}, npmrc="fetch-timeout=1000")
    code, out, err = run_cli("check", str(lock), "--format", "json")
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import zlib
from collections.abc import Mapping
from pathlib import Path

from fakeregistry import FakeRegistry, sha1_hex, sri_sha512

from npmguard.cli import main

STRICT_CI = 'extends = ["npmguard:strict", "npmguard:ci"]\n'
WARN = '[settings]\non-unreachable = "warn"\n'


def locked_project(
    reg: FakeRegistry,
    folder: Path,
    packages: Mapping[str, str],
    *,
    npmrc: str = "",
    policy: str | None = None,
) -> Path:
    """``folder/package-lock.json`` locking ``packages`` (name -> version, each published
    on ``reg`` first if it is not), with an ``.npmrc`` naming ``reg`` (plus ``npmrc``) and
    ``policy`` as ``npmguard.toml``."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, version in packages.items():
        pkg = reg.packages.get(name)
        if pkg is None or version not in pkg.versions:
            reg.add_version(name, version, published="2019-01-01T00:00:00Z")
        entries[f"node_modules/{name}"] = {
            "version": version,
            "resolved": reg.tarball_url(name, version),
            "integrity": reg.packages[name].versions[version].integrity,
        }
    lock = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": dict(packages)},
            **entries,
        },
    }
    (folder / "package-lock.json").write_text(json.dumps(lock, indent=2))
    (folder / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    (folder / ".npmrc").write_text(f"registry={reg.url}\n{npmrc}\n")
    if policy is not None:
        (folder / "npmguard.toml").write_text(policy)
    return folder / "package-lock.json"


def run_cli(*args: str) -> tuple[int, str, str]:
    """``npmguard ARGS`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def findings(report: str) -> set[tuple[str, str, str]]:
    """(package, rule, level) of every finding in a JSON report."""
    return {(f["package"], f["rule"], f["level"]) for f in json.loads(report)["findings"]}


def bomb_tarball(manifest: Mapping[str, object], files: Mapping[str, bytes], zeros: int) -> bytes:
    """A gzip'd npm tarball of ``package.json``, ``files`` and one file of ``zeros`` zero
    bytes, compressed as a stream (a 201 MB file costs ~200 KB, never 201 MB of memory)."""
    gz = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out: list[bytes] = []

    def member(path: str, size: int) -> None:
        info = tarfile.TarInfo(f"package/{path}")
        info.size, info.mode, info.mtime = size, 0o644, 499162500
        out.append(gz.compress(info.tobuf(tarfile.GNU_FORMAT)))

    for path, data in {"package.json": json.dumps(manifest).encode(), **files}.items():
        member(path, len(data))
        out.append(gz.compress(data + b"\0" * (-len(data) % 512)))
    member("blob.bin", zeros)
    chunk = bytes(1 << 20)
    left = zeros
    while left > 0:
        out.append(gz.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    out.append(gz.compress(b"\0" * (-zeros % 512 + 1024)))
    out.append(gz.flush())
    return b"".join(out)


def serve_tarball(reg: FakeRegistry, name: str, version: str, data: bytes) -> None:
    """Publish ``data`` as the tarball of ``name@version`` (the packument's integrity too)."""
    entry = reg.packages[name].versions[version]
    entry.integrity, entry.shasum = sri_sha512(data), sha1_hex(data)
    reg.tarballs[f"{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"] = data
