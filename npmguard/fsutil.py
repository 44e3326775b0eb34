"""Writing files so that Ctrl-C or a full disk never leaves half of one behind."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The temporary name carries the process id, so concurrent writers never share one.
    Raises OSError (the temporary file removed) when the write fails.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.npmguard-tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
