"""The few git questions npmguard asks: a file's content at a revision, the files a work tree
keeps (what ``.gitignore`` does not exclude)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from npmguard.errors import UsageError

_PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size
# signals Python ignores, which a child would inherit ignored: git gets the default back
_IGNORED_BY_PYTHON = tuple(getattr(signal, n) for n in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, n))


class FileAtRevision:
    """``path`` as committed at ``rev``, asked of git at once and answered by :meth:`result`
    (the caller reads the working tree's copy meanwhile: git runs on the other core).

    git is started with ``os.posix_spawnp``: importing :mod:`subprocess` costs a pre-commit
    run more (~3 ms) than its own comparison of the two copies. Its output goes to a pipe
    made large enough for a whole lockfile (Linux), so git can finish before it is read."""

    def __init__(self, path: Path, rev: str, *, start: bool = True) -> None:
        self.path, self.rev = path, rev
        self._pid: int | None = None  # git, until it is waited for
        self._out: int | None = None  # the read end of its stdout
        self._started = False
        self._failed: OSError | None = None  # git could not be started
        if start:
            self.start()

    def start(self) -> None:
        """Ask git now (once); :meth:`result` asks itself when this was not called."""
        if self._started:
            return
        self._started = True
        if not hasattr(os, "posix_spawnp"):  # Windows: result() asks git step by step
            return
        real = self.path.resolve()
        # the common case in one git process: the file is there (``./``: from its folder)
        argv = ["git", "-C", str(real.parent), "show", f"{self.rev}^{{commit}}:./{real.name}"]
        read_end, write_end = os.pipe()
        try:
            _grow_pipe(write_end)
            self._pid = os.posix_spawnp(
                "git",
                argv,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, write_end, 1),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
                setsigdef=_IGNORED_BY_PYTHON,  # as subprocess's restore_signals
            )
            self._out = read_end
        except OSError as e:  # not on PATH, or not runnable: reported by result()
            self._failed = e
            os.close(read_end)
        finally:
            os.close(write_end)

    def result(self) -> bytes | None:
        """The committed bytes; None when the file did not exist at ``rev``.

        Raises UsageError when the path is not in a git work tree, ``rev`` is unknown, or git
        is missing."""
        self.start()
        if isinstance(self._failed, FileNotFoundError):
            raise UsageError("git not found on PATH", hint="--changed-since needs git")
        if self._failed is not None:
            raise UsageError(
                f"git could not be run: {self._failed}", hint="--changed-since needs git"
            )
        if self._pid is None:  # never started (Windows)
            return _step_by_step(self.path, self.rev)
        assert self._out is not None
        chunks = []
        while chunk := os.read(self._out, _PIPE_BYTES):
            chunks.append(chunk)
        code = self._wait()
        if code == 0:
            return b"".join(chunks)
        return _step_by_step(self.path, self.rev)  # says why not

    def _wait(self) -> int:
        """Reap git (its exit code) and close the pipe."""
        assert self._pid is not None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if self._out is not None:
            os.close(self._out)
            self._out = None
        return os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        """Stop git if :meth:`result` was never asked for (an error came first)."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._wait()

    def __enter__(self) -> FileAtRevision:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _grow_pipe(fd: int) -> None:
    """Make the pipe hold :data:`_PIPE_BYTES` where the system allows it (Linux)."""
    import fcntl

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        with contextlib.suppress(OSError):  # refused above pipe-max-size: the default stays
            fcntl.fcntl(fd, setsize, _PIPE_BYTES)


def file_at_revision(path: Path, rev: str) -> bytes | None:
    """``path`` as committed at ``rev``; None when the file did not exist there.

    Raises UsageError when ``path`` is not in a git work tree or ``rev`` is unknown.
    """
    return FileAtRevision(path, rev).result()


def _step_by_step(path: Path, rev: str) -> bytes | None:
    """``path`` at ``rev`` asked of git one question at a time, each failure said: not a work
    tree, an unknown revision (or none yet), or a file new since ``rev`` (None). What
    :class:`FileAtRevision` falls back on when its one ``git show`` failed."""
    import subprocess

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
    import subprocess

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
