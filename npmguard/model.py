"""Values that cross stage boundaries: frozen dataclasses, never loose dicts.

The pipeline is: lockfile -> ``Lockfile`` of ``LockedPackage`` -> ``PackageFacts`` per
name@version -> ``Finding`` per package -> ``PackageVerdict`` / ``Report``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from npmguard.facts import PackageFacts


class Level(enum.IntEnum):
    """How much a finding matters. Ordered, so ``max()`` gives a verdict."""

    OFF = 0
    INFO = 1
    WARN = 2
    BLOCK = 3

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown level {text!r}; expected one of block, warn, info, off"
            ) from None

    def __str__(self) -> str:
        return self.name.lower()


class Verdict(enum.Enum):
    """The outcome for a package or a whole run."""

    OK = "ok"
    WARN = "warn"
    BLOCK = "block"

    @classmethod
    def from_level(cls, level: Level) -> Verdict:
        if level >= Level.BLOCK:
            return cls.BLOCK
        if level >= Level.WARN:
            return cls.WARN
        return cls.OK

    @property
    def rank(self) -> int:
        return {"ok": 0, "warn": 1, "block": 2}[self.value]

    def __str__(self) -> str:
        return self.value


class SourceKind(str, enum.Enum):
    """Where a locked package's code comes from."""

    REGISTRY = "registry"
    GIT = "git"
    TARBALL = "tarball"  # a remote tarball URL that is not a registry tarball
    FILE = "file"  # a local tarball or directory
    LINK = "link"  # a symlink: workspaces and ``file:`` folders

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Omit:
    """npm's ``--omit``: the dependency types an install leaves out."""

    dev: bool = False
    optional: bool = False
    peer: bool = False


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a package sits in the tree (one lockfile entry).

    The flags are Arborist's node flags: ``dev`` (only dev dependencies need it),
    ``optional`` (only optional ones), ``dev_optional`` (set whenever ``dev`` or ``optional``
    is, and alone when both dev and optional paths need it), ``peer``, ``bundled``
    (``inBundle``).
    """

    # npm: "node_modules/a/node_modules/b" (v1 nesting is written in the same shape); other
    # formats: the entry's key as the lockfile writes it (pnpm's dependency path, yarn's
    # descriptors, bun's package key)
    path: str
    installed_as: str  # the folder name: differs from the real name for aliases
    resolved: str | None
    integrity: str | None  # SSRI (``sha512-...``), comparable with the registry's
    line: int | None = None  # 1-based line of the entry in the lockfile, when known
    dev: bool = False
    optional: bool = False
    dev_optional: bool = False
    peer: bool = False
    bundled: bool = False
    # the format's own hash where it is not the tarball's SSRI integrity (Yarn Berry's
    # ``checksum``: of yarn's cache archive, with its cache-key prefix): proof that the
    # lockfile pins the bytes, never comparable with the registry's integrity
    checksum: str | None = None
    # Yarn Berry's ``conditions`` (``os=linux & cpu=x64``): a platform package yarn fetches
    # only where they match, and then writes no checksum for and verifies against none
    conditions: str | None = None
    # under the project root or a workspace: only there does npm's --omit apply
    omittable: bool = True

    def omitted_by(self, omit: Omit) -> bool:
        """Whether ``npm ci --omit=...`` leaves this entry out (Arborist's reify: dev when
        dev is omitted, optional when optional is, peer when peer is, and devOptional only
        when both dev and optional are)."""
        return self.omittable and (
            (self.dev and omit.dev)
            or (self.optional and omit.optional)
            or (self.peer and omit.peer)
            or (self.dev_optional and omit.dev and omit.optional)
        )


@dataclass(frozen=True, slots=True)
class LockedPackage:
    """One name@version (from one kind of source) in the tree, with every place it occurs.

    Flags are merged across occurrences: a package is production (``dev`` false) if any
    occurrence is.
    """

    name: str
    version: str
    source: SourceKind
    occurrences: tuple[Occurrence, ...]
    # npm's hasInstallScript (pnpm's requiresBuild); None where the lockfile does not say
    # (npm v1, pnpm 9, yarn, bun): unknown
    has_install_script: bool | None = None
    dependencies: Mapping[str, str] = field(default_factory=dict)  # name -> spec, as locked
    dependents: tuple[str, ...] = ()  # keys (name@version) of packages that depend on this
    requires: tuple[str, ...] = ()  # keys (name@version) of the packages this one resolves to
    license: str | None = None
    # ``name@version``: how findings, facts and policy refer to it (computed once: rules ask
    # for it tens of thousands of times in a run)
    key: str = field(init=False, repr=False, compare=False)
    # whether a registry can be asked about this package (never for links/workspaces);
    # computed once, as ``key``
    on_registry: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.name}@{self.version}")
        object.__setattr__(self, "on_registry", self.source is SourceKind.REGISTRY)

    @property
    def scope(self) -> str | None:
        return self.name.split("/", 1)[0] if self.name.startswith("@") else None

    @property
    def first(self) -> Occurrence:
        return self.occurrences[0]

    @property
    def resolved(self) -> str | None:
        return self.first.resolved

    @property
    def integrity(self) -> str | None:
        return self.first.integrity

    @property
    def line(self) -> int | None:
        return self.first.line

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(o.path for o in self.occurrences)

    @property
    def dev(self) -> bool:
        """Only dev dependencies need it, wherever it occurs (``--omit=dev`` drops it)."""
        return all(o.dev for o in self.occurrences)

    @property
    def optional(self) -> bool:
        return all(o.optional for o in self.occurrences)

    @property
    def dev_optional(self) -> bool:
        """Needed by dev and optional dependencies only, neither alone: npm drops it only
        when both are omitted."""
        return all(o.dev_optional for o in self.occurrences) and not (self.dev or self.optional)

    def omitted_by(self, omit: Omit) -> bool:
        """Whether ``npm ci --omit=...`` installs no copy of it (see ``Occurrence``)."""
        return all(o.omitted_by(omit) for o in self.occurrences)

    @property
    def peer(self) -> bool:
        return all(o.peer for o in self.occurrences)

    @property
    def bundled(self) -> bool:
        return all(o.bundled for o in self.occurrences)

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(sorted({o.installed_as for o in self.occurrences} - {self.name}))


class KeptReading(Protocol):
    """What a reader kept of a lockfile it read without lines (``lines_later``), for the
    steps that follow with ``--changed-since``: :func:`npmguard.lockfile.with_lines` finds
    the changed entries' lines, :mod:`npmguard.lockfile.changes` compares the document with
    the committed copy's."""

    @property
    def document(self) -> Mapping[str, Any]:
        """The top-level JSON object, as the reader read it."""

    def lines(self, paths: Collection[str]) -> Mapping[str, int]:
        """The lines of the entries at these occurrence paths (those that have one): the
        lines a read with lines gives."""


