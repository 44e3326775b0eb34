"""Who published a release: the publisher kinds real histories need, the combinations the
additions rules make of them, and what each takeover rule says when it cannot judge."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from rule_facts import FIXTURES, check, context, for_facts, run_engine, tree

from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import Level
from npmguard.reputation.extract import extract_package
from npmguard.rules.additions import NewBin, NewDependency, NewInstallScript
from npmguard.rules.handover import PublisherKind, publisher_history, repository_key

T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)


def release(
    name: str = "lib",
    *,
    publishers: tuple[str, ...] = ("alice", "alice", "bob"),
    maintainers: tuple[tuple[str, ...] | None, ...] | None = None,
    days: tuple[int, ...] = (0, 30, 60),
    repository: str | None = None,
    **last: object,
) -> PackageFacts:
    """A package whose last version (published by the last of ``publishers``) is locked."""
    people = maintainers or tuple(None for _ in publishers)
    infos = [
        VersionInfo(
            f"1.{i}.0",
            published=T0 + timedelta(days=d),
            publisher=p,
            maintainers=m,
            has_install_script=False,
            bin_names=(),
            dependency_names=(),
        )
        for i, (p, m, d) in enumerate(zip(publishers, people, days, strict=True))
    ]
    return PackageFacts(
        name,
        infos[-1].version,
        FactsStatus.KNOWN,
        versions=tuple(infos),
        created=T0,
        manifest=ManifestFacts(repository=repository, **last),  # type: ignore[arg-type]
    )


def kind(facts: PackageFacts, *others: PackageFacts) -> PublisherKind:
    return publisher_history(facts, {o.key: o for o in (facts, *others)}).kind


def test_publisher_kinds() -> None:
    assert kind(release(publishers=("alice", "bob", "alice"))) is PublisherKind.SAME
    listed = release(maintainers=(("alice",), ("alice", "bob"), ("alice", "bob")))
    assert kind(listed) is PublisherKind.MAINTAINER
    # bob is listed only on the version he published himself: that is not "earlier"
    own_only = release(maintainers=(("alice",), ("alice",), ("alice", "bob")))
    assert kind(own_only) is PublisherKind.NEW_HAND
    assert kind(release(publishers=(None, None, "bob"))) is PublisherKind.UNKNOWN  # type: ignore[arg-type]
    assert kind(release(publishers=("bob",), days=(0,))) is PublisherKind.UNKNOWN  # first release


def test_team_by_scope_or_repository_published_before_the_release() -> None:
    core = release("@acme/core")
    sibling = release("@acme/util", publishers=("bob",), days=(10,))
    assert kind(core, sibling) is PublisherKind.TEAM
    later = release("@acme/util", publishers=("bob",), days=(90,))  # after the release
    assert kind(core, later) is PublisherKind.NEW_HAND
    stranger = release("other", publishers=("bob",), days=(10,))  # not the project's
    assert kind(core, stranger) is PublisherKind.NEW_HAND
    repo = "git+https://github.com/acme/mono.git"
    plain = release("acme-core", repository=repo)
    same_repo = release("acme-util", publishers=("bob",), days=(10,), repository="acme/mono")
    assert kind(plain, same_repo) is PublisherKind.TEAM
    history = publisher_history(plain, {same_repo.key: same_repo})
    assert history.sibling == "acme-util"
    assert history.first_seen == T0 + timedelta(days=10)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("git+https://github.com/Babel/babel.git", "github.com/babel/babel"),
        ("git+ssh://git@github.com/x/y.git", "github.com/x/y"),
        ("git@gitlab.com:x/y.git", "gitlab.com/x/y"),
        ("github:x/y", "github.com/x/y"),
        ("x/y", "github.com/x/y"),
        ("https://github.com/babel/babel/tree/main/packages/core", "github.com/babel/babel"),
        ("https://example.com", None),
        (None, None),
    ],
)
def test_repository_key(url: str | None, key: str | None) -> None:
    assert repository_key(url) == key


# --- combinations -----------------------------------------------------------------------------


def test_new_install_script_levels() -> None:
    def facts(publisher: str, gap: int, lost: bool) -> PackageFacts:
        base = release(publishers=("alice", "alice", publisher), days=(0, 30, 30 + gap))
        infos = list(base.versions or ())
        if lost:  # 1.1.0 came from CI with provenance, 1.2.0 without
            infos[1] = VersionInfo(**{**_fields(infos[1]), "has_provenance": True})
        infos[2] = VersionInfo(
            **{
                **_fields(infos[2]),
                "has_install_script": True,
                "has_provenance": False if lost else None,
            }
        )
        return PackageFacts(base.name, base.version, base.status, versions=tuple(infos), created=T0)

    def level(f: PackageFacts) -> Level:
        when = f.version_info().published  # type: ignore[union-attr]
        (found,) = check(NewInstallScript, f, now=when + timedelta(days=1))  # type: ignore[operator]
        return found.level

    assert level(facts("alice", 30, lost=False)) is Level.INFO  # alone
    assert level(facts("mallory", 30, lost=False)) is Level.WARN  # a new hand
    assert level(facts("alice", 400, lost=False)) is Level.WARN  # a wake-up
    assert level(facts("alice", 30, lost=True)) is Level.BLOCK  # provenance lost


def _fields(info: VersionInfo) -> dict[str, object]:
    return {name: getattr(info, name) for name in VersionInfo.__slots__}


def test_new_bin_levels() -> None:
    def bins(publisher: str, names: tuple[str, ...]) -> PackageFacts:
        base = release(publishers=("alice", "alice", publisher))
        return PackageFacts(
            base.name,
            base.version,
            base.status,
            versions=base.versions,
            manifest=ManifestFacts(bin={n: "cli.js" for n in names}),
        )

    def level(f: PackageFacts) -> Level:
        (found,) = check(NewBin, f)
        return found.level

    assert level(bins("alice", ("lib",))) is Level.INFO
    assert level(bins("alice", ("git",))) is Level.WARN  # shadows a command
    assert level(bins("mallory", ("lib",))) is Level.WARN  # a new hand
    assert level(bins("mallory", ("git",))) is Level.BLOCK  # both


def test_brand_new_dependency_with_an_install_script_warns_alone() -> None:
    main = release(dependencies={"fresh": "^1.0.0"})
    dep = PackageFacts(
        "fresh",
        "1.0.0",
        FactsStatus.KNOWN,
        versions=(VersionInfo("1.0.0", published=T0 + timedelta(days=59)),),
        created=T0 + timedelta(days=59),
        manifest=ManifestFacts(scripts={"postinstall": "node setup.js"}),
    )
    main = PackageFacts(
        main.name,
        main.version,
        main.status,
        versions=tuple(
            VersionInfo(**{**_fields(v), "publisher": "alice"}) for v in main.versions or ()
        ),
        manifest=main.manifest,
    )
    lockfile = tree(for_facts(main, requires=[dep.key]), for_facts(dep, dependents=[main.key]))
    now = T0 + timedelta(days=61)
    (found,) = NewDependency().check(context(lockfile, {main.key: main, dep.key: dep}, now=now))
    assert found.level is Level.WARN
    assert "running an install script: fresh" in found.message


# --- could not judge --------------------------------------------------------------------------


def test_mirror_document_reports_what_could_not_be_judged() -> None:
    """The mirror reachable here serves no publishers, no real times, no provenance: the
    takeover rules that need them stay quiet, and the report's coverage says so."""
    doc = json.loads((FIXTURES.parent / "reputation" / "mirror-stripped.json").read_text())
    name = doc["name"]
    version = sorted(doc["versions"])[-1]
    got = extract_package(name, doc, [version])
    facts = PackageFacts(
        name,
        version,
        FactsStatus.KNOWN,
        versions=got.picture.versions,
        manifest=got.manifests.get(version),
    )
    ids = ("dormant-wake", "publisher-change", "provenance-lost", "too-new", "new-install-script")
    report, _ = run_engine(tree(for_facts(facts)), {facts.key: facts}, ids)
    # what the mirror does carry is judged: 2.0.0 adds an install script (alone: info)
    assert [(f.rule, f.level) for f in report.findings] == [("new-install-script", Level.INFO)]
    gaps = {gap.reason: set(gap.rules) for gap in report.coverage}
    assert gaps == {
        "the registry gives no trustworthy publish times": {"dormant-wake", "too-new"},
        "the registry gives no publishers": {"publisher-change"},
        "the registry gives no provenance": {"provenance-lost"},
    }
