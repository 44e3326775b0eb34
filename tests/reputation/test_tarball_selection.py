"""Which tarballs a check downloads: only those whose content can change a verdict."""

from __future__ import annotations

from providers import shipped_names

from npmguard.facts import ManifestFacts
from npmguard.model import LockedPackage, Occurrence, SourceKind
from npmguard.reputation.source import content_matters as _content_matters


def content_matters(pkg: LockedPackage, manifest: ManifestFacts) -> bool:
    return _content_matters(pkg, manifest, shipped_names())


def _pkg(name: str, *, script: bool = False) -> LockedPackage:
    occ = Occurrence(path=f"node_modules/{name}", installed_as=name, resolved=None, integrity=None)
    return LockedPackage(
        name=name, version="1.0.0", source=SourceKind.REGISTRY, occurrences=(occ,),
        has_install_script=script,
    )  # fmt: skip


def test_established_package_without_scripts_is_not_downloaded() -> None:
    assert not content_matters(_pkg("react"), ManifestFacts())


def test_established_package_with_install_script_is_downloaded() -> None:
    assert content_matters(_pkg("esbuild", script=True), ManifestFacts())
    assert content_matters(_pkg("react"), ManifestFacts(scripts={"postinstall": "node x.js"}))
    assert content_matters(_pkg("react"), ManifestFacts(gyp_file=True))


def test_established_package_that_bundles_dependencies_is_downloaded() -> None:
    # npm runs the bundled copies' install scripts; only the tarball holds them
    assert content_matters(_pkg("react"), ManifestFacts(bundle_dependencies=("a",)))
    assert content_matters(_pkg("react"), ManifestFacts(bundle_dependencies=True))


def test_unknown_or_small_package_is_downloaded() -> None:
    assert content_matters(_pkg("budi-rendang23-kyuki"), ManifestFacts())


def test_without_the_name_data_every_package_counts_as_unknown() -> None:
    """No popularity data: an established name is not known to be established."""
    assert _content_matters(_pkg("react"), ManifestFacts(), None)
