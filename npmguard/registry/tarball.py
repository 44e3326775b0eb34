"""Reading an npm package tarball in memory: never extracted, bounded, and hostile-input safe.

Limits (``TarballLimits``, all configurable), checked while reading so a bomb is stopped early:

- compressed size: 50 MB;
- unpacked size (sum of regular files, and the decompressed stream itself): 200 MB;
- entries (files, directories, links together): 20,000;
- ``texts``: at most 64 KB of each chosen file (longer files are cut), 512 KB in all.

Entries that are links (symbolic or hard), devices, FIFOs, absolute paths, paths with ``..`` or
outside the package folder are skipped and listed in ``TarballReading.skipped``; nothing is ever
written to disk. Paths are reported as npm would install them: the first path component
(``package/``, or whatever single top folder the tarball uses) removed.

Integrity (SSRI, ``sha512-...``) is checked by :func:`verify_integrity` before any byte is read.
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from npmguard.errors import ExitCode, NpmguardError
from npmguard.facts import TarballFacts
from npmguard.integrity import Integrity
from npmguard.jsontext import loads
from npmguard.limits import (
    TARBALL_BYTES,
    TARBALL_ENTRIES,
    TEXT_BYTES,
    TEXTS_BYTES,
    UNPACKED_BYTES,
)
from npmguard.scriptscan import IMPLICIT_GYP_SCRIPT, INSTALL_SCRIPTS

MB = 1024 * 1024
CODE_EXTENSIONS = (
    ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx", ".node", ".wasm", ".coffee",
)  # fmt: skip
_CONFIG_NAME = re.compile(r"(^\.|\.config\.[cm]?[jt]s$|rc\.[cm]?js$|^(gulp|grunt)file\.js$)", re.I)
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepare")
# a bundled package's manifest: node_modules/a/package.json, node_modules/@s/a/node_modules/b/...
_BUNDLED_MANIFEST = re.compile(r"^((?:node_modules/(?:@[^/]+/)?[^/@][^/]*/)+)package\.json$")


class TarballError(NpmguardError):
    """A tarball that is too big, malformed, or not a gzip'd tar."""

    exit_code = ExitCode.USAGE


class IntegrityError(NpmguardError):
    """Downloaded bytes that do not match the expected integrity: never read them.
    ``served`` is the SSRI of the bytes that arrived (None when nothing could be checked)."""

    exit_code = ExitCode.BLOCKED
    served: str | None = None


@dataclass(frozen=True, slots=True)
class TarballLimits:
    max_compressed: int = TARBALL_BYTES
    max_unpacked: int = UNPACKED_BYTES
    max_entries: int = TARBALL_ENTRIES
    max_text: int = TEXT_BYTES
    max_texts_total: int = TEXTS_BYTES


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    path: str  # as written in the tarball
    reason: str  # "symlink -> x", "hardlink -> x", "device", "absolute path", "'..' in path", ...


@dataclass(frozen=True, slots=True)
class TarballReading:
    facts: TarballFacts
    skipped: tuple[SkippedEntry, ...] = ()
    manifest_error: str | None = None  # package.json missing or not valid JSON


# --- integrity ---------------------------------------------------------------------------------


def integrity_from_shasum(shasum: str) -> str:
    """``sha1-<base64>`` for a registry ``dist.shasum`` (40 hex digits)."""
    return str(Integrity.from_hex("sha1", shasum))


def verify_integrity(
    data: bytes | bytearray, integrity: str | None, *, what: str = "tarball"
) -> str:
    """Check ``data`` against an SSRI string using its strongest algorithm (as ssri picks it);
    return the algorithm used. Raises IntegrityError on a mismatch or when nothing can be
    checked."""
    parsed = Integrity.parse(integrity)
    try:
        algo, ok = parsed.verify(data)
    except ValueError:
        raise IntegrityError(
            f"{what}: no usable integrity to check against ({integrity or 'none'})",
            hint="the lockfile or registry must give a sha512/sha1 integrity",
        ) from None
    if not ok:
        actual = Integrity.of(data, algo)
        error = IntegrityError(
            f"{what}: integrity mismatch: expected {algo}-{sorted(parsed.digests(algo))[0]}, "
            f"got {actual}",
            hint="the bytes served are not the ones the lockfile recorded; do not "
            "install this package until you know why",
        )
        error.served = str(actual)
        raise error
    return algo


# --- reading -----------------------------------------------------------------------------------


