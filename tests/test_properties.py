"""Property tests over hostile inputs (issue 13): lockfiles, policies, ``.npmrc`` files and
package documents from :mod:`fuzzing`'s strategies. No input may end in exit 4 or run over
10 s; ``ls`` and ``check`` read every lockfile alike; secrets never reach an output.

A few dozen examples per property keep the suite fast (``NPMGUARD_FUZZ_EXAMPLES`` raises
the count); ``scripts/fuzz.py`` runs the same properties over 10,000 inputs and more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeregistry import FakeRegistry
from fuzzing import (
    check_lockfile,
    check_npmrc,
    check_packument,
    check_policy,
    check_secrets,
    fresh_folders,
    lockfiles,
    npmrcs,
    packuments,
    policies,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("NPMGUARD_FUZZ_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the properties bound time themselves, generously (a shared machine)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the suite is reproducible; scripts/fuzz.py explores
    database=None,
)
SMALL_LOCK = (
    b'{"name": "app", "lockfileVersion": 3, "packages": {"": {}, "node_modules/left-pad": '
    b'{"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0'
    b'.tgz", "integrity": "sha512-' + b"A" * 86 + b'=="}}}'
)


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names_cache: None) -> Iterator[Path]:
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(tmp_path / "no-user-npmrc"))
    monkeypatch.delenv("npm_config_registry", raising=False)
    monkeypatch.chdir(tmp_path)
    return fresh_folders(tmp_path / "examples")


@SETTINGS
@given(data=lockfiles())
def test_lockfiles_ls_and_check_agree_and_never_crash(folders: Iterator[Path], data: bytes) -> None:
    check_lockfile(next(folders), data)


@SETTINGS
@given(data=lockfiles(secret=True))
def test_secrets_in_lockfile_urls_never_reach_an_output(
    folders: Iterator[Path], data: bytes
) -> None:
    check_secrets(next(folders), data)


@SETTINGS
@given(data=policies())
def test_policies_never_crash_validate_or_check(folders: Iterator[Path], data: bytes) -> None:
    folder = next(folders)
    (folder / "package-lock.json").write_bytes(SMALL_LOCK)
    check_policy(folder, data, folder / "package-lock.json")


@SETTINGS
@given(data=npmrcs(), lock=st.sampled_from([SMALL_LOCK]) | lockfiles())
def test_npmrc_files_never_crash_a_check(folders: Iterator[Path], data: bytes, lock: bytes) -> None:
    check_npmrc(next(folders), data, lock)


@pytest.fixture(scope="module")
def _registry() -> Iterator[FakeRegistry]:
    registry = FakeRegistry()
    registry.start()
    yield registry
    registry.stop()


@settings(SETTINGS, max_examples=max(1, EXAMPLES // 2))
@given(doc=packuments())
def test_package_documents_are_judged_or_refused_never_a_crash(
    folders: Iterator[Path], _registry: FakeRegistry, doc: tuple[bytes, str]
) -> None:
    check_packument(next(folders), _registry, *doc)
