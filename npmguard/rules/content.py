"""Tarballs whose content could not be read: unknown, and never read as clean.

npmguard reads a tarball when its content can change the verdict (it runs install scripts, or
the package is not established: see :func:`npmguard.reputation.source.content_matters`). When
that content cannot be read within the limits (``docs/limits.md``), the content rules
(``install-script-suspicious``, ``tea-yaml``, ``no-code``, ``autopublish-script``,
``clone-cluster``) have nothing to judge, and a package built to be unreadable (a small
tarball that unpacks to hundreds of MB: npm installs it) would otherwise read as clean.
"""

from __future__ import annotations

from collections.abc import Iterator

from npmguard.facts import Need
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.rules.history import allow_entry

FAMILY = "content"


@register
class ContentUnknown(PackageRule):
    id = "content-unknown"
    level = Level.BLOCK
    family = FAMILY
    description = (
        "The package's tarball could not be read, so nothing can say its content is clean."
    )
    help = (
        "A tarball is read when its content can change the verdict: the package runs install "
        "scripts, or it is not established (few downloads). One that cannot be read within "
        "the limits (50 MB downloaded, 200 MB unpacked, 20,000 entries; see "
        "docs/limits.md) or is not a gzip'd tar leaves install-script-suspicious, tea-yaml, "
        "no-code, autopublish-script and clone-cluster blind, while npm installs it all the "
        "same: a package built that way must not pass as clean. The reason is the evidence. "
        "Bytes that differ from the lockfile's integrity are `integrity-mismatch` instead, "
        "and a download that failed follows the policy's `on-unreachable`. Measured on the two "
        "reference lockfiles with `--all-tarballs` (1,040 tarballs, the largest 150 MB "
        "unpacked, the most files 6,384): no finding."
    )
    needs = frozenset({Need.PACKUMENT, Need.TARBALL})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.facts_for(pkg) if pkg.on_registry else None
        problem = facts.content_problem if facts is not None else None
        if problem is None or problem.kind != "unreadable":
            return
        yield self.finding(
            pkg,
            "the tarball could not be read: its content is unknown",
            evidence=(Evidence("tarball", problem.reason, "registry tarball"),),
            hint=f"do not install {pkg.key} before you have looked at what it ships; once "
            "reviewed: " + allow_entry(pkg.name, pkg.version, self.id),
        )
