"""``--as-of``: the package picture cut back to a moment (a pure function over PackageFacts),
the same whether the versions are a tuple or the store's lazy columns."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from npmguard.asof import AsOfProvider, facts_as_of, parse_as_of
from npmguard.facts import (
    Facts,
    FactsStatus,
    ManifestFacts,
    Need,
    PackageFacts,
    TarballFacts,
)
from npmguard.reputation import codec
from npmguard.reputation.extract import extract_package
from npmguard.versions import VersionList

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reputation"
UTC = timezone.utc


def public(version: str = "1.1.0", *, stored: bool = False) -> PackageFacts:
    """demo-cli from the public-registry fixture: 1.0.0 (2019-03-01), 1.1.0 (2020-06-01),
    2.0.0 (2024-05-01, by mallory), 2.1.0-beta.1 (2024-05-02)."""
    doc = json.loads((FIXTURES / "public-full.json").read_text())
    got = extract_package("demo-cli", doc, [version])
    picture = got.picture
    if stored:
        picture = codec.decode_picture("demo-cli", codec.encode_picture(picture))
    return PackageFacts(
        "demo-cli",
        version,
        FactsStatus.KNOWN,
        registry="https://registry.npmjs.org/",
        versions=picture.versions,
        dist_tags=picture.dist_tags,
        created=picture.created,
        modified=picture.modified,
        maintainers=picture.maintainers,
        package_deprecated=picture.package_deprecated,
        version_present=True,
        manifest=got.manifests.get(version),
        tarball=TarballFacts(("package.json",), 10, False, True),
    )


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("stored", [False, True])
def test_later_versions_times_and_tags_are_invisible(stored: bool) -> None:
    facts = public(stored=stored)
    assert facts.dist_tags == {"latest": "2.0.0", "next": "2.1.0-beta.1"}
    cut = facts_as_of(facts, when("2021-01-01T00:00:00"))
    assert isinstance(cut.versions, VersionList) is stored
    assert [v.version for v in cut.versions or ()] == ["1.0.0", "1.1.0"]
    assert cut.dist_tags == {"latest": "1.1.0"}  # "next" pointed at a later version
    assert cut.as_of == when("2021-01-01T00:00:00")
    assert cut.version_present is True and cut.status is FactsStatus.KNOWN
    assert cut.created == facts.created and cut.modified is None
    # the maintainers of the newest version published by then, not today's
    assert cut.maintainers == ("alice", "bob")
    # deprecation is not dated by the registry: unknown, not "not deprecated"
    assert cut.package_deprecated is None
    assert all(v.deprecated is None for v in cut.versions or ())
    assert cut.manifest is not None and cut.manifest.deprecated is None
    assert cut.manifest.scripts == (facts.manifest.scripts if facts.manifest else None)
    assert cut.tarball == facts.tarball  # fixed at publish
    assert facts.versions is not None and len(facts.versions) == 4  # the input is unchanged


def test_tuple_and_stored_cuts_agree() -> None:
    for moment in ("2019-03-01T10:00:00", "2020-06-01T12:00:00", "2024-05-01T09:00:00"):
        a = facts_as_of(public("1.0.0"), when(moment))
        b = facts_as_of(public("1.0.0", stored=True), when(moment))
        assert tuple(a.versions or ()) == tuple(b.versions or ())
        assert (a.dist_tags, a.maintainers, a.version_present) == (
            b.dist_tags,
            b.maintainers,
            b.version_present,
        )


def test_a_version_published_after_the_moment_is_unknown_not_missing() -> None:
    cut = facts_as_of(public("2.0.0"), when("2021-01-01T00:00:00"))
    assert cut.status is FactsStatus.UNKNOWN and cut.versions is None
    assert cut.error is not None
    assert "demo-cli@2.0.0 was published 2024-05-01T08:00Z" in cut.error
    assert "after the --as-of moment 2021-01-01T00:00Z" in cut.error
    young = facts_as_of(public("1.0.0"), when("2019-01-01T00:00:00"))
    assert young.status is FactsStatus.UNKNOWN and "was created 2019-03-01" in (young.error or "")


def test_unpublished_only_once_it_happened() -> None:
    facts = public("1.0.0")
    gone = PackageFacts(
        facts.name,
        facts.version,
        facts.status,
        versions=facts.versions,
        created=facts.created,
        unpublished=when("2022-01-01T00:00:00"),
    )
    assert facts_as_of(gone, when("2021-01-01T00:00:00")).unpublished is None
    later = facts_as_of(gone, when("2023-01-01T00:00:00")).unpublished
    assert later == when("2022-01-01T00:00:00")


def test_undated_versions_are_kept_up_to_the_locked_one() -> None:
    """A mirror's stripped document: no version can be dated."""
    doc = json.loads((FIXTURES / "mirror-stripped.json").read_text())
    got = extract_package("demo-cli", doc, ["1.0.0"])
    facts = PackageFacts(
        "demo-cli",
        "1.0.0",
        FactsStatus.KNOWN,
        versions=got.picture.versions,
        dist_tags=got.picture.dist_tags,
        manifest=got.manifests["1.0.0"],
    )
    cut = facts_as_of(facts, when("2020-01-01T00:00:00"))
    assert [v.version for v in cut.versions or ()] == ["1.0.0"]
    assert cut.dist_tags == {"latest": "1.0.0"} and cut.version_present is True


