"""Shared bits for the feed tests: fixture paths, archive builders, hand-built lockfiles."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

from npmguard.model import LockedPackage, Lockfile, Occurrence, SourceKind

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
EVIL_TARBALL = b"evil tarball bytes for npmguard tests"
EVIL_SRI = "sha512-" + base64.b64encode(hashlib.sha512(EVIL_TARBALL).digest()).decode()
EVIL_SHA1_HEX = hashlib.sha1(EVIL_TARBALL).hexdigest()
# the real @ctrl/plex 6.0.0 tarball hashes from the withdrawn sample record
PLEX_SRI = (
    "sha512-jePuUoidz7OHUOAYSnLBrBNWISj2+dy6t7oIRCVGZbj/"
    "rFOgFpic1Nwuks2IPoZ0J6J7kTKR0+yXyRzBLkafuw=="
)


def zip_tree(root: Path, dest: Path, *, flat: bool = False, prefix: str = "") -> Path:
    """Zip every .json under ``root``: flat (as osv.dev exports) or with paths (as GitHub does)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*.json")):
            name = path.name if flat else prefix + path.relative_to(root).as_posix()
            zf.write(path, name)
    return dest


def tar_tree(root: Path, dest: Path, prefix: str) -> Path:
    with tarfile.open(dest, "w:gz") as tf:
        for path in sorted(root.rglob("*.json")):
            data = path.read_bytes()
            info = tarfile.TarInfo(prefix + path.relative_to(root).as_posix())
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return dest


def pkg(name: str, version: str, integrity: str | None = None) -> LockedPackage:
    occ = Occurrence(
        path=f"node_modules/{name}",
        installed_as=name,
        resolved=f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz",
        integrity=integrity,
        line=10,
    )
    return LockedPackage(name=name, version=version, source=SourceKind.REGISTRY, occurrences=(occ,))


def lockfile(*packages: LockedPackage) -> Lockfile:
    return Lockfile(
        path=Path("package-lock.json"), format="npm-v3", lockfile_version=3, packages=packages
    )
