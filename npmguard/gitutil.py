"""The few git questions npmguard asks: a file's content at a revision, the files a work tree
keeps (what ``.gitignore`` does not exclude)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from npmguard.errors import UsageError


class FileAtRevision:
    """``path`` as committed at ``rev``, asked of git at once and answered by :meth:`result`
    (the caller reads the working tree's copy meanwhile: git runs on the other core)."""

    def __init__(self, path: Path, rev: str, *, start: bool = True) -> None:
        self.path, self.rev = path, rev
        self._show: subprocess.Popen[bytes] | None = None
        self._started = False
        if start:
            self.start()

    def start(self) -> None:
        """Ask git now (once); :meth:`result` asks itself when this was not called."""
        if self._started:
            return
        self._started = True
        folder = self.path.resolve().parent
        try:  # the common case in one git process: the file is there (``./``: from ``folder``)
            self._show = subprocess.Popen(
                ["git", "show", f"{self.rev}^{{commit}}:./{self.path.resolve().name}"],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            self._show = None  # reported by result()

    def result(self) -> bytes | None:
        """The committed bytes; None when the file did not exist at ``rev``.

        Raises UsageError when the path is not in a git work tree, ``rev`` is unknown, or git
        is missing."""
        self.start()
        if self._show is None:
            raise UsageError("git not found on PATH", hint="--changed-since needs git")
        out, _ = self._show.communicate()
        if self._show.returncode == 0:
            return out
        return _why_not(self.path, self.rev)

    def close(self) -> None:
        """Stop git if :meth:`result` was never asked for (an error came first)."""
        if self._show is not None and self._show.returncode is None:
            self._show.kill()
            self._show.communicate()

    def __enter__(self) -> FileAtRevision:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_at_revision(path: Path, rev: str) -> bytes | None:
    """``path`` as committed at ``rev``; None when the file did not exist there.

    Raises UsageError when ``path`` is not in a git work tree or ``rev`` is unknown.
    """
    return FileAtRevision(path, rev).result()


def _why_not(path: Path, rev: str) -> bytes | None:
    """After ``git show`` failed: not a work tree, an unknown revision (or none yet), or a file
    new since ``rev`` (None)."""
    folder = path.resolve().parent
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
