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

from npmguard.facts import ManifestFacts, TarballFacts, VersionInfo
from npmguard.reputation.extract import PackagePicture

FORMAT = 2  # bump when an encoding changes; the store's schema version follows it


def _pack(doc: Any) -> bytes:
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode("utf-8"), 6)


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


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def encode_picture(picture: PackagePicture) -> bytes:
    publishers, messages, bins, deps = _Table(), _Table(), _Table(), _Table()
    doc = {
        "v": [i.version for i in picture.versions],
        "t": _deltas([i.published for i in picture.versions]),
        "p": [publishers.ref(i.publisher) for i in picture.versions],
        "i": [_flag(i.has_install_script) for i in picture.versions],
        "a": [_flag(i.has_provenance) for i in picture.versions],
        "x": [messages.ref(i.deprecated) for i in picture.versions],
        "b": [bins.ref(i.bin_names, list(i.bin_names or ())) for i in picture.versions],
        "d": [
            deps.ref(i.dependency_names, list(i.dependency_names or ())) for i in picture.versions
        ],
        "P": publishers.values,
        "X": messages.values,
        "B": bins.values,
        "D": deps.values,
        "tags": None if picture.dist_tags is None else dict(picture.dist_tags),
        "c": _ts(picture.created),
        "m": _ts(picture.modified),
        "u": _ts(picture.unpublished),
        "mt": None if picture.maintainers is None else list(picture.maintainers),
        "pd": picture.package_deprecated,
        "tt": picture.times_trusted,
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


def _undeltas(deltas: Sequence[int | None]) -> list[datetime | None]:
    out: list[datetime | None] = []
    previous = 0
    fromts = datetime.fromtimestamp
    utc = timezone.utc
    for delta in deltas:
        if delta is None:
            out.append(None)
            continue
        previous += delta
        out.append(fromts(previous / 1000, utc))
    return out


def _refs(table: Sequence[Any], refs: Sequence[int]) -> list[Any]:
    return [None if r < 0 else table[r] for r in refs]


def decode_picture(name: str, blob: bytes) -> PackagePicture:
    doc = _unpack(blob)
    bins = [tuple(b) for b in doc["B"]]
    deps = [tuple(d) for d in doc["D"]]
    infos = tuple(
        VersionInfo(
            version,
            t,
            publisher,
            None if i is None else bool(i),
            None if a is None else bool(a),
            deprecated,
            bin_names,
            dependency_names,
        )
        for version, t, publisher, i, a, deprecated, bin_names, dependency_names in zip(
            doc["v"],
            _undeltas(doc["t"]),
            _refs(doc["P"], doc["p"]),
            doc["i"],
            doc["a"],
            _refs(doc["X"], doc["x"]),
            _refs(bins, doc["b"]),
            _refs(deps, doc["d"]),
            strict=True,
        )
    )
    return PackagePicture(
        name=name,
        versions=infos,
        dist_tags=doc["tags"],
        created=_dt(doc["c"]),
        modified=_dt(doc["m"]),
        unpublished=_dt(doc["u"]),
        maintainers=None if doc["mt"] is None else tuple(doc["mt"]),
        package_deprecated=doc["pd"],
        times_trusted=bool(doc["tt"]),
    )


# -- manifests and tarballs: field by field, so a renamed field fails loudly in tests ---------

_TUPLE_FIELDS = {"keywords", "files"}


def _encode_fields(value: Any, fields: Sequence[str]) -> bytes:
    doc: dict[str, Any] = {}
    for name in fields:
        item = getattr(value, name)
        if isinstance(item, Mapping):
            item = dict(item)
        elif isinstance(item, tuple):
            item = list(item)
        doc[name] = item
    return _pack(doc)


def _decode_fields(blob: bytes, fields: Sequence[str]) -> dict[str, Any]:
    # fields a newer or older npmguard wrote and this one lacks are dropped
    doc: dict[str, Any] = {k: v for k, v in _unpack(blob).items() if k in fields}
    for name in _TUPLE_FIELDS & doc.keys():
        doc[name] = tuple(doc[name])
    return doc


_MANIFEST_FIELDS = tuple(ManifestFacts.__dataclass_fields__)
_TARBALL_FIELDS = tuple(TarballFacts.__dataclass_fields__)


def encode_manifest(manifest: ManifestFacts) -> bytes:
    return _encode_fields(manifest, _MANIFEST_FIELDS)


def decode_manifest(blob: bytes) -> ManifestFacts:
    return ManifestFacts(**_decode_fields(blob, _MANIFEST_FIELDS))


def encode_tarball(tarball: TarballFacts) -> bytes:
    return _encode_fields(tarball, _TARBALL_FIELDS)


def decode_tarball(blob: bytes) -> TarballFacts:
    return TarballFacts(**_decode_fields(blob, _TARBALL_FIELDS))
