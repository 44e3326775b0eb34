"""URL helpers shared by the lockfile reader, the rules and the registry client."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

_USERINFO = re.compile(r"^([a-z][a-z0-9+.\-]*://)[^/@\s]*@", re.IGNORECASE)
_SECRET_QUERY = re.compile(r"([?&](?:token|access_token|auth|password|sig|signature)=)[^&#]*", re.I)


def redact(url: str | None) -> str:
    """``url`` with any user:password@ and secret query values replaced by ``***``.

    Used on every URL that reaches an output (report, log, error message).
    """
    if not url:
        return ""
    out = _USERINFO.sub(lambda m: f"{m.group(1)}***@", url)
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}***", out)


def normalise_registry(url: str) -> str:
    """A registry base URL with a trailing slash and a lower-case host."""
    parts = urlsplit(url.strip())
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def host_of(url: str) -> str:
    """The host (lower case, no port, no credentials) of an http(s) URL, or ''."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def registry_tarball_name(url: str) -> str | None:
    """The package name a registry tarball URL is for, or None if it is not of that shape.

    ``https://r/@scope/name/-/name-1.0.0.tgz`` -> ``@scope/name``; the part before ``/-/``
    is the name, after the registry's own path prefix.
    """
    path = unquote(urlsplit(url).path)
    if "/-/" not in path:
        return None
    before = path.rsplit("/-/", 1)[0].strip("/").split("/")
    if len(before) >= 2 and before[-2].startswith("@"):
        return f"{before[-2]}/{before[-1]}"
    return before[-1] if before and before[-1] else None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: 127.0.0.0/8, ::1 or localhost."""
    host = host.strip("[]").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")
