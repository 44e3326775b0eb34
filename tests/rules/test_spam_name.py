"""spam-name: campaign-shaped names in a tree, with evidence, hint, options and the guard."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from providers import shipped_names
from rule_facts import context, locked, run_engine, tree

from npmguard.facts import NameLookup, Need
from npmguard.model import Level
from npmguard.rules.base import all_rules
from npmguard.rules.spam_name import SpamName


def run(*names: str, lookup: NameLookup | None = None, **options: object) -> list:
    lockfile = tree(*(locked(n, "1.0.0") for n in names))
    ctx = context(lockfile, {}, options={"spam-name": options} if options else None)
    if lookup is not None:
        ctx = replace(ctx, names=lookup)
    return list(SpamName().check(ctx))


class _Popular:
    """The shipped name data, except that every name has ``monthly`` downloads."""

    def __init__(self, monthly: int) -> None:
        self.monthly = monthly

    def __getattr__(self, name: str) -> object:
        return getattr(shipped_names(), name)

    def downloads(self, name: str) -> int | None:
        return self.monthly


def test_registered_offline_warn() -> None:
    assert all_rules()["spam-name"] is SpamName
    assert SpamName.needs == frozenset({Need.NAMES})  # shipped data: runs offline
    assert SpamName.level is Level.WARN


def test_flags_campaign_names_only() -> None:
    findings = run("express", "budi-rendang23-kyuu", "midtrans-client", "gentle_otter_q7x")
    assert [f.package for f in findings] == ["budi-rendang23-kyuu", "gentle_otter_q7x"]
    first = findings[0]
    assert first.rule == "spam-name"
    assert first.score is not None and first.score >= 0.6
    assert "food 'rendang'" in first.message
    labels = {e.label: e.value for e in first.evidence}
    assert labels["name shape"] == "first-food-digits"
    assert "first name 'budi'" in labels["decomposition"]
    assert "[[allow]]" in first.hint and 'package = "budi-rendang23-kyuu"' in first.hint
    assert 'rules = ["spam-name"]' in first.hint


def test_min_score_option() -> None:
    assert run("budi-rendang23-kyuu", **{"min-score": 1.01}) == []
    assert len(run("budi-rendang23-kyuu", **{"min-score": 0.5})) == 1


def test_popularity_guard_leaves_popular_names_alone() -> None:
    popular = cast(NameLookup, _Popular(250_000))
    assert run("budi-rendang23-kyuu", lookup=popular) == []  # guard: 100k a month by default
    assert len(run("budi-rendang23-kyuu", lookup=popular, **{"popular-downloads": 0})) == 1
    assert len(run("budi-rendang23-kyuu", lookup=popular, **{"popular-downloads": 300_000})) == 1


def test_without_the_name_data_nothing_is_judged() -> None:
    """Unknown is never bad: a context without name data gives no spam-name finding."""
    lockfile = tree(locked("budi-rendang23-kyuu", "1.0.0"))
    ctx = replace(context(lockfile, {}), names=None)
    assert list(SpamName().check(ctx)) == []


def test_feeds_spam_score_through_the_engine() -> None:
    lockfile = tree(locked("budi-rendang23-kyuu", "1.0.0"), locked("express", "4.21.2"))
    report, _ = run_engine(lockfile, {}, ["spam-name", "spam-score"])
    assert next(f.rule for f in report.findings if f.package == "budi-rendang23-kyuu") == (
        "spam-name"
    )
    assert not [f for f in report.findings if f.package == "express"]
