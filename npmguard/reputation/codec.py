"""Compact, stdlib-only encodings of the stored facts: JSON and binary sections, checksummed.

The package picture is stored column-wise (one list per field, strings that repeat across
versions, such as publishers, dependency-name sets and deprecation messages, stored once and
referenced by index; version names joined into one text; ranks and times as int arrays), so
a package with thousands of versions takes ~20 bytes a version and decodes with a handful of
C-level splits and array reads instead of one dict per version.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime, timezone
from itertools import accumulate
from typing import Any, overload

from npmguard.facts import ContentProblem, ManifestFacts, ScanHit, TarballFacts
from npmguard.reputation.picture import PackagePicture
from npmguard.scriptscan import scanner_key, tarball_scan
from npmguard.semver import version_key
from npmguard.versions import REF_BASE, VersionList

FORMAT = 7  # bump when an encoding changes; the store's schema version follows it
# 5: per-version maintainers (column "n", table "N")
# 6: manifests' bundle_dependencies, tarballs' bundled_scripts (rows re-read, not defaulted)
# 7: pictures as checksummed sections, not compressed: version names and dependency sets as
#    joined text, int64 time deltas, int32 ranks (little-endian); manifests as checksummed
#    JSON arrays in field order, led by a signature of the field names


def _pack(doc: Any) -> bytes:
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


def _ts(when: datetime | None) -> float | None:
    return None if when is None else round(when.timestamp(), 3)


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


class _Table:
    """Values stored once, referenced by index (-1: None)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Hashable, int] = {}

    def ref(self, value: Hashable | None, stored: Any = None) -> int:
        if value is None:
            return -1
        if value not in self._index:
            self._index[value] = len(self.values)
            self.values.append(value if stored is None else stored)
        return self._index[value]


def _flag(value: bool | None) -> int:
    return -1 if value is None else int(value)


def encode_refs(refs: Sequence[int]) -> str:
    """Small integers >= -1 as one character each (a JSON string parses far faster than a
    list of numbers); :func:`npmguard.versions.ref_at` reads one back."""
    return "".join(map(chr, (r + REF_BASE + (r + REF_BASE >= 0xD800) * 0x800 for r in refs)))


def encode_picture(picture: PackagePicture) -> bytes:
    publishers, messages, bins, deps, people = _Table(), _Table(), _Table(), _Table(), _Table()
    versions = picture.versions
    names = [i.version for i in versions]
    header: dict[str, Any] = {
        "p": encode_refs([publishers.ref(i.publisher) for i in versions]),
        "i": encode_refs([_flag(i.has_install_script) for i in versions]),
        "a": encode_refs([_flag(i.has_provenance) for i in versions]),
        "x": encode_refs([messages.ref(i.deprecated) for i in versions]),
        "b": encode_refs([bins.ref(i.bin_names, list(i.bin_names or ())) for i in versions]),
        "d": encode_refs(
            [deps.ref(i.dependency_names, list(i.dependency_names or ())) for i in versions]
        ),
        "n": encode_refs([people.ref(i.maintainers, list(i.maintainers or ())) for i in versions]),
        "P": publishers.values,
        "X": messages.values,
        "B": bins.values,
        "N": people.values,
        "tags": None if picture.dist_tags is None else dict(picture.dist_tags),
        "c": _ts(picture.created),
        "m": _ts(picture.modified),
        "u": _ts(picture.unpublished),
        "mt": None if picture.maintainers is None else list(picture.maintainers),
        "pd": picture.package_deprecated,
        "tt": picture.times_trusted,
        "rm": None if picture.removed is None else list(picture.removed),
    }
    # version strings and dependency-name sets, the bulk of a picture, as joined text (split
    # in C on a warm run; a dependency set only when a rule asks for it); JSON when a string
    # holds a separator (any string can come from a registry)
    joined_names = _join(names, _NAME_SEP)
    if joined_names is None:
        header["v"] = names
    joined_deps = _join([_join(d, _DEP_SEP) for d in deps.values], _SET_SEP, empty=True)
    if joined_deps is None:
        header["D"] = deps.values
    else:
        header["Dn"] = len(deps.values)
    sections = (
        json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        ),
        (joined_names or "").encode("utf-8", "surrogatepass"),
        # no section when no time is known (a mirror's stripped documents)
        _int_array("q", _deltas(versions)) if any(i.published for i in versions) else b"",
        _int_array("i", _ranks(names)),
        (joined_deps or "").encode("utf-8", "surrogatepass"),
    )
    body = b"".join(sections)
    return _PICTURE.pack(_PICTURE_MAGIC, zlib.crc32(body), *(len(s) for s in sections)) + body


