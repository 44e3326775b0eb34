"""What the wrapper shows before it decides, without npm: the change line, the packages it
shows in full, the one-line rest (the prompt itself: test_wrapper_prompt.py, on a pty)."""

from __future__ import annotations

from pathlib import Path

import pytest

from npmguard.model import (
    Finding,
    Gap,
    Level,
    LockedPackage,
    Lockfile,
    Occurrence,
    PackageVerdict,
    Report,
    SourceKind,
    Verdict,
)
from npmguard.wrapper.present import changes_between, show


def pkg(name: str, version: str, dependents: tuple[str, ...] = ()) -> LockedPackage:
    occ = Occurrence(f"node_modules/{name}", name, None, None, line=3)
    return LockedPackage(name, version, SourceKind.REGISTRY, (occ,), dependents=dependents)


def lock(*packages: LockedPackage) -> Lockfile:
    return Lockfile(Path("package-lock.json"), "npm-v3", 3, packages)


def test_changes_name_added_changed_removed_and_direct() -> None:
    old = lock(pkg("ms", "2.1.2"), pkg("left-pad", "1.3.0"), pkg("keep", "1.0.0"))
    new = lock(
        pkg("ms", "2.1.3"),
        pkg("keep", "1.0.0"),
        pkg("loadsh", "1.0.0"),
        pkg("dep-of-loadsh", "2.0.0", dependents=("loadsh@1.0.0",)),
    )
    changes = changes_between(new, old)
    assert changes.added == ("dep-of-loadsh@2.0.0", "loadsh@1.0.0")
    assert changes.changed == (("ms@2.1.2", "ms@2.1.3"),)
    assert changes.removed == ("left-pad@1.3.0",)
    assert changes.direct == frozenset({"loadsh"})
    assert changes.new_keys == {"dep-of-loadsh@2.0.0", "loadsh@1.0.0", "ms@2.1.3"}
    assert changes.describe() == (
        # what the command asked for first (esbuild's 8 platform packages hid esbuild itself)
        "this command adds loadsh@1.0.0, dep-of-loadsh@2.0.0; changes ms@2.1.2 -> 2.1.3; "
        "removes left-pad@1.3.0"
    )
    assert changes_between(old, old).describe() == "this command changes no package"
    everything = changes_between(new, None)
    assert set(everything.added) == {p.key for p in new.packages}


def _report(*verdicts: PackageVerdict, gaps: tuple[Gap, ...] = ()) -> Report:
    packages = tuple(v.package for v in verdicts)
    findings = tuple(f for v in verdicts for f in v.findings)
    top = max((v.verdict for v in verdicts), key=lambda v: v.rank, default=Verdict.OK)
    return Report((lock(*packages),), verdicts, findings, top, coverage=gaps)


def _note(p: LockedPackage, rule: str, level: Level) -> Finding:
    return Finding(rule, p.name, p.version, f"{rule} saw something", level=level)


def test_new_packages_in_full_the_rest_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    new = pkg("loadsh", "1.0.0")
    old = [pkg(f"old-{i}", "1.0.0") for i in range(5)]
    verdicts = [PackageVerdict(new, Verdict.WARN, (_note(new, "typosquat", Level.WARN),))]
    verdicts += [PackageVerdict(p, Verdict.OK, (_note(p, "deprecated", Level.INFO),)) for p in old]
    gap = Gap(("known-malicious",), "no known-bad feed imported: run `npmguard db update`", 6)
    report = _report(*verdicts, gaps=(gap,))
    show(report, changes_between(report.lockfiles[0], lock(*old)), color=False)
    err = capsys.readouterr().err
    assert err.startswith("npmguard: this command adds loadsh@1.0.0\nnpmguard: package-lock")
    assert "WARNINGS (1)" in err and "typosquat" in err and "old-" not in err
    assert "npmguard: the other 5 packages of the tree: ok (5 with notes: `npmguard check`" in err
    assert err.endswith(
        "npmguard: not checked for 6 packages: no known-bad feed imported: run `npmguard db "
        "update` (known-malicious)\n"
    )


def test_a_clean_tree_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(*(PackageVerdict(pkg(f"p{i}", "1.0.0"), Verdict.OK, ()) for i in range(3)))
    show(report, None, color=False)
    assert capsys.readouterr().err == "npmguard: checked 3 packages: ok\n"
