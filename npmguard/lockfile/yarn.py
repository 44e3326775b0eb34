"""``yarn.lock``: Yarn classic (``# yarn lockfile v1``) and Yarn Berry (``__metadata``) files.

Both tools name the file ``yarn.lock``; the content says which one wrote it, as yarn itself
decides: a top-level ``__metadata`` key is Berry (:mod:`npmguard.lockfile.yarn_berry`),
anything else is read as yarn 1 does (:mod:`npmguard.lockfile.yarn_classic`).
"""

from __future__ import annotations

import re
from pathlib import Path

from npmguard.errors import LockfileError
from npmguard.lockfile import yarn_berry, yarn_classic
from npmguard.lockfile.yamlfile import decode
from npmguard.model import Lockfile

_BERRY = re.compile(r'^"?__metadata"?:', re.MULTILINE)


FINDS_LINES_LATER = False  # its lines come with reading it


def sniff(data: bytes) -> bool:
    """Whether ``data`` looks like a yarn lockfile (either kind)."""
    head = data[:2048]
    return (
        b"# yarn lockfile v1" in head or _BERRY.search(head.decode("utf-8", "replace")) is not None
    )


def parse(
    data: bytes, path: Path, display_name: str | None = None, *, lines: bool = True
) -> Lockfile:
    """Read a ``yarn.lock`` of either kind; errors start with ``display_name`` (or ``path``).
    ``lines`` is accepted for the reader protocol: yarn's syntax reader learns each entry's
    line as it reads, with no pass of its own to skip."""
    del lines
    name = display_name or str(path)
    text = decode(data, name, yarn_classic.HINT)
    if not text or text.isspace():
        raise LockfileError(f"{name}: empty file", hint=yarn_classic.HINT)
    if _BERRY.search(text, 0, 4096):
        return yarn_berry.parse(data, path, name, text)
    return yarn_classic.parse(data, path, name, text)
