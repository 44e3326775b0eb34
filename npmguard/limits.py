"""The budget for every input npmguard reads: one table, documented in ``docs/limits.md``.

Lockfiles from pull requests, package documents and tarballs from registries and mirrors,
policies from URLs: an attacker may shape any of them. Each is read under a limit, and each
limit, when reached, gives a clear message and a fail-closed outcome, never a crash and never
a silent pass:

- a lockfile, ``.npmrc`` or local policy over its size: a usage error (exit 2) naming the file;
- a package document over its size, cut short, or not answered within ``fetch-timeout``: a
  registry fault, which the policy's ``on-unreachable`` turns into exit 3 (``fail``, the
  default) or a warning with the package's facts unknown (``warn``);
- a tarball over its size, unpacking to more than its budget, with too many entries or not a
  gzip'd tar: a ``content-unknown`` finding on the package (its content cannot be judged),
  and bytes that do not match the lockfile's integrity: an ``integrity-mismatch`` finding.

Sizes are bytes as received, after any ``Content-Encoding`` is undone.
"""

from __future__ import annotations

MB = 1 << 20

LOCKFILE_BYTES = 512 * MB  # the largest real lockfiles are tens of MB
NPMRC_BYTES = 1 * MB  # one .npmrc file
POLICY_BYTES = 1 * MB  # one policy file, local or fetched
PACKUMENT_BYTES = 100 * MB  # one package document (the biggest real ones: ~25 MB)
ERROR_BODY_BYTES = 64 * 1024  # an error answer, read only for its message
TARBALL_BYTES = 50 * MB  # one tarball as downloaded (gzip'd)
UNPACKED_BYTES = 200 * MB  # one tarball's files added up, and its decompressed stream
TARBALL_ENTRIES = 20_000  # files, folders and links in one tarball
TEXT_BYTES = 64 * 1024  # of each file whose text content rules read
TEXTS_BYTES = 512 * 1024  # of all such files of one tarball
FETCH_RETRIES_MAX = 10  # fetch-retries above this are read as this
FETCH_TIMEOUT_MAX_MS = 2**31 - 1  # fetch-timeout above this (Node's timer limit) likewise


def shown(size: int) -> str:
    """A byte count for messages: ``50 MB``, ``64 KB``, ``300 bytes``."""
    for unit, scale in (("GB", 1 << 30), ("MB", MB), ("KB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{size} bytes"