class _BoundedGunzip(io.RawIOBase):
    """A read-only stream of the gunzipped bytes that stops past ``cap`` (bomb guard)."""

    def __init__(self, data: bytes | bytearray, cap: int, what: str) -> None:
        self._src = memoryview(data)
        self._pos = 0
        self._cap = cap
        self._what = what
        self._out = 0
        self._inflate: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = max(len(buffer), 64 * 1024)
        while not self._pending:
            if self._inflate.unconsumed_tail:
                chunk = self._inflate.unconsumed_tail
            elif self._pos < len(self._src):
                chunk = bytes(self._src[self._pos : self._pos + 64 * 1024])
                self._pos += len(chunk)
            else:
                break
            try:
                self._pending = self._inflate.decompress(chunk, want)
            except zlib.error as e:
                raise TarballError(f"{self._what}: not a gzip'd tarball ({e})") from e
            if self._inflate.eof:  # another gzip member may follow; trailing zeros may not
                self._pos -= len(self._inflate.unused_data)
                if not bytes(self._src[self._pos :]).strip(b"\0"):
                    self._pos = len(self._src)
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._out += n
        if self._out > self._cap:
            raise TarballError(
                f"{self._what}: unpacks to more than {self._cap // MB} MB",
                hint="a tarball this large is refused (possible decompression bomb)",
            )
        return n


