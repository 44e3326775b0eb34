"""From a package document (packument) to the compact facts the rules need.

A packument can be megabytes (every version's full package.json); the rules need a few fields
per version. :func:`extract_package` reads it once and keeps:

- the package picture (:class:`PackagePicture`): dist-tags, created/modified/unpublished
  times, maintainers, and per version a :class:`~npmguard.facts.VersionInfo`;
- for the versions asked about, a :class:`~npmguard.facts.ManifestFacts`.

Fields the registry does not give become ``None`` (unknown), never a made-up value. Two shapes
matter: the public registry's full document, and the stripped one some mirrors serve (only
``name``, ``dist-tags``, ``versions`` and ``time``, where ``time`` holds the dates the mirror
first saw each version). Publish times are trusted only when ``time`` also has ``created`` or
``modified``, as every full registry (npmjs, Verdaccio, Artifactory...) writes; and provenance /
signatures count as absent only in documents that carry publishers (``_npmUser``), since a
stripped document drops those too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from npmguard.facts import ManifestFacts, VersionInfo
from npmguard.reputation.picture import PackagePicture

INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
_TEA = re.compile(r"\btea[ ._-]?(protocol|xyz|\.yaml|constitution)\b|\bteaxyz\b", re.I)


_TIME_KEYS = frozenset({"created", "modified", "unpublished"})  # not versions


@dataclass(frozen=True, slots=True)
class Extracted:
    picture: PackagePicture
    manifests: Mapping[str, ManifestFacts]  # version -> facts, for the versions asked about


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a packument, as an aware UTC datetime; None when unusable,
    including a time that is no instant a UTC date can hold (``0001-01-01T00:00:00+14:00``
    is in year 0) and one outside 1970..8999 (no package was published then, and date
    arithmetic a century either way must stay in range)."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
        when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
        when = when.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    return when if _EPOCH_YEAR <= when.year < _LAST_YEAR else None


_EPOCH_YEAR, _LAST_YEAR = 1970, 9000


def _person(value: Any) -> str | None:
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) and name else None
    if isinstance(value, str) and value:
        return value.split("<", 1)[0].strip() or None  # "Name <mail> (url)"
    return None


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _bin_map(name: str, value: Any) -> dict[str, str]:
    if isinstance(value, str) and value:  # "bin": "cli.js" installs the package's own name
        return {name.rsplit("/", 1)[-1]: value}
    return _str_map(value)


def _repository(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("url")
    return value if isinstance(value, str) and value else None


def _deprecated(value: Any) -> str | None:
    # npm undeprecates with "": that is not deprecated
    return value if isinstance(value, str) and value else None


def _install_script(doc: Mapping[str, Any]) -> bool:
    scripts = doc.get("scripts")
    if isinstance(scripts, dict) and any(scripts.get(k) for k in INSTALL_SCRIPTS):
        return True
    return bool(doc.get("gypfile")) or doc.get("hasInstallScript") is True


def _tea_protocol(doc: Mapping[str, Any]) -> bool:
    for key in ("description", "keywords", "tea"):
        value = doc.get(key)
        if key == "tea" and value:
            return True
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and _TEA.search(t) for t in texts):
            return True
    return False


def is_full_document(data: Mapping[str, Any]) -> bool:
    """A registry document with publishers and real times, not a mirror's stripped copy."""
    times = data.get("time")
    if isinstance(times, dict) and ("created" in times or "modified" in times):
        return True
    versions = data.get("versions")
    if isinstance(versions, dict):
        return any(isinstance(v, dict) and "_npmUser" in v for v in versions.values())
    return False


def manifest_facts(name: str, doc: Mapping[str, Any], *, full: bool) -> ManifestFacts:
    """The facts of one version's package.json (as listed in the packument)."""
    raw_dist = doc.get("dist")
    dist: Mapping[str, Any] = raw_dist if isinstance(raw_dist, dict) else {}
    keywords = doc.get("keywords")
    description = doc.get("description")
    file_count = dist.get("fileCount")
    unpacked = dist.get("unpackedSize")
    gyp = doc.get("gypfile")
    return ManifestFacts(
        description=description if isinstance(description, str) else None,
        scripts=_str_map(doc.get("scripts")),
        bin=_bin_map(name, doc.get("bin")),
        dependencies=_str_map(doc.get("dependencies")),
        optional_dependencies=_str_map(doc.get("optionalDependencies")),
        main=doc.get("main") if isinstance(doc.get("main"), str) else None,
        repository=_repository(doc.get("repository")),
        homepage=doc.get("homepage") if isinstance(doc.get("homepage"), str) else None,
        license=doc.get("license") if isinstance(doc.get("license"), str) else None,
        keywords=tuple(k for k in keywords if isinstance(k, str))
        if isinstance(keywords, list)
        else (),
        tea_protocol=_tea_protocol(doc),
        dist_integrity=dist.get("integrity") if isinstance(dist.get("integrity"), str) else None,
        dist_shasum=dist.get("shasum") if isinstance(dist.get("shasum"), str) else None,
        dist_tarball=dist.get("tarball") if isinstance(dist.get("tarball"), str) else None,
        dist_file_count=file_count if isinstance(file_count, int) else None,
        dist_unpacked_size=unpacked if isinstance(unpacked, int) else None,
        has_signatures=bool(dist.get("signatures")) if full else None,
        has_attestations=bool(dist.get("attestations")) if full else None,
        publisher=_person(doc.get("_npmUser")),
        deprecated=_deprecated(doc.get("deprecated")),
        gyp_file=gyp if isinstance(gyp, bool) else None,
        bundle_dependencies=bundle_dependencies(doc),
    )


