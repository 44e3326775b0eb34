"""What can go wrong with one registry request (all :class:`~npmguard.errors.RegistryError`,
exit 3 when nothing cached can stand in).

A package whose document or tarball meets one of these has *unknown* facts: the policy's
``on-unreachable`` decides whether the run fails (``fail``, the default) or goes on with a
warning (``warn``); never does it pass as if the registry had answered.
"""

from __future__ import annotations

from npmguard.errors import RegistryError


class UnreachableError(RegistryError):
    """The registry could not be reached (connection refused, DNS, timeout, TLS)."""


class TimedOut(UnreachableError):
    """An attempt outlived ``fetch-timeout`` (headers and body together)."""


class NotCachedError(RegistryError):
    """Offline, and the cache holds no answer for this URL."""


class BodyTooLarge(RegistryError):
    """An answer bigger than the limit for what was asked (see docs/limits.md)."""


class BodyCutShort(RegistryError):
    """The connection ended before the whole answer arrived."""
