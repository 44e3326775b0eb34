"""Compact, stdlib-only encodings of the stored facts: JSON, zlib-compressed.

The package picture is stored column-wise (one list per field, strings that repeat across
versions, such as publishers, dependency-name sets and deprecation messages, stored once and
referenced by index), so a package with thousands of versions stays a few KB and decodes with
a handful of list operations instead of one dict per version.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from npmguard.facts import ContentProblem, ManifestFacts, ScanHit, TarballFacts
from npmguard.reputation.extract import PackagePicture
from npmguard.scriptscan import scanner_key, tarball_scan
from npmguard.semver import version_key
from npmguard.versions import REF_BASE, VersionList

FORMAT = 6  # bump when an encoding changes; the store's schema version follows it
# 5: per-version maintainers (column "n", table "N")
# 6: manifests' bundle_dependencies, tarballs' bundled_scripts (rows re-read, not defaulted)


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
    doc = {
        "v": [i.version for i in picture.versions],
        "r": _ranks([i.version for i in picture.versions]),
        "t": _deltas([i.published for i in picture.versions]),
        "p": encode_refs([publishers.ref(i.publisher) for i in picture.versions]),
        "i": encode_refs([_flag(i.has_install_script) for i in picture.versions]),
        "a": encode_refs([_flag(i.has_provenance) for i in picture.versions]),
        "x": encode_refs([messages.ref(i.deprecated) for i in picture.versions]),
        "b": encode_refs(
            [bins.ref(i.bin_names, list(i.bin_names or ())) for i in picture.versions]
        ),
        "d": encode_refs(
            [deps.ref(i.dependency_names, list(i.dependency_names or ())) for i in versions]
        ),
        "n": encode_refs([people.ref(i.maintainers, list(i.maintainers or ())) for i in versions]),
        "P": publishers.values,
        "X": messages.values,
        "B": bins.values,
        "D": deps.values,
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
    return _pack(doc)


def _deltas(times: Sequence[datetime | None]) -> list[int | None]:
    """Publish times as milliseconds since the previous known one: small, repetitive numbers
    that compress well (versions come in publish order)."""
    out: list[int | None] = []
    previous = 0
    for when in times:
        if when is None:
            out.append(None)
            continue
        ms = round(when.timestamp() * 1000)
        out.append(ms - previous)
        previous = ms
    return out


def _ranks(versions: Sequence[str]) -> list[int]:
    """Each version's dense rank in npm semver order (-1: not a valid version), computed once
    when the picture is stored so that a warm run orders versions without parsing them."""
    keys = [version_key(v) for v in versions]
    order = sorted({k for k in keys if k is not None})
    rank = {k: i for i, k in enumerate(order)}
    return [-1 if k is None else rank[k] for k in keys]


def _absolute(deltas: list[int | None]) -> list[int | None]:
    if deltas.count(None) == len(deltas):
        return deltas  # no times known (a mirror's stripped documents)
    out: list[int | None] = []
    previous = 0
    for delta in deltas:
        if delta is None:
            out.append(None)
        else:
            previous += delta
            out.append(previous)
    return out


def decode_picture(name: str, blob: bytes) -> PackagePicture:
    """The stored picture; its versions are a lazy :class:`VersionList`."""
    doc = json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
    names: list[str] = doc["v"]
    size = len(names)
    refs = (doc["p"], doc["i"], doc["a"], doc["x"], doc["b"], doc["d"], doc["n"])
    if any(len(c) != size for c in (doc["t"], doc["r"], *refs)):
        raise ValueError(f"{name}: stored picture columns differ in length")
    times = _absolute(doc["t"])
    bins = [tuple(b) for b in doc["B"]]
    deps = [tuple(d) for d in doc["D"]]
    people = [tuple(m) for m in doc["N"]]
    versions = VersionList(names, times, doc["r"], refs, (doc["P"], doc["X"], bins, deps, people))
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
        removed=None if doc.get("rm") is None else tuple(doc["rm"]),  # older rows: unknown
    )


# -- manifests and tarballs: field by field, so a renamed field fails loudly in tests ---------

_TUPLE_FIELDS = {"keywords", "files", "bundle_dependencies"}


def _encode_fields(value: Any, fields: Sequence[str]) -> bytes:
    return _pack(_fields(value, fields))


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


def _decode_fields(blob: bytes, fields: frozenset[str]) -> dict[str, Any]:
    return _checked_fields(_unpack(blob), fields)


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
_MANIFEST_SET = frozenset(_MANIFEST_FIELDS)
_TARBALL_SET = frozenset(_TARBALL_FIELDS)


def encode_manifest(manifest: ManifestFacts) -> bytes:
    return _encode_fields(manifest, _MANIFEST_FIELDS)


def decode_manifest(blob: bytes) -> ManifestFacts:
    return ManifestFacts(**_decode_fields(blob, _MANIFEST_SET))


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