# Not compressed: inflating every picture was a third of a warm run's decoding, and the cache
# stays small next to npm's own (a 1,040-package tree's histories take 2.8 MB, 0.7 compressed).
# The CRC-32 keeps what zlib's check did: a damaged row is an error, never another history.
_PICTURE_MAGIC = b"NGp7"
# magic; CRC-32 of the sections; byte lengths of header, names, times, ranks, deps
_PICTURE = struct.Struct("<4sI5I")
_NO_TIME = -(2**63)  # an unknown publish time in the times column
if array("i").itemsize != 4:  # pragma: no cover - every platform CPython supports today
    raise ImportError("npmguard's facts store needs 4-byte C ints")
_NAME_SEP, _SET_SEP, _DEP_SEP = "\x00", "\x1e", "\x1f"


def _join(values: Sequence[str | None], sep: str, *, empty: bool = False) -> str | None:
    """``values`` joined by ``sep``; None when one of them could not be split back out (it
    holds ``sep``, or is empty where ``empty`` is not allowed: "" reads back as no value)."""
    if any(v is None or sep in v or (not v and not empty) for v in values):
        return None
    return sep.join(v for v in values if v is not None)


def _int_array(code: str, values: Sequence[int]) -> bytes:
    out = array(code, values)
    if sys.byteorder == "big":
        out.byteswap()  # stored little-endian (a team cache is shared between machines)
    return out.tobytes()


def _ints(code: str, blob: bytes | memoryview) -> array[int]:
    out = array(code)
    out.frombytes(blob)  # ValueError when the length is not a multiple of the item size
    if sys.byteorder == "big":
        out.byteswap()
    return out


def _deltas(versions: Sequence[Any]) -> list[int]:
    """Publish times as milliseconds since the previous known one (``_NO_TIME``: unknown),
    added up again on reading with :func:`itertools.accumulate` (versions come in publish
    order)."""
    out: list[int] = []
    previous = 0
    for info in versions:
        if info.published is None:
            out.append(_NO_TIME)
            continue
        ms = round(info.published.timestamp() * 1000)
        out.append(ms - previous)
        previous = ms
    return out


def _absolute(deltas: list[int]) -> list[int | None]:
    unknown = deltas.count(_NO_TIME)
    if not unknown:
        return list(accumulate(deltas))
    if unknown == len(deltas):
        return [None] * unknown  # no time known (a mirror's stripped documents)
    out: list[int | None] = []
    previous = 0
    for delta in deltas:
        if delta == _NO_TIME:
            out.append(None)
        else:
            previous += delta
            out.append(previous)
    return out


def _ranks(versions: Sequence[str]) -> list[int]:
    """Each version's dense rank in npm semver order (-1: not a valid version), computed once
    when the picture is stored so that a warm run orders versions without parsing them."""
    keys = [version_key(v) for v in versions]
    order = sorted({k for k in keys if k is not None})
    rank = {k: i for i, k in enumerate(order)}
    return [-1 if k is None else rank[k] for k in keys]


