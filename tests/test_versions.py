"""The store's lazy VersionList: same answers as a plain tuple, for every history question."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from npmguard.facts import PackageFacts, VersionInfo
from npmguard.reputation import codec
from npmguard.reputation.picture import PackagePicture
from npmguard.rules import handover, history
from npmguard.versions import REF_BASE, VersionList, ref_at

START = datetime(2020, 1, 1, tzinfo=timezone.utc)
POOL = [
    "0.0.1",
    "0.1.0",
    "1.0.0",
    "1.0.0+build.1",  # same precedence as 1.0.0
    "1.0.1",
    "1.1.0-beta.1",
    "1.1.0-beta.10",
    "1.1.0-beta.2",
    "1.1.0",
    "1.2.9",
    "2.0.0-rc.1",
    "2.0.0",
    "2.0.1",
    "v2.1.0",
    "not-a-version",
    "01.2.3",  # invalid: leading zero
    "3.0.0",
    "10.0.0",
]


def _picture(infos: tuple[VersionInfo, ...]) -> PackagePicture:
    return PackagePicture(
        "demo", infos, {"latest": infos[-1].version}, None, None, None, None, None, True
    )


def _random_infos(rng: random.Random, timed: str) -> tuple[VersionInfo, ...]:
    names = rng.sample(POOL, rng.randint(1, len(POOL)))
    out = []
    for name in names:
        when = None
        if timed == "all" or (timed == "some" and rng.random() < 0.7):
            when = START + timedelta(days=rng.randint(0, 40), milliseconds=rng.randint(0, 999))
        out.append(
            VersionInfo(
                name,
                when,
                rng.choice([None, "alice", "bob"]),
                rng.choice([None, True, False]),
                rng.choice([None, True, False]),
                rng.choice([None, "old"]),
                rng.choice([None, (), ("cli",)]),
                rng.choice([None, (), ("a", "b")]),
                rng.choice([None, ("alice",), ("alice", "bob")]),
            )
        )
    return tuple(out)


def _both(infos: tuple[VersionInfo, ...], locked: str) -> tuple[PackageFacts, PackageFacts]:
    stored = codec.decode_picture("demo", codec.encode_picture(_picture(infos)))
    assert isinstance(stored.versions, VersionList)
    plain = PackageFacts("demo", locked, versions=infos)
    lazy = PackageFacts("demo", locked, versions=stored.versions)
    return plain, lazy


@pytest.mark.parametrize("timed", ["none", "some", "all"])
def test_history_answers_match_the_plain_tuple(timed: str) -> None:
    rng = random.Random(f"versions-{timed}")
    for _ in range(300):
        infos = _random_infos(rng, timed)
        for locked in {rng.choice(infos).version, rng.choice(POOL)}:
            plain, lazy = _both(infos, locked)
            assert lazy.version_info() == plain.version_info()
            assert history.previous_version(lazy) == history.previous_version(plain)
            assert history.last_release_before(lazy) == history.last_release_before(plain)
            assert history.earlier_versions(lazy) == history.earlier_versions(plain)
            assert history.has_publish_times(lazy) == history.has_publish_times(plain)
            earlier = history.earlier_versions(plain)
            assert history.earlier_publishers(lazy) == sorted(
                {v.publisher for v in earlier if v.publisher}
            )
            assert history.earlier_maintainers(lazy) == sorted(
                {m for v in earlier for m in v.maintainers or ()}
            )
            assert history.earlier_publishers(plain) == history.earlier_publishers(lazy)
            assert handover.provenance_lost(lazy) == handover.provenance_lost(plain)
            assert handover.publisher_history(lazy) == handover.publisher_history(plain)
            assert history.earlier_maintainers(plain) == history.earlier_maintainers(lazy)
            assert handover.published(lazy) == handover.published(plain)
            assert handover.has_provenance(lazy) == handover.has_provenance(plain)
            assert handover.publisher_of(lazy) == handover.publisher_of(plain)
            listed = lazy.versions
            assert isinstance(listed, VersionList)
            for i, info in enumerate(infos):  # the column answers are the objects' fields
                assert listed.publisher_at(i) == info.publisher
                assert listed.provenance_at(i) == info.has_provenance
                assert listed.published_at(i) == info.published
                assert listed.deprecation_at(i) == info.deprecated


def test_version_list_is_a_sequence_equal_to_its_tuple() -> None:
    infos = _random_infos(random.Random(7), "some")
    _, lazy = _both(infos, infos[0].version)
    listed = lazy.versions
    assert isinstance(listed, VersionList)
    assert len(listed) == len(infos) and bool(listed)
    assert listed == infos and infos == listed and tuple(listed) == infos
    assert listed[0] == infos[0] and listed[-1] == infos[-1] and listed[1:3] == infos[1:3]
    assert infos[0] in listed and VersionInfo("99.0.0") not in listed
    assert listed.find("nope") is None
    with pytest.raises(IndexError):
        listed[len(infos)]
    assert hash(listed) == hash(infos)


def test_times_decode_to_the_same_instants() -> None:
    when = datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=timezone.utc)
    infos = (VersionInfo("1.0.0", when), VersionInfo("1.0.1", None), VersionInfo("1.0.2", when))
    stored = codec.decode_picture("demo", codec.encode_picture(_picture(infos)))
    assert [v.published for v in stored.versions] == [when, None, when]


def test_reference_columns_skip_surrogates() -> None:
    refs = [-1, 0, 1, 0xD800 - REF_BASE - 1, 0xD800 - REF_BASE, 70_000]
    column = codec.encode_refs(refs)
    column.encode("utf-8")  # no lone surrogates
    assert [ref_at(column, i) for i in range(len(refs))] == refs


def test_many_publishers_round_trip() -> None:
    infos = tuple(VersionInfo(f"1.0.{i}", publisher=f"user{i}") for i in range(3000))
    stored = codec.decode_picture("demo", codec.encode_picture(_picture(infos)))
    assert stored.versions == infos


def test_known_details_come_from_the_columns_and_agree_with_the_objects() -> None:
    from npmguard.facts import Detail

    when = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for infos in (
        (VersionInfo("1.0.0"), VersionInfo("1.1.0")),
        (VersionInfo("1.0.0", published=when), VersionInfo("1.1.0", publisher="alice")),
        (VersionInfo("1.0.0", has_provenance=False),),
    ):
        picture = PackagePicture("p", infos, {}, None, None, None, None, None, True)
        stored = codec.decode_picture("p", codec.encode_picture(picture)).versions
        assert isinstance(stored, VersionList)
        for detail in Detail:
            plain = detail.given_by(PackageFacts("p", "1.0.0", versions=infos))
            assert detail.given_by(PackageFacts("p", "1.0.0", versions=stored)) is plain


def test_select_keeps_the_chosen_versions_and_their_answers() -> None:
    rng = random.Random("select")
    for _ in range(200):
        infos = _random_infos(rng, rng.choice(["none", "some", "all"]))
        _, lazy = _both(infos, infos[0].version)
        listed = lazy.versions
        assert isinstance(listed, VersionList)
        keep = sorted(rng.sample(range(len(infos)), rng.randint(0, len(infos))))
        cut = listed.select(keep)
        assert cut == tuple(infos[i] for i in keep)
        blank = listed.select(keep, blank_deprecation=True)
        assert [v.deprecated for v in blank] == [None] * len(keep)
        assert [v.maintainers for v in blank] == [infos[i].maintainers for i in keep]
        locked = rng.choice(infos).version
        plain = PackageFacts("demo", locked, versions=tuple(cut))
        lazy_cut = PackageFacts("demo", locked, versions=cut)
        assert history.previous_version(lazy_cut) == history.previous_version(plain)
        assert history.earlier_versions(lazy_cut) == history.earlier_versions(plain)


def test_publisher_times() -> None:
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    infos = (
        VersionInfo("1.0.0", when, "alice"),
        VersionInfo("1.0.1", None, "alice"),
        VersionInfo("1.0.2", when + timedelta(days=1), "bob"),
        VersionInfo("1.0.3", when + timedelta(days=2), "alice"),
    )
    listed = codec.decode_picture("demo", codec.encode_picture(_picture(infos))).versions
    assert isinstance(listed, VersionList)
    ms = round(when.timestamp() * 1000)
    assert listed.publisher_times("alice") == [ms, ms + 2 * 86_400_000]
    assert listed.publisher_times("nobody") == []


def _window_from_objects(infos: Sequence[VersionInfo], window: timedelta, pre: bool) -> int:
    """version-flood's count as the rule computes it on ``VersionInfo`` objects."""
    timed = sorted(
        (
            v
            for v in infos
            if v.published is not None and (pre or not history.is_prerelease(v.version))
        ),
        key=lambda v: v.published,  # type: ignore[arg-type, return-value]
    )
    best = start = 0
    for end, info in enumerate(timed):
        while info.published - timed[start].published > window:  # type: ignore[operator]
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("pre", [False, True])
def test_version_flood_window_from_the_columns_matches_the_objects(pre: bool) -> None:
    from npmguard.rules.spam_content import _largest_window

    rng = random.Random(f"flood-{pre}")
    for _ in range(300):
        infos = []
        at = START
        for i in range(rng.randint(1, 60)):
            # steps of exactly the window, just under and just over it, and bursts
            at += rng.choice(
                [
                    timedelta(hours=24),
                    timedelta(hours=24, milliseconds=1),
                    timedelta(0),
                    timedelta(hours=23, minutes=59, seconds=59, milliseconds=999),
                    timedelta(minutes=rng.randint(0, 90)),
                ]
            )
            name = f"1.{i}.0" + ("-rc.1" if rng.random() < 0.2 else "")
            infos.append(VersionInfo(name, at if rng.random() < 0.9 else None))
        rng.shuffle(infos)
        stored = codec.decode_picture("demo", codec.encode_picture(_picture(tuple(infos))))
        assert isinstance(stored.versions, VersionList)
        for window in (timedelta(hours=24), timedelta(hours=0.5), timedelta(0)):
            assert _largest_window(stored.versions, window, pre) == _window_from_objects(
                infos, window, pre
            )


def test_version_flood_window_leaves_far_times_to_the_objects() -> None:
    from npmguard.rules.spam_content import _largest_window

    far = datetime(2300, 1, 1, tzinfo=timezone.utc)
    infos = (VersionInfo("1.0.0", START), VersionInfo("2.0.0", far))
    stored = codec.decode_picture("demo", codec.encode_picture(_picture(infos)))
    assert isinstance(stored.versions, VersionList)
    assert _largest_window(stored.versions, timedelta(hours=24), False) is None
