"""The stored package picture (codec format 7): every value a registry can send reads back as
it was written, and a damaged row is an error, never a different picture."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from npmguard.facts import ManifestFacts, VersionInfo
from npmguard.reputation import codec
from npmguard.reputation.picture import PackagePicture

START = datetime(2021, 3, 1, tzinfo=timezone.utc)


def _info(version: str, day: int | None = 0, deps: tuple[str, ...] | None = ()) -> VersionInfo:
    when = None if day is None else START + timedelta(days=day, milliseconds=7)
    return VersionInfo(version, when, "alice", False, None, None, None, deps, None)


def _picture(*infos: VersionInfo) -> PackagePicture:
    return PackagePicture(
        "p", infos, {"latest": infos[-1].version}, START, None, None, None, None, True
    )


def _round_trip(picture: PackagePicture) -> PackagePicture:
    return codec.decode_picture("p", codec.encode_picture(picture))


@pytest.mark.parametrize(
    "infos",
    [
        # the usual: joined names and dependency sets, some sets empty
        (_info("1.0.0", 0, ()), _info("1.1.0", 3, ("a", "b")), _info("2.0.0", 9, ("a",))),
        # strings holding a separator, or empty, go as JSON (a registry can send any string)
        (_info("1.0.0\x00evil"), _info("2.0.0", 1, ("x",))),
        (_info(""), _info("1.0.0", 1)),
        (_info("1.0.0", 0, ("a\x1fb",)), _info("1.0.1", 1, ("c\x1ed",))),
        (_info("1.0.0", 0, ("",)), _info("1.0.1", 1, ())),
        # unknown times anywhere; unknown dependency sets
        (_info("1.0.0", None), _info("1.0.1", 2, None), _info("1.0.2", None)),
        (_info("1.0.0", None, None),),
        # one version whose only dependency set is empty
        (_info("1.0.0", 0, ()),),
    ],
)
def test_every_picture_reads_back_as_written(infos: tuple[VersionInfo, ...]) -> None:
    picture = _picture(*infos)
    got = _round_trip(picture)
    assert got == picture
    assert [got.versions[i] for i in range(len(infos))] == list(infos)


def test_a_picture_with_no_versions_reads_back() -> None:
    picture = PackagePicture("p", (), None, None, None, None, None, None, False)
    assert _round_trip(picture) == picture


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:10],  # cut inside the section table
        lambda data: data[:-3],  # cut inside the last section
        lambda data: b"NGp6" + data[4:],  # another format's magic
        lambda data: data + b"\x00",  # trailing bytes
        # a times section one byte short of whole int64s (lengths and checksum consistent)
        lambda data: _resize_times(data, -1),
        # one bit flipped in a version name: only the checksum tells
        lambda data: data[:-40] + bytes([data[-40] ^ 1]) + data[-39:],
    ],
)
def test_a_damaged_picture_is_an_error(damage: object) -> None:
    blob = codec.encode_picture(
        _picture(_info("1.0.0", 0), _info("1.0.1", 1, ("a",)), _info("1.0.2", 2, ("b",)))
    )
    with pytest.raises(ValueError):
        codec.decode_picture("p", damage(blob))  # type: ignore[operator]


def _resize_times(data: bytes, by: int) -> bytes:
    head = struct.Struct("<4sI5I")
    magic, _, *sizes = head.unpack_from(data)
    body = data[head.size :]
    at = sizes[0] + sizes[1]
    times = body[at : at + sizes[2]]
    new_times = times[:by] if by < 0 else times + b"\x00" * by
    sizes[2] = len(new_times)
    body = body[:at] + new_times + body[at + len(times) :]
    return head.pack(magic, zlib.crc32(body), *sizes) + body


def test_a_damaged_manifest_is_an_error() -> None:
    """Manifests are stored uncompressed (format 7); their checksum still tells a damaged row
    from other facts: one flipped bit in a script name would hide an install script."""
    manifest = ManifestFacts(scripts={"postinstall": "node x.js"}, dist_integrity="sha512-a")
    blob = codec.encode_manifest(manifest)
    assert codec.decode_manifest(blob) == manifest
    at = blob.index(b"postinstall") + len("postinstal")
    flipped = blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :]  # "postinstalm"
    with pytest.raises(ValueError, match="checksum"):
        codec.decode_manifest(flipped)
    with pytest.raises(ValueError):
        codec.decode_manifest(blob[:3])


def test_a_manifest_stored_with_other_fields_is_an_error() -> None:
    """Manifests are positional (format 7): a row written by an npmguard whose ManifestFacts
    has other fields, or the same number in another order, is refused by the signature it
    carries, not read with values in the wrong fields (review: a team cache shared by two
    builds of the same format)."""
    blob = codec.encode_manifest(ManifestFacts(description="d", main="index.js"))
    values = json.loads(blob[4:])
    values[0] += 1  # another field list's signature
    forged = json.dumps(values).encode()
    with pytest.raises(ValueError, match="other fields"):
        codec.decode_manifest(struct.pack("<I", zlib.crc32(forged)) + forged)
    without = json.dumps(values[1:]).encode()  # a row of the same count with no signature
    with pytest.raises(ValueError, match="other fields"):
        codec.decode_manifest(struct.pack("<I", zlib.crc32(without)) + without)
