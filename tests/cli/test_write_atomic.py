"""``npmguard.fsutil.write_atomic`` and ``check -o``: atomic for files, safe for the rest."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from npmguard.cli import main
from npmguard.fsutil import write_atomic

LOCK = {
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "app", "version": "1.0.0", "dependencies": {"a": "1.0.0"}},
        "node_modules/a": {
            "version": "1.0.0",
            "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz",
            "integrity": "sha512-" + "A" * 86 + "==",
        },
    },
}


def test_replaces_an_existing_file_keeping_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("OLD")
    target.chmod(0o600)
    inode = target.stat().st_ino
    write_atomic(target, "NEW")
    assert target.read_text() == "NEW"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != inode  # renamed over, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("OLD")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "NEW")
    assert link.is_symlink() and real.read_text() == "NEW"


def test_writes_through_a_fifo_instead_of_replacing_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, "DATA")
    reader.join(5)
    assert got == [b"DATA"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO (like /dev/stdout, /dev/null)


def test_check_output_dash_is_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "package-lock.json").write_text(json.dumps(LOCK))
    assert main(["check", "--lockfile-only", "--format", "json", "-o", "-", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["packages"] == 1
    assert not (tmp_path / "-").exists()


def test_check_output_replaces_existing_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "package-lock.json").write_text(json.dumps(LOCK))
    out = tmp_path / "npmguard.json"
    out.write_text("OLD REPORT")
    assert main(["check", "--lockfile-only", "--format", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["summary"]["packages"] == 1
    assert capsys.readouterr().out == ""
    assert not list(tmp_path.glob("*.npmguard-tmp"))


def test_package_data_reads_what_the_resource_loader_reads() -> None:
    """Shipped data files are read as plain files (no ``importlib.resources`` import on a
    run), the same bytes the resource loader gives; a missing one is an OSError."""
    from importlib import resources

    from npmguard.fsutil import package_data

    for relative in (
        "policies/default.toml",
        "data/names/foods.txt",
        "data/selftest/package-lock.json",
    ):
        expected = resources.files("npmguard").joinpath(relative).read_bytes()
        assert package_data(relative) == expected
    with pytest.raises(OSError):
        package_data("policies/no-such-preset.toml")