def decode_picture(name: str, blob: bytes) -> PackagePicture:
    """The stored picture; its versions are a lazy :class:`VersionList`. Raises ValueError
    on a damaged blob."""
    try:
        magic, crc, *sizes = _PICTURE.unpack_from(blob)
    except struct.error as e:
        raise ValueError(f"{name}: stored picture too short") from e
    if magic != _PICTURE_MAGIC or _PICTURE.size + sum(sizes) != len(blob):
        raise ValueError(f"{name}: stored picture is not in this format")
    view = memoryview(blob)  # sections read in place, not copied out first
    if zlib.crc32(view[_PICTURE.size :]) != crc:
        raise ValueError(f"{name}: stored picture fails its checksum")
    parts = []
    at = _PICTURE.size
    for size in sizes:
        parts.append(view[at : at + size])
        at += size
    doc = json.loads(str(parts[0], "utf-8", "surrogatepass"))
    names: list[str] = (
        doc["v"] if "v" in doc else _split(str(parts[1], "utf-8", "surrogatepass"), _NAME_SEP)
    )
    size = len(names)
    # no times section: no time known
    times: list[int | None] = (
        _absolute(_ints("q", parts[2]).tolist()) if parts[2] else [None] * len(names)
    )
    ranks = _ints("i", parts[3])  # an array: no int object per version until one is read
    refs = (doc["p"], doc["i"], doc["a"], doc["x"], doc["b"], doc["d"], doc["n"])
    if set(map(len, (times, ranks, *refs))) != {size}:
        raise ValueError(f"{name}: stored picture columns differ in length")
    if "D" in doc:
        deps: Sequence[tuple[str, ...]] = [tuple(d) for d in doc["D"]]
    else:
        deps = DependencySets(str(parts[4], "utf-8", "surrogatepass"), doc["Dn"])
    bins = list(map(tuple, doc["B"]))
    people = list(map(tuple, doc["N"]))
    versions = VersionList(names, times, ranks, refs, (doc["P"], doc["X"], bins, deps, people))
    return PackagePicture(
        name=name,
        versions=versions,
        dist_tags=doc["tags"],
        created=_dt(doc["c"]),
        modified=_dt(doc["m"]),
        unpublished=_dt(doc["u"]),
        maintainers=None if doc["mt"] is None else tuple(doc["mt"]),
        package_deprecated=doc["pd"],
        times_trusted=bool(doc["tt"]),
        removed=None if doc["rm"] is None else tuple(doc["rm"]),
    )


def _split(text: str, sep: str) -> list[str]:
    return text.split(sep) if text else []


class DependencySets(Sequence[tuple[str, ...]]):
    """A picture's table of dependency-name sets, kept as the stored text: a set is split out
    the first time a version that has it is asked for (most never are)."""

    __slots__ = ("_sets", "_split")

    def __init__(self, text: str, count: int) -> None:
        self._sets = text.split(_SET_SEP) if count else []
        if len(self._sets) != count:
            raise ValueError("stored dependency sets differ from their count")
        self._split: dict[int, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    @overload
    def __getitem__(self, index: int) -> tuple[str, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, ...] | Sequence[tuple[str, ...]]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._sets))[index]]
        got = self._split.get(index)
        if got is None:
            text = self._sets[index]
            got = self._split[index] = tuple(text.split(_DEP_SEP)) if text else ()
        return got


# -- manifests (positional, signed by their field names) and tarballs (field by field) -------

_TUPLE_FIELDS = {"keywords", "files", "bundle_dependencies"}


