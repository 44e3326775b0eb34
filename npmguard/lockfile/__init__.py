"""Reading lockfiles into ``Lockfile`` values: one module per format, one table naming them.

:data:`READERS` maps file names to reader modules (see :mod:`npmguard.lockfile.base`);
``check``, ``ls``, ``explain``, the wrapper, ``--changed-since`` and the pre-commit hook
manifest all go through it. ``find_lockfile(directory)`` picks the file the package manager
would use; ``load_lockfile(path)`` reads one; ``parse_lockfile_text`` reads bytes that are
not on disk (``git show REV:package-lock.json``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, cast

from npmguard.errors import LockfileError, UsageError
from npmguard.limits import LOCKFILE_BYTES
from npmguard.lockfile.base import ReaderModule, ReaderSpec
from npmguard.model import Lockfile

log = logging.getLogger(__name__)

# In the order a folder's lockfiles are preferred; within a row, the tool's own order
# (npm: a shrinkwrap wins over package-lock.json; the hidden lockfile is last).
READERS: tuple[ReaderSpec, ...] = (
    ReaderSpec(
        "npm",
        ("npm-shrinkwrap.json", "package-lock.json", "node_modules/.package-lock.json"),
        "npmguard.lockfile.npm",
    ),
    ReaderSpec(
        "pnpm", ("pnpm-lock.yaml",), "npmguard.lockfile.pnpm", variants=r"pnpm-lock\.[^/]+\.yaml"
    ),
    ReaderSpec("yarn", ("yarn.lock",), "npmguard.lockfile.yarn"),
    ReaderSpec("bun", ("bun.lock",), "npmguard.lockfile.bun"),
    ReaderSpec(
        "bun",
        ("bun.lockb",),
        None,
        "Bun's binary lockfile (bun.lockb) cannot be read; have bun 1.2 or later write the "
        "text one: `bun install --save-text-lockfile --frozen-lockfile --lockfile-only`, "
        "then check bun.lock",
    ),
)

# the largest real lockfiles are tens of MB; more is not a lockfile (or /dev/zero)
MAX_BYTES = LOCKFILE_BYTES


def readable_names() -> tuple[str, ...]:
    """Every lockfile file name npmguard can read, in preference order."""
    return tuple(n for spec in READERS if spec.module for n in spec.file_names)


def hook_files_pattern() -> str:
    """The pre-commit ``files:`` regex matching every readable lockfile name in any folder
    (``.pre-commit-hooks.yaml`` must say exactly this; a test keeps them in step)."""
    names = sorted({Path(n).name for n in readable_names()} - {".package-lock.json"})
    variants = [spec.variants for spec in READERS if spec.module and spec.variants]
    return r"(^|/)(" + "|".join([*(n.replace(".", r"\.") for n in names), *variants]) + r")$"


def spec_for_name(file_name: str) -> ReaderSpec | None:
    """The table row that claims this file name (a base name), if any."""
    return next((spec for spec in READERS if spec.claims(file_name)), None)


def find_lockfile(directory: Path) -> Path:
    """The lockfile the package manager would read in ``directory``.

    Within one tool, its own order (npm: a shrinkwrap wins over package-lock.json). When
    lockfiles of several tools lie side by side, the one of the tool package.json's
    ``packageManager`` names (corepack's field), else the first in :data:`READERS` order; a
    warning names the others, which are checked only when named.
    """
    found: dict[str, Path] = {}  # tool -> its preferred lockfile here
    for spec in READERS:
        if spec.module is None or spec.tool in found:
            continue
        present = [directory / n for n in spec.file_names if (directory / n).is_file()]
        if present:
            found[spec.tool] = present[0]
    if found:
        declared = declared_package_manager(directory)
        chosen = found.get(declared or "") or next(iter(found.values()))
        others = [str(p) for p in found.values() if p != chosen]
        if others:
            log.warning(
                "%s: also found %s; checking %s%s (name every lockfile to check them all)",
                directory,
                ", ".join(others),
                chosen.name,
                f", the one of packageManager {declared}" if declared in found else "",
            )
        _note_variants(directory, chosen)
        return chosen
    unreadable = [
        (n, spec.unsupported)
        for spec in READERS
        if spec.module is None
        for n in spec.file_names
        if (directory / n).is_file()
    ]
    if unreadable:  # one piece of advice: the unreadable file's own
        said = [(n, *text.partition("; ")[::2]) for n, text in unreadable]
        raise UsageError(
            f"{directory}: no lockfile found (looked for {', '.join(readable_names())})"
            + "".join(f"; found {n}: {problem}" for n, problem, _ in said),
            hint="; ".join(advice for _, _, advice in said),
        )
    raise UsageError(
        f"{directory}: no lockfile found (looked for {', '.join(readable_names())})",
        hint="create one with your package manager (`npm install --package-lock-only`, "
        "`pnpm install --lockfile-only`, `yarn install --mode=update-lockfile`, `bun install "
        "--lockfile-only`), or name the file",
    )


def _variants(directory: Path, spec: ReaderSpec, present: Iterable[str]) -> list[Path]:
    return sorted(directory / n for n in present if spec.variant(n))


def _note_variants(directory: Path, chosen: Path) -> None:
    """Warn about git-branch lockfiles beside ``chosen``: the tool reads one of them instead
    when its setting is on, so they are checked only when named."""
    spec = spec_for_name(chosen.name)
    if spec is None or not spec.variants:
        return
    try:
        found = _variants(directory, spec, (p.name for p in directory.iterdir() if p.is_file()))
    except OSError:
        return
    if found:
        log.warning(
            "%s: also found %s: %s reads the current branch's lockfile instead of %s when "
            "git-branch-lockfile is on; name them to check them (`--recursive` does)",
            directory,
            ", ".join(p.name for p in found),
            spec.tool,
            chosen.name,
        )


def discover_lockfiles(root: Path) -> list[Path]:
    """Every lockfile in the tree under ``root``: in each folder, each tool's own choice
    (npm: a shrinkwrap over package-lock.json). Folders ``.gitignore`` excludes are skipped
    inside a git work tree; ``node_modules`` and hidden folders always are. Sorted by path."""
    import os

    from npmguard.gitutil import kept_files

    names = {Path(n).name for n in readable_names()} - {".package-lock.json"}

    def wanted(name: str) -> bool:
        return name in names or any(s.module and s.variant(name) for s in READERS)

    kept = kept_files(root)
    if kept is None:
        kept = []
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "node_modules" and not d.startswith(".")]
            kept += [Path(top) / f for f in files if wanted(f)]
    folders: dict[Path, set[str]] = {}
    for path in kept:
        rel = path.relative_to(root).parts
        if wanted(path.name) and not any(p == "node_modules" or p.startswith(".") for p in rel):
            folders.setdefault(path.parent, set()).add(path.name)
    out: list[Path] = []
    for where, present in folders.items():
        for spec in READERS:
            if spec.module is None:
                continue
            first = next((n for n in spec.file_names if n in present), None)
            out += [where / first] if first is not None else []
            out += _variants(where, spec, present)  # git-branch lockfiles: each checked
    return sorted(out)


def declared_package_manager(directory: Path) -> str | None:
    """The tool ``package.json``'s ``packageManager`` names (``"pnpm@9.1.0"`` -> ``pnpm``)."""
    from npmguard.jsontext import loads

    try:
        manifest = loads((directory / "package.json").read_bytes())
    except (OSError, ValueError):
        return None
    field = manifest.get("packageManager") if isinstance(manifest, dict) else None
    if not isinstance(field, str):
        return None
    return field.split("@", 1)[0].strip() or None


def load_lockfile(
    path: Path, *, display_name: str | None = None, lines_later: bool = False
) -> Lockfile:
    """Parse the lockfile at ``path`` (a folder: the one :func:`find_lockfile` picks; ``-``:
    standard input). Errors name the file and the place in it.

    ``lines_later``: only a few entries' lines will be wanted (``--changed-since`` reports
    the changed ones): a reader that can find them later (npm's) reads none now, and
    :func:`with_lines` finds those."""
    if is_stdin(path):
        import sys

        try:
            data = _read_bounded(sys.stdin.buffer, "(stdin)")
        except OSError as e:
            raise LockfileError(f"(stdin): cannot read: {e.strerror}") from e
        return parse_lockfile_text(
            data, path, display_name=display_name or "(stdin)", lines_later=lines_later
        )
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        path = find_lockfile(path)
    _reader(path.name, None, display_name or str(path))  # unsupported kinds: before reading
    try:
        with path.open("rb") as fh:
            data = _read_bounded(fh, display_name or str(path))
    except OSError as e:
        raise LockfileError(f"{path}: cannot read: {e.strerror}") from e
    return parse_lockfile_text(data, path, display_name=display_name, lines_later=lines_later)


def parse_lockfile_text(
    data: bytes,
    path: Path,
    *,
    display_name: str | None = None,
    lines: bool = True,
    lines_later: bool = False,
) -> Lockfile:
    """Parse lockfile bytes; the reader is chosen by ``path``'s file name, else by sniffing.
    ``lines=False``: the entries' lines are not wanted (a lockfile only compared with);
    ``lines_later``: as in :func:`load_lockfile`."""
    reader = _reader(path.name, data, display_name or str(path))
    if lines_later and reader.FINDS_LINES_LATER:
        lines = False
    return reader.parse(data, path, display_name=display_name, lines=lines)


def with_lines(lockfile: Lockfile, keys: Collection[str]) -> Lockfile:
    """``lockfile`` with the lines of every occurrence of the packages ``keys`` names
    (name@version) found, when it was read without lines by a reader that can find them
    later (``lines_later``), and without what that reader kept (the document: freed for the
    rest of the run); else ``lockfile`` itself. The lines are those a read with lines
    gives."""
    if lockfile.kept is None:
        return lockfile
    if not keys:
        return replace(lockfile, kept=None)
    lines = lockfile.kept.lines(
        [o.path for p in lockfile.packages if p.key in keys for o in p.occurrences]
    )
    packages = tuple(
        replace(p, occurrences=tuple(replace(o, line=lines.get(o.path)) for o in p.occurrences))
        if p.key in keys
        else p
        for p in lockfile.packages
    )
    return replace(lockfile, packages=packages, kept=None)


def _reader(file_name: str, data: bytes | None, shown: str) -> ReaderModule:
    spec = spec_for_name(file_name)
    if spec is None and data is not None:
        # npm's sniff (any JSON object with a lockfile key) also fits bun.lock: it goes last
        order = sorted(READERS, key=lambda s: s.tool == "npm")
        spec = next(
            (s for s in order if s.module is not None and _module(s).sniff(data)), READERS[0]
        )
    if spec is None:
        spec = READERS[0]  # an unknown name: npm's format is the one a user names by hand
    if spec.module is None:
        raise UsageError(
            f"{shown}: {spec.unsupported}",
            hint=f"npmguard reads {', '.join(readable_names())}",
        )
    return _module(spec)


def _module(spec: ReaderSpec) -> ReaderModule:
    assert spec.module is not None
    return cast(ReaderModule, importlib.import_module(spec.module))


def _read_bounded(fh: BinaryIO, name: str) -> bytes:
    data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise LockfileError(
            f"{name}: larger than {MAX_BYTES >> 20} MB; not a lockfile npmguard will read",
            hint="name a lockfile: " + ", ".join(readable_names()),
        )
    return data


def is_stdin(path: Path) -> bool:
    """Whether ``path`` is ``-``: the lockfile is read from standard input."""
    return str(path) == "-"


__all__ = [
    "READERS",
    "LockfileError",
    "discover_lockfiles",
    "find_lockfile",
    "hook_files_pattern",
    "is_stdin",
    "load_lockfile",
    "parse_lockfile_text",
    "readable_names",
    "with_lines",
]