def bundle_dependencies(doc: Mapping[str, Any]) -> bool | tuple[str, ...]:
    """``bundleDependencies`` (or ``bundledDependencies``, which npm reads when the first is
    absent): True, or the names (an object's keys, as npm's normalize takes them); () when
    absent, false or of another shape."""
    value = doc.get("bundleDependencies", doc.get("bundledDependencies"))
    if value is True:
        return True
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    if isinstance(value, dict):
        return tuple(str(k) for k in value)
    return ()


def _version_info(
    name: str, version: str, doc: Any, when: datetime | None, full: bool
) -> VersionInfo:
    # called for every version of every package on a cold fetch (~90,000 for a big tree):
    # written for speed, with the same meaning as manifest_facts
    if not isinstance(doc, dict):
        return VersionInfo(version=version, published=when)
    get = doc.get
    dist = get("dist")
    attested = bool(dist.get("attestations")) if full and isinstance(dist, dict) else None
    scripts = get("scripts")
    install = (
        (isinstance(scripts, dict) and any(scripts.get(k) for k in INSTALL_SCRIPTS))
        or bool(get("gypfile"))
        or get("hasInstallScript") is True
    )
    raw_bin = get("bin")
    bins: tuple[str, ...] = ()
    if isinstance(raw_bin, str):
        bins = (name.rsplit("/", 1)[-1],) if raw_bin else ()
    elif isinstance(raw_bin, dict) and raw_bin:
        bins = tuple(sorted(k for k, v in raw_bin.items() if isinstance(v, str)))
    deps = get("dependencies")
    user = get("_npmUser")
    people = get("maintainers")
    return VersionInfo(
        version,
        when,
        None if user is None else _person(user),
        install,
        attested,
        _deprecated(get("deprecated")),
        bins,
        tuple(sorted(deps)) if isinstance(deps, dict) and deps else (),
        _people(people) if isinstance(people, list) else None,
    )


def _people(values: list[Any]) -> tuple[str, ...]:
    """Account names of a ``maintainers`` list, sorted, each once."""
    return tuple(sorted({p for p in map(_person, values) if p}))


def extract_package(name: str, data: Mapping[str, Any], wanted: Iterable[str] = ()) -> Extracted:
    """The compact picture of ``data`` (a parsed packument) and manifests for ``wanted``."""
    full = is_full_document(data)
    raw_times = data.get("time")
    times: Mapping[str, Any] = raw_times if isinstance(raw_times, dict) else {}
    trusted = full and bool(times)
    raw_versions = data.get("versions")
    versions: Mapping[str, Any] = raw_versions if isinstance(raw_versions, dict) else {}
    infos = tuple(
        _version_info(name, v, doc, parse_time(times.get(v)) if trusted else None, full)
        for v, doc in versions.items()
    )
    tags = data.get("dist-tags")
    dist_tags = _str_map(tags) if isinstance(tags, dict) else None
    unpublished = times.get("unpublished")
    when_unpublished = None
    if isinstance(unpublished, dict):
        when_unpublished = parse_time(unpublished.get("time")) or parse_time(times.get("modified"))
    people = data.get("maintainers")
    maintainers = (
        tuple(p for p in (_person(m) for m in people) if p) if isinstance(people, list) else None
    )
    latest = dist_tags.get("latest") if dist_tags else None
    package_deprecated: bool | None = None
    if infos:
        head = next((i for i in infos if i.version == latest), infos[-1])
        package_deprecated = head.deprecated is not None
    manifests = {
        v: manifest_facts(name, versions[v], full=full)
        for v in dict.fromkeys(wanted)
        if isinstance(versions.get(v), dict)
    }
    picture = PackagePicture(
        name=name,
        versions=infos,
        dist_tags=dist_tags,
        created=parse_time(times.get("created")) if full else None,
        modified=parse_time(times.get("modified")) if full else None,
        unpublished=when_unpublished,
        maintainers=maintainers,
        package_deprecated=package_deprecated,
        times_trusted=trusted,
        removed=tuple(sorted(k for k in times if k not in versions and k not in _TIME_KEYS))
        if times
        else None,
    )
    return Extracted(picture=picture, manifests=manifests)
