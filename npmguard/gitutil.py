"""The few git questions npmguard asks: a file's content at a revision, the files a work tree
keeps (what ``.gitignore`` does not exclude)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from npmguard.errors import UsageError


def file_at_revision(path: Path, rev: str) -> bytes | None:
    """``path`` as committed at ``rev``; None when the file did not exist there.

    Raises UsageError when ``path`` is not in a git work tree or ``rev`` is unknown.
    """
    folder = path.resolve().parent
    try:  # the common case in one git process: the file is there (``./``: from ``folder``)
        shown = subprocess.run(
            ["git", "show", f"{rev}^{{commit}}:./{path.resolve().name}"],
            cwd=folder,
            capture_output=True,
        )
    except FileNotFoundError as e:
        raise UsageError("git not found on PATH", hint="--changed-since needs git") from e
    if shown.returncode == 0:
        return shown.stdout
    # else why not: not a work tree, an unknown revision (or none yet), a file new since rev
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except FileNotFoundError as e:
        raise UsageError("git not found on PATH", hint="--changed-since needs git") from e
    except subprocess.CalledProcessError as e:
        raise UsageError(f"{path}: not inside a git work tree (--changed-since needs one)") from e
    rel = path.resolve().relative_to(Path(top).resolve()).as_posix()
    verify = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=top,
        capture_output=True,
    )
    if verify.returncode != 0:
        if rev == "HEAD":  # a repository with no commit yet: everything is new
            return None
        raise UsageError(f"--changed-since: unknown revision {rev!r}", hint="fetch it first")
    shown = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=top, capture_output=True)
    if shown.returncode != 0:
        return None  # the file is new since rev
    return shown.stdout


def repository_root(path: Path) -> Path | None:
    """The work tree ``path`` lies in: the nearest folder at or above it holding ``.git`` (a
    folder, or the file a linked work tree or submodule has); None outside any. Read from
    the file system alone: no git needed (CI checkouts and containers without it)."""
    try:
        start = path.resolve()
    except OSError:
        return None
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def kept_files(root: Path) -> list[Path] | None:
    """Files under ``root`` that git tracks or would track (``.gitignore`` respected);
    None when ``root`` is not in a git work tree (or git is missing)."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        )
    except (FileNotFoundError, subprocess.CalledProcessError):
        return None
    names = done.stdout.decode("utf-8", errors="surrogateescape").split("\0")
    return [root / n for n in names if n]