def _package_path(name: str) -> tuple[str | None, str | None]:
    """(path inside the package, None) or (None, why it is refused)."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return None, "absolute path"
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "'..' in path"
    if len(parts) < 2:
        return None, "outside the package folder"
    return "/".join(parts[1:]), None


def _iter_members(data: bytes | bytearray, limits: TarballLimits, what: str) -> Iterator[Any]:
    cap = limits.max_unpacked + 1024 * (limits.max_entries + 16)
    try:
        with tarfile.open(fileobj=_BoundedGunzip(data, cap, what), mode="r|") as archive:
            for count, member in enumerate(archive, 1):
                if count > limits.max_entries:
                    raise TarballError(
                        f"{what}: more than {limits.max_entries:,} entries in the tarball"
                    )
                yield archive, member
    except tarfile.TarError as e:
        raise TarballError(f"{what}: not a readable tarball ({e})") from e
    except EOFError as e:
        raise TarballError(f"{what}: truncated tarball") from e
    except (ValueError, OverflowError, UnicodeError, OSError) as e:  # headers tarfile chokes on
        raise TarballError(f"{what}: not a readable tarball ({type(e).__name__}: {e})") from e


def _script_files(scripts: Mapping[str, str], files: set[str]) -> list[str]:
    """Files in the package that scripts name (``node install.js``, ``sh ./x.sh``, ``node x``),
    install-time scripts first."""
    order = sorted(scripts, key=lambda k: (k not in _INSTALL_SCRIPTS, k))
    found: list[str] = []
    for key in order:
        for token in re.split(r"[\s;&|()<>=]+", scripts[key]):
            token = token.strip("'\"`")
            cand = posixpath.normpath(token) if token else ""
            for path in (cand, cand + ".js"):
                if path in files and path not in found:
                    found.append(path)
                    break
    return found


def _has_code(files: list[str], manifest: Mapping[str, Any]) -> bool:
    present = set(files)
    for path in files:
        base = posixpath.basename(path)
        if path.lower().endswith(CODE_EXTENSIONS) and not _CONFIG_NAME.search(base):
            return True
    main = manifest.get("main")
    if isinstance(main, str) and main.strip():
        norm = posixpath.normpath(main.strip())
        if any(c in present for c in (norm, norm + ".js", norm + ".json", norm + "/index.js")):
            return True
    bins = manifest.get("bin")
    targets = (
        [bins] if isinstance(bins, str) else list(bins.values()) if isinstance(bins, dict) else []
    )
    return any(isinstance(t, str) and posixpath.normpath(t) in present for t in targets)


def _bundled(where: str, raw: bytes, files: Mapping[str, int]) -> dict[str, str]:
    """The install scripts npm runs for the package bundled at ``where`` (its package.json
    ``raw``): preinstall/install/postinstall, and ``node-gyp rebuild`` when a ``*.gyp`` file
    sits beside its package.json, no install or preinstall script is set and ``gypfile`` is
    not false (npm's normalize)."""
    try:
        loaded = loads(raw)
    except ValueError:
        return {}  # npm cannot read it either: the bundled package fails to load
    manifest = loaded if isinstance(loaded, dict) else {}
    raw_scripts = manifest.get("scripts")
    given = raw_scripts if isinstance(raw_scripts, dict) else {}
    scripts = {k: v for k in INSTALL_SCRIPTS if isinstance(v := given.get(k), str) and v}
    gyp = any(
        p.startswith(where + "/") and "/" not in p[len(where) + 1 :] and p.endswith(".gyp")
        for p in files
    )
    if (
        gyp
        and manifest.get("gypfile") is not False
        and not scripts.keys() & {"install", "preinstall"}
    ):
        scripts["install"] = IMPLICIT_GYP_SCRIPT
    return scripts


def inspect_tarball(
    data: bytes | bytearray, *, limits: TarballLimits | None = None, name: str = "tarball"
) -> TarballReading:
    """Read a package tarball's facts; ``name`` (e.g. ``left-pad@1.3.0``) starts every error."""
    limits = limits or TarballLimits()
    if len(data) > limits.max_compressed:
        raise TarballError(
            f"{name}: tarball is {len(data) / MB:.1f} MB, over the "
            f"{limits.max_compressed // MB} MB limit"
        )
    files: dict[str, int] = {}
    skipped: list[SkippedEntry] = []
    captured: dict[str, bytes] = {}
    bundled_raw: dict[str, bytes] = {}  # bundled package folder -> its package.json
    manifest_raw: bytes | None = None
    unpacked = 0
    for archive, member in _iter_members(data, limits, name):
        path, why = _package_path(member.name)
        if member.issym() or member.islnk():
            kind = "symlink" if member.issym() else "hardlink"
            skipped.append(SkippedEntry(member.name, f"{kind} -> {member.linkname}"))
            continue
        if member.isdir():
            continue
        if not member.isfile():
            skipped.append(SkippedEntry(member.name, "device or special file"))
            continue
        if path is None:
            skipped.append(SkippedEntry(member.name, why or "refused"))
            continue
        unpacked += member.size
        if unpacked > limits.max_unpacked:
            raise TarballError(
                f"{name}: files add up to more than {limits.max_unpacked // MB} MB unpacked"
            )
        files[path] = member.size
        bundled = _BUNDLED_MANIFEST.match(path)
        wanted = path == "package.json" or path.endswith(".sh") or "/" not in path
        if bundled:
            handle = archive.extractfile(member)
            if handle is not None:
                bundled_raw[bundled.group(1).rstrip("/")] = handle.read(4 * MB)
            continue
        if wanted:
            handle = archive.extractfile(member)
            if handle is not None:
                if path == "package.json":
                    manifest_raw = handle.read(4 * MB)
                    captured[path] = manifest_raw[: limits.max_text]
                else:
                    captured[path] = handle.read(limits.max_text)
    manifest: dict[str, Any] = {}
    manifest_error: str | None = None
    if manifest_raw is None:
        manifest_error = "no package.json in the tarball"
    else:
        try:
            loaded = loads(manifest_raw)
            manifest = loaded if isinstance(loaded, dict) else {}
        except ValueError as e:
            manifest_error = f"package.json is not valid JSON ({e})"
    scripts = (
        {str(k): str(v) for k, v in (manifest.get("scripts") or {}).items()}
        if isinstance(manifest.get("scripts"), dict)
        else {}
    )
    deps_raw = manifest.get("dependencies")
    deps = {str(k): str(v) for k, v in deps_raw.items()} if isinstance(deps_raw, dict) else {}
    referenced = _script_files(scripts, set(files))
    bundled_scripts = {
        where: found for where, raw in bundled_raw.items() if (found := _bundled(where, raw, files))
    }
    for where, found in sorted(bundled_scripts.items()):  # the files bundled scripts run
        inside = {p[len(where) + 1 :] for p in files if p.startswith(where + "/")}
        referenced += [f"{where}/{p}" for p in _script_files(found, inside)]
    missing = [p for p in referenced if p not in captured]
    if missing:  # a second pass for script targets deeper in the package
        for archive, member in _iter_members(data, limits, name):
            path, _ = _package_path(member.name)
            if member.isfile() and path in missing:
                handle = archive.extractfile(member)
                if handle is not None:
                    captured[path] = handle.read(limits.max_text)
    order = ["package.json", *referenced]
    order += sorted(p for p in captured if p.endswith(".sh"))
    order += sorted(p for p in captured if "/" not in p and p.endswith((".js", ".mjs", ".cjs")))
    texts: dict[str, str] = {}
    total = 0
    for path in dict.fromkeys(order):
        raw = captured.get(path)
        if raw is None or total + len(raw) > limits.max_texts_total:
            continue
        total += len(raw)
        texts[path] = raw.decode("utf-8", errors="replace")
    listed = sorted(files)
    root_names = {p.lower() for p in listed if "/" not in p}
    facts = TarballFacts(
        files=tuple(listed),
        unpacked_size=unpacked,
        has_tea_yaml=bool(root_names & {"tea.yaml", "tea.yml"}),
        has_code=_has_code(listed, manifest),
        manifest_scripts=scripts,
        manifest_dependencies=deps,
        texts=texts,
        bundled_scripts=bundled_scripts,
        integrity_checked=False,
    )
    return TarballReading(facts, tuple(skipped), manifest_error)


def read_tarball(
    data: bytes | bytearray,
    *,
    limits: TarballLimits | None = None,
    name: str = "tarball",
    integrity: str | None = None,
) -> TarballFacts:
    """The facts of a tarball. With ``integrity`` the bytes are verified first (and the facts
    say so); without, ``integrity_checked`` is False."""
    if integrity is not None:
        verify_integrity(data, integrity, what=name)
    try:
        facts = inspect_tarball(data, limits=limits, name=name).facts
    except (tarfile.TarError, EOFError, ValueError, OverflowError, UnicodeError, OSError) as e:
        # whatever else a hostile archive makes tarfile raise: unreadable, never a crash
        raise TarballError(f"{name}: not a readable tarball ({type(e).__name__}: {e})") from e
    if integrity is None:
        return facts
    from dataclasses import replace

    return replace(facts, integrity_checked=True)
