"""Dependency specs as pnpm, yarn and bun write them: ``name@range`` descriptors, URLs and
yarn's SHA-1 fragments, told apart with npm's own reading where npm has one.

A URL or spec is one source kind in every format: :func:`npmguard.lockfile.sources.classify`
(npm-package-arg's reading) decides, with one addition the other package managers need: a
hosted git service's archive URL (``https://codeload.github.com/u/r/tar.gz/<commit>``), which
pnpm and yarn write for a ``github:`` dependency, is git, not a remote tarball.
"""

from __future__ import annotations

import base64
import re

from npmguard.lockfile.sources import classify
from npmguard.model import SourceKind

# hosts that serve a git commit as a tarball: pnpm and yarn fetch hosted git this way
_GIT_ARCHIVES = re.compile(
    r"^https://(?:codeload\.github\.com/"
    r"|gitlab\.com/.+/(?:repository/archive\.tar\.gz|-/archive/)"
    r"|bitbucket\.org/.+/get/)",
    re.IGNORECASE,
)
_SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")


def classify_url(url: str) -> SourceKind:
    """The source kind of a resolved URL or a locator reference (``git+…``, ``https://…``,
    ``file:…``, ``link:…``/``portal:…``/``workspace:…`` folders)."""
    if _GIT_ARCHIVES.match(url):
        return SourceKind.GIT
    if url.lower().startswith(("link:", "portal:", "workspace:")):
        return SourceKind.LINK
    return classify(url, None)


def is_git_spec(spec: str) -> bool:
    """Whether a dependency spec (the part after ``name@``) names a git repository, as npm
    reads specs (``github:u/r``, ``u/r#ref``, ``git+https://…``), or a hosted git archive."""
    return bool(_GIT_ARCHIVES.match(spec)) or classify(None, spec) is SourceKind.GIT


def sha1_integrity(hex_digest: str) -> str | None:
    """``sha1-<base64>`` (SSRI) for a 40-digit hex SHA-1, as yarn puts after ``#`` in
    ``resolved``; None if it is not one."""
    if not _SHA1_HEX.match(hex_digest):
        return None
    return "sha1-" + base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def split_descriptor(descriptor: str) -> tuple[str, str]:
    """``name@range`` -> (name, range); a scoped name keeps its ``@``; no range: ""."""
    at = descriptor.find("@", 1)
    if at < 0:
        return descriptor, ""
    return descriptor[:at], descriptor[at + 1 :]
