"""What the registry and the tarball say about one name@version: ``PackageFacts``.

Every field may be unknown (``None``): the mirror reachable from some machines carries no
publishers, no real publish dates and no attestations. Rules must treat ``None`` as
"unknown", never as a bad fact.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


class Need(str, enum.Enum):
    """The facts a rule needs; the engine fetches only what enabled rules need."""

    LOCKFILE = "lockfile"  # the lockfile alone, offline
    PACKUMENT = "packument"  # the package document: versions, times, dist-tags
    TARBALL = "tarball"  # the tarball's content
    FEED = "feed"  # imported known-bad feeds
    POPULARITY = "popularity"  # shipped popular-names data

    def __str__(self) -> str:
        return self.value


class FactsStatus(str, enum.Enum):
    KNOWN = "known"  # the registry answered and the facts are filled in
    NOT_FOUND = "not-found"  # the registry answered 404
    UNKNOWN = "unknown"  # nothing could be learned (offline with nothing cached, error)
    NOT_APPLICABLE = "n/a"  # not a registry package (git, file, link)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """Compact facts about one published version, as the package document lists it."""

    version: str
    published: datetime | None = None
    publisher: str | None = None  # _npmUser.name
    has_install_script: bool | None = None
    has_provenance: bool | None = None  # dist.attestations present
    deprecated: str | None = None
    bin_names: tuple[str, ...] | None = None
    dependency_names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ManifestFacts:
    """The locked version's package.json as the registry serves it (plus ``dist``)."""

    description: str | None = None
    scripts: Mapping[str, str] = field(default_factory=dict)
    bin: Mapping[str, str] = field(default_factory=dict)
    dependencies: Mapping[str, str] = field(default_factory=dict)
    optional_dependencies: Mapping[str, str] = field(default_factory=dict)
    main: str | None = None
    repository: str | None = None
    homepage: str | None = None
    license: str | None = None
    keywords: tuple[str, ...] = ()
    tea_protocol: bool = False  # package.json mentions the tea protocol
    dist_integrity: str | None = None
    dist_shasum: str | None = None
    dist_tarball: str | None = None
    dist_file_count: int | None = None
    dist_unpacked_size: int | None = None
    has_signatures: bool | None = None
    has_attestations: bool | None = None
    publisher: str | None = None
    deprecated: str | None = None
    gyp_file: bool | None = None  # gypfile: true


@dataclass(frozen=True, slots=True)
class TarballFacts:
    """What the tarball holds, read in memory after its integrity was checked."""

    files: tuple[str, ...]  # paths inside the package, "package/" prefix removed
    unpacked_size: int
    has_tea_yaml: bool
    has_code: bool
    manifest_scripts: Mapping[str, str] = field(default_factory=dict)
    manifest_dependencies: Mapping[str, str] = field(default_factory=dict)
    # small text files worth reading for content rules (scripts, shell files), capped in size
    texts: Mapping[str, str] = field(default_factory=dict)
    integrity_checked: bool = True


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """Everything known about one name@version and its package. ``None`` means unknown."""

    name: str
    version: str
    status: FactsStatus = FactsStatus.UNKNOWN
    registry: str | None = None
    # package-level picture (refreshes on a TTL)
    # a tuple, or the facts store's lazy sequence (npmguard.reputation.versions.VersionList)
    versions: Sequence[VersionInfo] | None = None
    dist_tags: Mapping[str, str] | None = None
    created: datetime | None = None
    modified: datetime | None = None
    unpublished: datetime | None = None  # the registry says the package was unpublished
    maintainers: tuple[str, ...] | None = None
    package_deprecated: bool | None = None
    # this version
    version_present: bool | None = None  # the locked version is in the package document
    manifest: ManifestFacts | None = None
    tarball: TarballFacts | None = None
    fetched_at: datetime | None = None
    from_cache: bool = False
    error: str | None = None  # why facts are unknown, when they are

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def latest(self) -> str | None:
        return None if self.dist_tags is None else self.dist_tags.get("latest")

    def version_info(self, version: str | None = None) -> VersionInfo | None:
        wanted = self.version if version is None else version
        find = getattr(self.versions, "find", None)  # VersionList: no scan, no objects built
        if find is not None:
            found: VersionInfo | None = find(wanted)
            return found
        for info in self.versions or ():
            if info.version == wanted:
                return info
        return None
