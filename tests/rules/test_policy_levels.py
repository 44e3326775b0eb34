"""The policy's level shifts a finding emitted above its rule's default without leaving
info..block (found by the packument fuzzer of issue 13: exit 4 under npmguard:strict, where
a rule that informs by default, raised to block, emitted its worst case two levels up)."""

from __future__ import annotations

from collections.abc import Iterator

from providers import FakeFacts
from rule_facts import tree

from npmguard.engine import Engine
from npmguard.model import Finding, Level, LockedPackage, Occurrence, SourceKind
from npmguard.policy.model import Policy
from npmguard.rules.base import CheckContext, PackageRule


class Raises(PackageRule):
    """Informs by default; its worst case is two levels up (as ``new-bin`` does)."""

    id = "raises-test-rule"
    level = Level.INFO
    family = "test"
    description = "test"

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        yield self.finding(pkg, "the worst case", level=Level.BLOCK)
        yield self.finding(pkg, "the usual case")


def _levels(policy_level: Level) -> list[Level]:
    pkg = LockedPackage(
        "x", "1.0.0", SourceKind.REGISTRY, (Occurrence("node_modules/x", "x", None, None),)
    )
    engine = Engine(
        Policy(levels={Raises.id: policy_level}),
        rules=[Raises()],
        providers=(FakeFacts({}),),
        allowed_registries=("https://registry.npmjs.org/",),
    )
    report = engine.run([tree(pkg)])
    return sorted(f.level for f in report.findings)


def test_a_raised_finding_under_a_raised_level_stays_within_block() -> None:
    # policy block: the usual case is block, the worst case 3 + 3 - 1 = 5, clamped to block
    assert _levels(Level.BLOCK) == [Level.BLOCK, Level.BLOCK]
    assert _levels(Level.WARN) == [Level.WARN, Level.BLOCK]
    assert _levels(Level.INFO) == [Level.INFO, Level.BLOCK]