def test_unknown_facts_pass_through() -> None:
    unknown = PackageFacts("x", "1.0.0", FactsStatus.UNKNOWN, error="offline")
    cut = facts_as_of(unknown, when("2020-01-01T00:00:00"))
    assert (cut.status, cut.error, cut.as_of) == (
        FactsStatus.UNKNOWN,
        "offline",
        when("2020-01-01T00:00:00"),
    )


def test_as_of_provider_cuts_everything_it_hands_out() -> None:
    class Inner:
        serves = frozenset({Need.PACKUMENT})
        closed = False

        def gather(self, packages: object, needs: frozenset[Need]) -> Facts:
            both = {"demo-cli@1.0.0": public("1.0.0"), "demo-cli@2.0.0": public("2.0.0")}
            return Facts(packages=both)

        def close(self) -> None:
            self.closed = True

    inner = Inner()
    provider = AsOfProvider(inner, when("2021-01-01T00:00:00"))
    assert provider.serves == inner.serves
    got = provider.gather([], frozenset({Need.PACKUMENT})).packages
    assert got["demo-cli@1.0.0"].dist_tags == {"latest": "1.1.0"}
    assert got["demo-cli@2.0.0"].status is FactsStatus.UNKNOWN
    provider.close()
    assert inner.closed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-11-04", datetime(2021, 11, 4, 23, 59, 59, tzinfo=UTC)),
        ("2021-11-04T15:00Z", datetime(2021, 11, 4, 15, tzinfo=UTC)),
        ("2021-11-04T15:00:30", datetime(2021, 11, 4, 15, 0, 30, tzinfo=UTC)),
        ("2021-11-04 16:00+01:00", datetime(2021, 11, 4, 15, tzinfo=UTC)),
    ],
)
def test_parse_as_of(text: str, expected: datetime) -> None:
    assert parse_as_of(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "is not a date (YYYY-MM-DD) or an ISO 8601 date and time"),
        ("2021-13-01", "is not a date"),
        ("2999-01-01", "is in the future; leave --as-of out to judge as of now"),
    ],
)
def test_parse_as_of_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_as_of(text)
    now = datetime.now(UTC)
    assert parse_as_of(now.date().isoformat(), now=now + timedelta(days=1)) is not None


def test_manifest_without_deprecation_is_unchanged() -> None:
    facts = public("1.1.0")
    assert facts.manifest is not None
    plain = ManifestFacts(scripts=dict(facts.manifest.scripts))
    facts = PackageFacts(
        facts.name, facts.version, facts.status, versions=facts.versions, manifest=plain
    )
    assert facts_as_of(facts, when("2021-01-01T00:00:00")).manifest == plain
