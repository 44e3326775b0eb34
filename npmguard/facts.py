"""The facts rules read, and the providers that gather them.

- :class:`Need`: a kind of fact. A rule declares the needs it has; the engine asks the
  providers that serve them (:class:`npmguard.engine.FactsProvider`) for the union of the
  enabled rules' needs.
- :class:`PackageFacts`: what the registry and the tarball say about one name@version.
- :class:`FeedLookup` / :class:`FeedMatch`: imported known-bad records.
- :class:`NameLookup`: the shipped popular-names data (downloads, words npm people use).
- :class:`Facts`: everything the providers gathered for one tree, as the rules see it.

Every field may be unknown (``None``): the mirror reachable from some machines carries no
publishers, no real publish dates and no attestations. Rules must treat ``None`` as
"unknown", never as a bad fact.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class Need(str, enum.Enum):
    """A kind of fact a rule needs; the engine gathers only what enabled rules need.

    ``LOCKFILE`` and ``TREE`` come with the lockfile itself and ``NAMES`` ships with
    npmguard: rules that need only these run offline (``check --lockfile-only``).
    """

    LOCKFILE = "lockfile"  # the lockfile's own fields for an entry: resolved, integrity, source
    TREE = "tree"  # the dependency graph the lockfile describes
    NAMES = "names"  # shipped popular-names data: downloads, words npm people use
    PACKUMENT = "packument"  # the package document: versions, times, dist-tags
    TARBALL = "tarball"  # the tarball's content
    FEED = "feed"  # imported known-bad feeds

    def __str__(self) -> str:
        return self.value


OFFLINE_NEEDS = frozenset({Need.LOCKFILE, Need.TREE, Need.NAMES})


class Detail(str, enum.Enum):
    """A part of the package document a registry may leave out (mirrors and many private
    registries give none of these). A rule that cannot judge without one declares it, so a
    report says what could not be checked instead of reading "ok"."""

    PUBLISH_TIMES = "publish times"  # time: per-version publish dates
    PUBLISHERS = "publishers"  # versions.*._npmUser
    PROVENANCE = "provenance"  # versions.*.dist.attestations

    def __str__(self) -> str:
        return self.value

    def given_by(self, facts: PackageFacts) -> bool:
        """Whether ``facts`` (a package picture) carries this detail for any version."""
        versions = facts.versions or ()
        known = getattr(versions, "known_details", None)  # the store's lazy list: its columns
        if known is not None:
            return self in known()
        if self is Detail.PUBLISH_TIMES:
            return any(v.published is not None for v in versions)
        if self is Detail.PUBLISHERS:
            return any(v.publisher is not None for v in versions)
        return any(v.has_provenance is not None for v in versions)


# npm's placeholder for a package taken down for security reasons: `0.0.1-security`
SECURITY_VERSION = re.compile(r"^\d+\.\d+\.\d+-security(\.\d+)?$")


class FactsStatus(str, enum.Enum):
    KNOWN = "known"  # the registry answered and the facts are filled in
    NOT_FOUND = "not-found"  # the registry answered 404
    REFUSED = "refused"  # the registry answered 403 for this package while serving others
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
    # the version document's `maintainers`: who could publish the package when this version
    # was published (the public registry writes it on every publish; mirrors drop it)
    maintainers: tuple[str, ...] | None = None


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
    # ``bundleDependencies`` (or ``bundledDependencies``): the names whose copies ship inside
    # the tarball, or True for all of ``dependencies``; () when none
    bundle_dependencies: bool | tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanHit:
    """A pattern the install-script scanner found (:mod:`npmguard.scriptscan`): ``where`` is
    ``scripts.<lifecycle>`` or the path of a file the scripts run."""

    pattern: str  # the pattern's id
    what: str  # what the pattern means
    excerpt: str
    where: str


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
    # install scripts of the packages bundled inside the tarball, which npm runs too
    # (``rebuild-bundle`` defaults to true): bundled path (``node_modules/a``,
    # ``node_modules/a/node_modules/b``) -> lifecycle -> command, npm's implicit
    # ``node-gyp rebuild`` included (:data:`npmguard.scriptscan.IMPLICIT_GYP_SCRIPT`)
    bundled_scripts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # what the install-script scanner found in the scripts and the files they run, as stored
    # with these facts by the same scanner (None: not stored, or by another scanner); derived
    # from the fields above, so it takes no part in comparisons (see npmguard.scriptscan)
    install_scan: tuple[ScanHit, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ContentProblem:
    """Why a tarball that a verdict depends on was not read; its content is then unknown.

    ``kind``: ``"unreadable"`` (over a size or entry limit, a decompression bomb, not a
    gzip'd tar), ``"integrity"`` (the bytes served are not the ones the lockfile names;
    ``served`` is their SSRI) or ``"download"`` (the registry failed to serve it: the
    policy's ``on-unreachable`` decides). ``reason`` is the message, for evidence.
    """

    kind: str
    reason: str
    served: str | None = None


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """Everything known about one name@version and its package. ``None`` means unknown."""

    name: str
    version: str
    status: FactsStatus = FactsStatus.UNKNOWN
    registry: str | None = None
    # package-level picture (refreshes on a TTL)
    # a tuple, or the facts store's lazy sequence (npmguard.versions.VersionList)
    versions: Sequence[VersionInfo] | None = None
    dist_tags: Mapping[str, str] | None = None
    created: datetime | None = None
    modified: datetime | None = None
    unpublished: datetime | None = None  # the registry says the package was unpublished
    maintainers: tuple[str, ...] | None = None
    package_deprecated: bool | None = None
    # this version
    version_present: bool | None = None  # the locked version is in the package document
    # the document's ``time`` map lists the version while ``versions`` does not: it was
    # published, then removed (None: unknown)
    version_removed: bool | None = None
    manifest: ManifestFacts | None = None
    tarball: TarballFacts | None = None
    content_problem: ContentProblem | None = None  # why ``tarball`` is None when it was wanted
    fetched_at: datetime | None = None
    from_cache: bool = False
    error: str | None = None  # why facts are unknown, when they are
    # set when the picture was cut back to what the registry showed at that moment
    # (``npmguard check --as-of``; see :mod:`npmguard.asof`)
    as_of: datetime | None = None

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


OSV_LINK = "https://osv.dev/vulnerability/{id}"


@dataclass(frozen=True, slots=True)
class FeedMatch:
    """Why one feed record says a name@version is malicious."""

    record_id: str
    name: str  # the package the record names (another name when matched by hash)
    summary: str
    how: str  # "integrity" | "version" | "range"
    matched: str  # the hash, the listed version or the range text
    catch_all_only: bool = False  # matched only by a bare `introduced: 0` next to narrower info
    narrower: str = ""  # the narrower ranges/versions, when catch_all_only
    published: str | None = None
    modified: str | None = None
    withdrawn: str | None = None
    aliases: tuple[str, ...] = ()
    source: str = ""  # where the record was imported from (file in a tree, zip or URL)

    @property
    def link(self) -> str:
        return OSV_LINK.format(id=self.record_id)


class FeedLookup(Protocol):
    """Imported known-bad records, looked up per package (the feed store implements it)."""

    def last_imported(self) -> datetime | None:
        """When the newest import finished (UTC), or None if nothing was imported."""

    def match(
        self, name: str, version: str, integrity: str | None = None
    ) -> Sequence[FeedMatch]: ...


class RegistryLookup(Protocol):
    """Which registry npm uses for each package name, as ``.npmrc`` configures it (the
    registry configuration's ``Registries`` implements it); for the lockfile rules."""

    def registry_for(self, package_name: str) -> str:
        """npm's registry for the name: ``@scope:registry`` for a scoped name, else
        ``registry``."""

    def fetched_from(self, resolved: str) -> str | None:
        """The URL npm downloads for a lockfile ``resolved`` URL (``replace-registry-host``
        applied); None when Node cannot parse it."""

    def allowed_hosts(self, package_name: str) -> tuple[str, ...]:
        """``host[:port]`` of every registry a resolved URL for this name may point at."""


class NameLookup(Protocol):
    """The shipped popular-names data (the names store implements it)."""

    def downloads(self, name: str) -> int | None:
        """Approximate monthly downloads of a name the snapshot lists, else None."""

    def downloads_of(self, names: Iterable[str]) -> Mapping[str, int | None]:
        """:meth:`downloads` of each of ``names``, looked up together."""

    def is_word(self, word: str) -> bool:
        """Whether ``word`` is a letter run of some popular name."""

    def scope_known(self, scope: str) -> bool:
        """Whether some popular name lives in ``@scope/`` (an organisation npm people use)."""

    def near_targets(
        self, variants: Collection[str], min_downloads: int, min_length: int
    ) -> Mapping[str, int]:
        """Popular names (name -> downloads) one deletion away from one of ``variants``."""

    def squashed_targets(self, key: str, min_downloads: int, min_length: int) -> Mapping[str, int]:
        """Popular names whose name without separators is ``key``."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What the providers gathered for one tree: everything a rule reads besides the lockfile.

    ``packages`` maps name@version to registry and tarball facts (absent: not asked, or not a
    registry package); ``feed`` is ``None`` when no feed was imported (known-malicious cannot
    judge); ``names`` is ``None`` when the name data was not asked for.
    """

    packages: Mapping[str, PackageFacts] = field(default_factory=dict)
    feed: FeedLookup | None = None
    names: NameLookup | None = None

    def merged(self, other: Facts) -> Facts:
        """These facts with ``other``'s added (``other`` fills what these lack)."""
        return Facts(
            packages={**other.packages, **self.packages} if other.packages else self.packages,
            feed=self.feed if self.feed is not None else other.feed,
            names=self.names if self.names is not None else other.names,
        )
