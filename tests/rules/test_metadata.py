"""deprecated: the registry's deprecation message, as info."""

from __future__ import annotations

from rule_facts import check, for_facts, run_engine, tree

from npmguard.facts import ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import Level, Verdict
from npmguard.rules.metadata import Deprecated

MESSAGE = "request has been deprecated, see https://github.com/request/request/issues/3142"


def test_deprecated_message_is_the_evidence() -> None:
    facts = PackageFacts(
        name="request",
        version="2.88.2",
        versions=(
            VersionInfo("2.88.0"),
            VersionInfo("2.88.2", deprecated=MESSAGE),
        ),
        manifest=ManifestFacts(deprecated=MESSAGE),
    )
    found = check(Deprecated, facts)
    assert len(found) == 1
    f = found[0]
    assert f.level == Level.INFO
    assert f.evidence[0].value == MESSAGE and f.evidence[0].source == "registry"
    assert MESSAGE in f.message
    assert "request@2.88.0 is not deprecated" in f.hint


def test_deprecation_from_the_version_list_and_no_alternative() -> None:
    facts = PackageFacts(
        name="old", version="1.0.0", versions=(VersionInfo("1.0.0", deprecated="use new"),)
    )
    found = check(Deprecated, facts)
    assert found[0].message == "deprecated: use new"
    assert "follow the deprecation message" in found[0].hint


def test_not_deprecated_or_unknown() -> None:
    assert check(Deprecated, PackageFacts(name="x", version="1.0.0")) == []
    fine = PackageFacts(name="x", version="1.0.0", manifest=ManifestFacts(deprecated=None))
    assert check(Deprecated, fine) == []


def test_deprecated_never_changes_the_verdict() -> None:
    facts = PackageFacts(name="old", version="1.0.0", manifest=ManifestFacts(deprecated="gone"))
    report, _ = run_engine(tree(for_facts(facts)), {facts.key: facts}, ("deprecated",))
    assert report.verdict is Verdict.OK and len(report.findings) == 1
