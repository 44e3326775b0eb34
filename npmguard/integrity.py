"""SSRI integrity values (``sha512-<base64> sha1-<base64>``), read the way npm's ``ssri`` reads
them: the one place npmguard parses, compares and converts them.

ssri's reading, which this follows:

- the value is split on whitespace; each token is ``<algorithm>-<digest>[?<options>]`` with a
  lower-case algorithm of letters and digits (``SHA512-...`` is not a hash to npm) and a
  digest of anything but ``?``; tokens that do not have this shape are ignored;
- only algorithms Node's crypto knows count (``md5``, ``sha1``, ``sha256``, ``sha512``, ...);
- a download is verified with the strongest algorithm the value names
  (sha512 > sha384 > sha256 > sha224 > sha1 > md5), and two values match when, under the
  strongest algorithm both name, one digest is the same text in both;
- a value with no usable hash is no integrity at all: npm installs whatever it is served.

Registry ``dist.shasum`` values and OSV records give hex digests; :meth:`Integrity.from_hex`
and :meth:`Hash.hex` convert.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

# ssri's DEFAULT_PRIORITY, weakest first, limited to what Node's crypto offers
_PRIORITY = ("md5", "whirlpool", "sha1", "sha224", "sha256", "sha384", "sha512")
_TOKEN = re.compile(r"^([a-z0-9]+)-([^?]+)(\?[?\S*]*)?$")
# algorithms whose digest npmguard computes itself to verify bytes (md5: not a safeguard)
VERIFIABLE = ("sha512", "sha384", "sha256", "sha1")
_HEX_ALGORITHMS = {40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}


@dataclass(frozen=True, slots=True)
class Hash:
    """One ``<algorithm>-<digest>`` token."""

    algorithm: str  # lower case, as ssri requires
    digest: str  # base64 text, as written (compared as text, as ssri does)
    options: tuple[str, ...] = ()

    def __str__(self) -> str:
        opts = "".join(f"?{o}" for o in self.options)
        return f"{self.algorithm}-{self.digest}{opts}"

    def hex(self) -> str | None:
        """The digest as lower-case hex, or None when it is not valid base64."""
        try:
            return base64.b64decode(self.digest, validate=True).hex()
        except (binascii.Error, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Integrity:
    """A parsed SSRI value: its usable hashes, in the order written. Falsy when empty."""

    hashes: tuple[Hash, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> Integrity:
        """Read ``text`` as ssri does; tokens npm would ignore are left out. (Values are
        immutable: a text read before gives the same value again, unread.)"""
        return _parsed(text) if cls is Integrity else cls._read(text)

    @classmethod
    def _read(cls, text: str | None) -> Integrity:
        out: list[Hash] = []
        for token in (text or "").split():
            m = _TOKEN.match(token)
            if m is None or m.group(1) not in _PRIORITY:
                continue
            options = tuple(m.group(3)[1:].split("?")) if m.group(3) else ()
            out.append(Hash(m.group(1), m.group(2), options))
        return cls(tuple(out))

    @classmethod
    def from_hex(cls, algorithm: str, digest: str) -> Integrity:
        """``sha1`` + 40 hex digits (a registry ``dist.shasum``) -> ``sha1-<base64>``."""
        try:
            raw = bytes.fromhex(digest.strip())
        except ValueError:
            return cls()
        return cls((Hash(algorithm.lower(), base64.b64encode(raw).decode("ascii")),))

    @classmethod
    def from_hex_guess(cls, digest: str) -> Integrity:
        """A bare hex digest whose algorithm is known by its length (40: sha1 ... 128: sha512)."""
        text = digest.strip().lower()
        algorithm = _HEX_ALGORITHMS.get(len(text))
        if algorithm is None or any(c not in "0123456789abcdef" for c in text):
            return cls()
        return cls.from_hex(algorithm, text)

    @classmethod
    def of(cls, data: bytes | bytearray, algorithm: str = "sha512") -> Integrity:
        """The integrity of ``data`` under one algorithm."""
        digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii")
        return cls((Hash(algorithm, digest),))

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def __str__(self) -> str:
        return " ".join(str(h) for h in self.hashes)

    def __or__(self, other: Integrity) -> Integrity:
        return Integrity(tuple(dict.fromkeys((*self.hashes, *other.hashes))))

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(h.algorithm for h in self.hashes)

    def digests(self, algorithm: str) -> frozenset[str]:
        return frozenset(h.digest for h in self.hashes if h.algorithm == algorithm)

    def strongest(self, among: frozenset[str] | None = None) -> str | None:
        """The algorithm npm would use (optionally only among ``among``), or None."""
        present = self.algorithms if among is None else self.algorithms & among
        ranked = [a for a in _PRIORITY if a in present]
        return ranked[-1] if ranked else None

    def common_algorithm(self, other: Integrity) -> str | None:
        """The strongest algorithm both values name: the one ssri compares them under."""
        return self.strongest(other.algorithms)

    def matches(self, other: Integrity) -> bool | None:
        """Whether the two name the same bytes, as ssri's ``match`` decides; None when they
        share no algorithm (nothing to compare: unknown, not a mismatch)."""
        algorithm = self.common_algorithm(other)
        if algorithm is None:
            return None
        return bool(self.digests(algorithm) & other.digests(algorithm))

    def conflicts(self, other: Integrity) -> bool:
        """Whether the two certainly name different bytes."""
        return self.matches(other) is False

    def verify(self, data: bytes | bytearray) -> tuple[str, bool]:
        """Check ``data`` with the strongest verifiable algorithm: ``(algorithm, ok)``.

        Raises ValueError when the value names no algorithm npmguard verifies with.
        """
        algorithm = self.strongest(frozenset(VERIFIABLE))
        if algorithm is None:
            raise ValueError("no sha512/sha384/sha256/sha1 hash to verify with")
        actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii")
        return algorithm, actual in self.digests(algorithm)

    def hex_digests(self) -> tuple[str, ...]:
        """``algorithm:hex`` for each hash whose digest is valid base64 (feed look-ups)."""
        out = [f"{h.algorithm}:{x}" for h in self.hashes if (x := h.hex()) is not None]
        return tuple(dict.fromkeys(out))


__all__ = ["VERIFIABLE", "Hash", "Integrity"]


@functools.lru_cache(maxsize=65536)
def _parsed(text: str | None) -> Integrity:
    """:meth:`Integrity.parse`, each text read once (a lockfile's values are read by several
    rules each)."""
    return Integrity._read(text)