@dataclass(frozen=True, slots=True)
class Lockfile:
    """A parsed lockfile: the packages in it and where it was read from."""

    path: Path
    format: str  # "npm-v3", "npm-shrinkwrap-v3", "pnpm-v9.0", "yarn-v1", "yarn-berry-v8", "bun-v1"
    lockfile_version: int
    packages: tuple[LockedPackage, ...]
    root_name: str | None = None
    root_version: str | None = None
    # read without lines by a reader that can find some later (npm's): what it kept, until
    # :func:`npmguard.lockfile.with_lines` finds the lines wanted and drops it
    kept: KeptReading | None = field(default=None, compare=False, repr=False)

    def by_key(self) -> dict[str, LockedPackage]:
        return {p.key: p for p in self.packages}


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """What the project itself says: its root package.json, as far as rules care."""

    root: Path | None = None
    allow_scripts: Mapping[str, bool] = field(default_factory=dict)  # package.json allowScripts
    # names the command being checked adds as direct dependencies (the npm wrapper knows:
    # `npm install crossenv`); advice then says "do not add it", not "remove it from
    # package.json", which the user never edited
    adding: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact a finding rests on: what was seen, and where it came from."""

    label: str  # "resolved", "script postinstall", "last release before this one"
    value: str
    source: str = ""  # "lockfile", "registry", "tarball", "feed MAL-2025-1", "policy"


@dataclass(frozen=True, slots=True)
class Finding:
    """What one rule saw about one package (or about the tree, ``package`` being the focus)."""

    rule: str
    package: str
    version: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    hint: str = ""
    level: Level = Level.WARN  # set from the policy by the engine
    line: int | None = None
    allowed_by: str | None = None  # reason of the allow entry that covers this finding
    score: float | None = None  # for scored rules (spam score)

    @property
    def key(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def effective_level(self) -> Level:
        """The level that counts toward the verdict: allowed findings count as info."""
        return Level.INFO if self.allowed_by is not None else self.level


@dataclass(frozen=True, slots=True)
class PackageVerdict:
    package: LockedPackage
    verdict: Verdict
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class PolicyNote:
    """Something the policy wants said that is not a finding: expired or unused entries."""

    kind: str  # "expired-allow", "unused-allow", "unknown-facts"
    message: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    """What some rules could not judge, for how many packages, and why (report coverage).

    ``reason`` says why ("the registry gives no publish times", "no feed imported: run
    `npmguard db update`"); ``examples`` names a few of the packages (name@version).
    """

    rules: tuple[str, ...]
    reason: str
    packages: int
    examples: tuple[str, ...] = ()
    # every package it is about (``explain`` shows a package's gaps); not in reports
    keys: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a run found, ready for a formatter."""

    lockfiles: tuple[Lockfile, ...]
    packages: tuple[PackageVerdict, ...]
    findings: tuple[Finding, ...]
    verdict: Verdict
    notes: tuple[PolicyNote, ...] = ()
    tool_version: str = ""
    coverage: tuple[Gap, ...] = ()  # what could not be judged: "ok" never hides it
    # the facts the rules saw, by name@version (``explain`` shows them; formatters do not)
    facts: Mapping[str, PackageFacts] = field(default_factory=dict)
    as_of: datetime | None = None  # --as-of: the moment judged (UTC); None: now

    @property
    def top_level(self) -> Level:
        """The highest level among findings that count (allowed ones count as info)."""
        return max((f.effective_level for f in self.findings), default=Level.OFF)
