"""``--changed-since``: a package rule looks at the changed packages only, worked out once per
run (not a pass over the whole tree per rule), in the lockfile's order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from npmguard.model import Finding, Level, LockedPackage, Lockfile, Occurrence, SourceKind
from npmguard.rules.base import CheckContext, PackageRule


class _Seen(PackageRule):
    id = "seen"
    level = Level.INFO
    family = "test"
    description = "records the packages it is asked about"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        self.asked.append(pkg.key)
        yield self.finding(pkg, "seen")


def _lockfile(names: str) -> Lockfile:
    packages = tuple(
        LockedPackage(
            name=n,
            version="1.0.0",
            source=SourceKind.REGISTRY,
            occurrences=(Occurrence(f"node_modules/{n}", n, None, None),),
        )
        for n in names
    )
    return Lockfile(Path("package-lock.json"), "npm-v3", 3, packages)


def _context(only: set[str] | None) -> CheckContext:
    return CheckContext(
        lockfile=_lockfile("abcde"), facts={}, options={}, allowed_registries=(), only=only
    )


def test_a_package_rule_sees_only_the_focus_in_lockfile_order() -> None:
    rule = _Seen()
    ctx = _context({"d@1.0.0", "b@1.0.0", "z@1.0.0"})
    assert [f.key for f in rule.check(ctx)] == ["b@1.0.0", "d@1.0.0"]
    assert rule.asked == ["b@1.0.0", "d@1.0.0"]
    assert ctx.focus is ctx.focus  # once per context, shared by every rule


def test_without_only_every_package_is_the_focus() -> None:
    rule = _Seen()
    ctx = _context(None)
    assert [f.key for f in rule.check(ctx)] == [f"{n}@1.0.0" for n in "abcde"]
    assert ctx.focus == ctx.lockfile.packages
