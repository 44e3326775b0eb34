"""The package-level facts of one packument, as the facts store keeps them.

Its own module (not :mod:`npmguard.reputation.extract`, which builds it from a document) so
that a warm run, which only reads stored pictures, imports none of the extraction code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from npmguard.facts import VersionInfo


@dataclass(frozen=True, slots=True)
class PackagePicture:
    """The package-level facts of one packument (what refreshes on a TTL)."""

    name: str
    versions: Sequence[VersionInfo]  # a tuple when parsed, a lazy VersionList when stored
    dist_tags: Mapping[str, str] | None
    created: datetime | None
    modified: datetime | None
    unpublished: datetime | None
    maintainers: tuple[str, ...] | None
    package_deprecated: bool | None
    times_trusted: bool  # publish times come from a full registry document
    # versions the ``time`` map lists that ``versions`` does not (published, then removed);
    # None: unknown (no ``time`` map, or a picture stored before this was kept)
    removed: tuple[str, ...] | None = None
