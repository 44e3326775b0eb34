"""The lockfile reader interface: what every format module provides.

A reader module (``npmguard.lockfile.npm``, ``pnpm``, ``yarn``, ``bun``) defines two
functions and is named in :data:`npmguard.lockfile.READERS` with the file names it claims
(the pnpm, yarn and bun readers share :mod:`npmguard.lockfile.graph` to turn entries into
packages, and :mod:`npmguard.lockfile.yamlfile` for YAML):

- ``sniff(data: bytes) -> bool``: whether these bytes look like this format (used when the
  file name says nothing, e.g. a lockfile on stdin or ``git show`` output under another name);
- ``parse(data: bytes, path: Path, display_name: str | None = None) -> Lockfile``: the
  packages, or a :class:`~npmguard.errors.LockfileError` whose message starts with
  ``display_name`` (default: ``path``) and says where in the file the fault is.

Readers never touch the network or the disk beyond the bytes they are given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from npmguard.model import Lockfile


class ReaderModule(Protocol):
    """The two functions a reader module defines (see the module docs), and whether its
    ``parse(lines=False)`` leaves a way to find some entries' lines later
    (``Lockfile.kept``)."""

    FINDS_LINES_LATER: bool

    def sniff(self, data: bytes) -> bool: ...

    def parse(
        self, data: bytes, path: Path, display_name: str | None = None, *, lines: bool = True
    ) -> Lockfile: ...


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    """One row of the reader table.

    ``file_names`` are relative to a project folder, in the order the package manager
    prefers them (npm: ``npm-shrinkwrap.json`` wins over ``package-lock.json``, the hidden
    lockfile comes last). ``module`` is imported only when a file of this kind is read.
    A row without a module names files npmguard recognises but cannot read (``unsupported``
    says why and what to do), so they are never mistaken for broken JSON.
    """

    tool: str  # "npm", "pnpm", "yarn", "bun"
    file_names: tuple[str, ...]
    module: str | None  # dotted module path of the reader; None: recognised, not readable
    unsupported: str = ""  # when ``module`` is None: why, and what to do instead
    # a regex (``re.fullmatch``) of other names the tool reads under a setting: pnpm's
    # git-branch lockfiles, ``pnpm-lock.<branch>.yaml`` (``git-branch-lockfile=true``)
    variants: str = ""

    def claims(self, file_name: str) -> bool:
        return any(file_name == Path(n).name for n in self.file_names) or self.variant(file_name)

    def variant(self, file_name: str) -> bool:
        return bool(self.variants) and re.fullmatch(self.variants, file_name) is not None