def _fields(value: Any, fields: Sequence[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name in fields:
        item = getattr(value, name)
        if isinstance(item, Mapping):
            item = dict(item)
        elif isinstance(item, tuple):
            item = list(item)
        doc[name] = item
    return doc


def _checked_fields(doc: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    if not doc.keys() <= fields:  # fields a newer or older npmguard wrote, this one lacks
        doc = {k: v for k, v in doc.items() if k in fields}
    for name in _TUPLE_FIELDS & doc.keys():
        if isinstance(doc[name], list):  # bundle_dependencies may be True
            doc[name] = tuple(doc[name])
    return doc


_MANIFEST_FIELDS = tuple(ManifestFacts.__dataclass_fields__)
# the scan is stored under its own key, with the scanner it came from
_TARBALL_FIELDS = tuple(f for f in TarballFacts.__dataclass_fields__ if f != "install_scan")
_TARBALL_SET = frozenset(_TARBALL_FIELDS)


def encode_manifest(manifest: ManifestFacts) -> bytes:
    """A JSON array (a signature of the field names, then the fields in :class:`ManifestFacts`
    order; format 7) after its CRC-32 (4 bytes, little-endian), not compressed: a warm run
    reads one per locked version, and inflating them, and their field names, cost half of
    their decoding. The checksum keeps what zlib's did: a damaged row is an error, never
    other facts."""
    doc = _fields(manifest, _MANIFEST_FIELDS)
    values = [_MANIFEST_SIGNATURE, *(doc[f] for f in _MANIFEST_FIELDS)]
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    data = text.encode("utf-8", "surrogatepass")
    return _CRC.pack(zlib.crc32(data)) + data


def decode_manifest(blob: bytes) -> ManifestFacts:
    """Raises ValueError on a damaged row."""
    text = memoryview(blob)[_CRC.size :]
    if len(blob) < _CRC.size or _CRC.unpack_from(blob)[0] != zlib.crc32(text):
        raise ValueError("stored manifest fails its checksum")
    values = json.loads(str(text, "utf-8", "surrogatepass"))
    if not isinstance(values, list) or not values or values[0] != _MANIFEST_SIGNATURE:
        raise ValueError("stored manifest has other fields than this npmguard's")
    del values[0]
    if len(values) != len(_MANIFEST_FIELDS):
        raise ValueError("stored manifest has other fields than this npmguard's")
    for at in _MANIFEST_TUPLES:
        if isinstance(values[at], list):  # bundle_dependencies may be True
            values[at] = tuple(values[at])
    return ManifestFacts(*values)


_MANIFEST_TUPLES = tuple(i for i, f in enumerate(_MANIFEST_FIELDS) if f in _TUPLE_FIELDS)
# the field names and their order, stored first in every manifest row: a row written by an
# npmguard whose ManifestFacts differ is an error (fetched again), never fields read in the
# wrong places, even where FORMAT was not bumped (a team cache shared by two builds)
_MANIFEST_SIGNATURE = zlib.crc32(",".join(_MANIFEST_FIELDS).encode())
_CRC = struct.Struct("<I")


def encode_tarball(tarball: TarballFacts) -> bytes:
    """The tarball's facts, with what the install-script scanner finds in them and which
    scanner that was (:func:`npmguard.scriptscan.scanner_key`)."""
    doc = _fields(tarball, _TARBALL_FIELDS)
    hits = tarball_scan(tarball)
    doc["scan"] = {"k": scanner_key(), "h": [[h.pattern, h.what, h.excerpt, h.where] for h in hits]}
    return _pack(doc)


def decode_tarball(blob: bytes) -> TarballFacts:
    """The stored facts; ``install_scan`` only when this scanner stored it."""
    return _tarball(_unpack(blob))


def _tarball(doc: Any) -> TarballFacts:
    scan = doc.pop("scan", None) if isinstance(doc, dict) else None
    fields = _checked_fields(doc, _TARBALL_SET)
    if isinstance(scan, dict) and scan.get("k") == scanner_key():
        fields["install_scan"] = tuple(ScanHit(*(str(p) for p in hit)) for hit in scan["h"])
    return TarballFacts(**fields)


# -- a tarball whose content could not be read, kept under its integrity like its facts ------


def encode_problem(problem: ContentProblem) -> bytes:
    return _pack({"problem": {"kind": problem.kind, "reason": problem.reason}})


def decode_tarball_row(blob: bytes) -> TarballFacts | ContentProblem:
    """A ``tarball`` row: the facts read, or why the content could not be read."""
    doc = _unpack(blob)
    if isinstance(doc, dict) and isinstance(doc.get("problem"), dict):
        return ContentProblem(str(doc["problem"]["kind"]), str(doc["problem"]["reason"]))
    return _tarball(doc)
