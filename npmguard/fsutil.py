"""Writing files so that Ctrl-C or a full disk never leaves half of one behind; reading the
data files shipped inside the package."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The temporary name carries the process id, so concurrent writers never share one.
    A symlink is followed (its target is replaced, the link stays), an existing file keeps
    its permission bits, and something that is not a regular file (``/dev/stdout``,
    ``/dev/null``, a FIFO) is written to directly: there is nothing to replace atomically,
    and replacing a device node would break the system.
    Raises OSError (the temporary file removed) when the write fails.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode: int | None = os.stat(path).st_mode  # through symlinks and /proc magic links
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "wb") as fh:
            fh.write(payload)
        return
    target = Path(os.path.realpath(path))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.npmguard-tmp")
    try:
        tmp.write_bytes(payload)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def package_data(relative: str) -> bytes:
    """A data file shipped in the package (``relative`` to the ``npmguard`` folder, ``/``
    separated): a plain read where the package is plain files (the usual case; it spares
    importing :mod:`importlib.resources`, ~1 ms a run), else through the resource loader
    (a zipped install). Raises OSError when it is missing."""
    path = Path(__file__).parent / relative  # as the resource loader: no symlink followed
    try:
        return path.read_bytes()
    except OSError:
        from importlib import resources

        return resources.files("npmguard").joinpath(relative).read_bytes()
