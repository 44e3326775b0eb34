"""Reading lockfiles into ``Lockfile`` values: one module per format.

``find_lockfile(directory)`` picks the file npm would use; ``load_lockfile(path)`` reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from npmguard.errors import LockfileError, UsageError
from npmguard.model import Lockfile

# npm's order: a shrinkwrap wins over package-lock.json; the hidden lockfile is last.
NPM_LOCKFILE_NAMES = ("npm-shrinkwrap.json", "package-lock.json", "node_modules/.package-lock.json")


# the largest real lockfiles are tens of MB; more is not a lockfile (or /dev/zero)
MAX_BYTES = 512 * 1024 * 1024

UNSUPPORTED = {"pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn", "bun.lockb": "bun", "bun.lock": "bun"}


def find_lockfile(directory: Path) -> Path:
    """The lockfile npm would read in ``directory``."""
    for name in NPM_LOCKFILE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    others = sorted({tool for name, tool in UNSUPPORTED.items() if (directory / name).is_file()})
    found = f"; found a {' and a '.join(others)} lockfile, not supported yet" if others else ""
    raise UsageError(
        f"{directory}: no lockfile found (looked for {', '.join(NPM_LOCKFILE_NAMES)})" + found,
        hint="run `npm install --package-lock-only` to create one, or name the file",
    )


def load_lockfile(path: Path, *, display_name: str | None = None) -> Lockfile:
    """Parse the lockfile at ``path``. Errors name the file and the JSON path."""
    from npmguard.lockfile import npm

    if is_stdin(path):
        import sys

        try:
            data = _read_bounded(sys.stdin.buffer, "(stdin)")
        except OSError as e:
            raise LockfileError(f"(stdin): cannot read: {e.strerror}") from e
        return npm.parse(data, path, display_name=display_name or "(stdin)")
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        path = find_lockfile(path)
    if path.name in UNSUPPORTED:
        raise UsageError(
            f"{path}: {UNSUPPORTED[path.name]} lockfiles are not supported yet",
            hint="npmguard reads package-lock.json, npm-shrinkwrap.json and "
            "node_modules/.package-lock.json",
        )
    try:
        with path.open("rb") as fh:
            data = _read_bounded(fh, display_name or str(path))
    except OSError as e:
        raise LockfileError(f"{path}: cannot read: {e.strerror}") from e
    return npm.parse(data, path, display_name=display_name)


def _read_bounded(fh: BinaryIO, name: str) -> bytes:
    data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise LockfileError(
            f"{name}: larger than {MAX_BYTES >> 20} MB; not a lockfile npmguard will read",
            hint="name the package-lock.json or npm-shrinkwrap.json file",
        )
    return data


def is_stdin(path: Path) -> bool:
    """Whether ``path`` is ``-``: the lockfile is read from standard input."""
    return str(path) == "-"


def parse_lockfile_text(text: bytes, path: Path, *, display_name: str | None = None) -> Lockfile:
    """Parse lockfile content that is not on disk (``git show HEAD:package-lock.json``)."""
    from npmguard.lockfile import npm

    return npm.parse(text, path, display_name=display_name)


__all__ = ["LockfileError", "find_lockfile", "is_stdin", "load_lockfile", "parse_lockfile_text"]
