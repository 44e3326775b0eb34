"""URLs as npm reads them: the one place npmguard parses a URL.

npm fetches with Node's WHATWG ``URL`` class, which Node implements with the Ada parser; this
module parses with the same parser (the ``ada-url`` package), so a host, a path or a scheme
here is the one npm would use. RFC 3986 readings (``urllib.parse``) differ from it on inputs an
attacker can write into a lockfile: ``https://evil.example\\@registry.npmjs.org/`` is a request
to ``evil.example`` for Node (a backslash ends the authority in http(s) URLs) but to the
registry for ``urlsplit``; tabs and newlines are dropped anywhere, leading and trailing spaces
and control characters are trimmed, ``HTTPS:`` is ``https:``, ``0x7f.1`` is ``127.0.0.1``,
``%2e%2e`` segments are resolved. So no other module calls ``urllib.parse`` on a URL from a
lockfile, an ``.npmrc`` or a policy: they go through :func:`parse_url`, and what is fetched is
the parsed URL's :attr:`Url.href`, which every other parser reads the same way.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote

from npmguard.semver import version_key

# Query keys whose values are printed; every other value is ``***`` (an allow-list: signed
# URLs name their secrets in many ways, X-Amz-Signature, X-Amz-Security-Token, apikey, sig...)
HARMLESS_QUERY_KEYS = frozenset(
    {"v", "version", "ref", "rev", "branch", "tag", "commit", "path", "format", "download"}
)
# a fragment printed as is: a git committish, ``semver:<range>`` or ``path:<dir>`` (npm's
# git specs); anything else is ``#***``
_HARMLESS_FRAGMENT = re.compile(r"#[A-Za-z0-9._\-/:^~<>=|*+!%]{0,200}")
# the parts of a URL ada reports; asking for fewer makes parsing ~4x faster
_ATTRIBUTES = (
    *("href", "protocol", "username", "password"),
    *("hostname", "port", "pathname", "search", "hash"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# userinfo as a naive reader sees it, for text that is not a URL at all (see ``redact``): up
# to the last "@" before the path, so a password holding "@" is hidden whole
_NAIVE_USERINFO = re.compile(r"^([a-z][a-z0-9+.\-]*://)[^/\\?#\s]*@", re.IGNORECASE)
_NAME_SEPARATOR = re.compile(r"/|%2f", re.IGNORECASE)  # "@scope%2fname" in registry paths
SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})


@dataclass(frozen=True, slots=True)
class Url:
    """A URL as Node's ``new URL(text)`` reads it. Parts are WHATWG's, normalised."""

    href: str  # the serialised URL: what npm fetches, and what npmguard fetches
    scheme: str  # lower case, no ":" ("https", "git+ssh")
    username: str  # percent-encoded, as WHATWG keeps it
    password: str
    hostname: str  # lower case, IDNA, IPv4 normalised ("0x7f.1" -> "127.0.0.1"), "[::1]"; or ""
    port: int | None  # None for the scheme's default port (WHATWG drops it)
    pathname: str  # percent-encoded, dot segments resolved
    search: str  # "" or "?..."
    hash: str  # "" or "#..."

    @property
    def host(self) -> str:
        """``hostname[:port]``: what identifies a server (WHATWG ``host``)."""
        return self.hostname if self.port is None else f"{self.hostname}:{self.port}"

    @property
    def has_credentials(self) -> bool:
        return bool(self.username or self.password)

    @property
    def special(self) -> bool:
        """http(s), ws(s), ftp and file: the schemes WHATWG parses with an authority."""
        return self.scheme in SPECIAL_SCHEMES

    def redacted(self) -> str:
        """The URL fit for an output, by allow-list: scheme, host (with port) and path as
        Node reads them; userinfo only as ``***@``; query values only for
        :data:`HARMLESS_QUERY_KEYS` (others ``key=***``); a fragment only when it is a git
        committish or spec. The host stays: it is the one thing a reader must see."""
        scheme = f"{self.scheme}:"
        authority = self.href.startswith(f"{scheme}//")
        head = f"{scheme}//" if authority else scheme
        if self.has_credentials:
            head += "***@"
        if authority:
            head += self.host
        return head + self.pathname + redact_query(self.search) + _fragment(self.hash)


@functools.lru_cache(maxsize=65536)
def parse_url(text: str, base: str | None = None) -> Url | None:
    """``text`` parsed as Node's ``new URL(text, base)`` parses it, or None where Node throws.

    Inputs with no scheme (``packages/a``) need a ``base``; without one they are None.
    """
    from ada_url import parse_url as ada_parse  # a C extension: loaded on first use

    try:
        if base is not None:
            from ada_url import join_url

            text = join_url(base, text)
        parts = ada_parse(text, attributes=_ATTRIBUTES)
    except ValueError:
        return None
    port = parts["port"]
    return Url(
        href=parts["href"],
        scheme=parts["protocol"].rstrip(":"),
        username=parts["username"],
        password=parts["password"],
        hostname=parts["hostname"],
        port=int(port) if port else None,
        pathname=parts["pathname"],
        search=parts["search"],
        hash=parts["hash"],
    )


def host_of(url: str) -> str:
    """The hostname (lower case, no port, no credentials) npm would connect to, or ''."""
    parsed = parse_url(url)
    return parsed.hostname if parsed is not None else ""


def redact(url: str | None) -> str:
    """``url`` fit for an output (report, log, error message): see :meth:`Url.redacted`;
    credentials and query values not known to be harmless are ``***``, the real host kept.

    A URL is shown as Node reads it (its ``href``), so the host printed is the host npm
    would contact. Text that is not a URL keeps its shape, with a naive ``user:pass@``
    prefix hidden only when nothing in it could end an authority, and control characters
    shown as ``\\xNN``.
    """
    if not url:
        return ""
    parsed = parse_url(url)
    if parsed is not None:
        return parsed.redacted()
    out = _NAIVE_USERINFO.sub(lambda m: f"{m.group(1)}***@", url)
    cut = min((i for i in (out.find("?"), out.find("#")) if i >= 0), default=-1)
    if cut >= 0:  # a query or fragment: values by the same allow-list
        query, _, fragment = out[cut:].partition("#")
        out = out[:cut] + redact_query(query) + (_fragment(f"#{fragment}") if _ else "")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", out)


def redact_query(search: str) -> str:
    """``?a=1&b=2`` with the values of keys not in :data:`HARMLESS_QUERY_KEYS` replaced by
    ``***`` (a part without ``=`` is kept only when it is such a key)."""
    if not search:
        return ""
    parts = []
    for part in search.lstrip("?").split("&"):
        key, eq, _ = part.partition("=")
        if unquote(key).strip().lower() in HARMLESS_QUERY_KEYS:
            parts.append(part)
        elif eq:
            parts.append(f"{key if _KEY.fullmatch(key) else '***'}=***")
        elif part:
            parts.append("***")
    return "?" + "&".join(parts)


_KEY = re.compile(r"[A-Za-z0-9._\-]{1,64}")  # a key name worth showing (never a secret's shape)


def _fragment(fragment: str) -> str:
    harmless = _HARMLESS_FRAGMENT.fullmatch(fragment) and not _ASSIGNMENT.search(unquote(fragment))
    return fragment if not fragment or fragment == "#" or harmless else "#***"


_ASSIGNMENT = re.compile(r"\w=")  # "key=value" (access_token=...); "semver:>=1" is no key


def normalise_registry(url: str) -> str:
    """A registry base URL as npm uses it: the WHATWG ``href`` without query or fragment,
    the path ending in ``/``. Text that does not parse is returned trimmed, with a ``/``."""
    parsed = parse_url(url.strip())
    if parsed is None:
        text = url.strip()
        return text if text.endswith("/") else text + "/"
    base = parsed.href
    for tail in (parsed.hash, parsed.search):
        if tail:
            base = base[: -len(tail)]
    return base if base.endswith("/") else base + "/"


def is_http_url(url: Url | None) -> bool:
    """Whether ``url`` is an http(s) URL with a host (what a registry or tarball URL must be)."""
    return url is not None and url.scheme in ("http", "https") and bool(url.hostname)


@dataclass(frozen=True, slots=True)
class TarballRef:
    """What a registry tarball URL says it is: ``<registry>/<name>/-/<base>-<version>.tgz``."""

    name: str
    version: str | None  # None when the file name is not ``<base>-<semver>.tgz``


@functools.lru_cache(maxsize=65536)  # rules ask for each entry's URL several times
def registry_tarball(url: str) -> TarballRef | None:
    """The package a registry tarball URL is for, or None if it is not of that shape.

    Follows npm's ``version-from-tgz``: the path (as Node parses it) is split at ``/-/``; the
    part before names the package (``@scope/name`` or ``@scope%2fname`` after the registry's
    own prefix), the file after it must be ``<name>-<version>.tgz``. Percent-encoding is
    decoded in the name, as the registry decodes it when it serves the request.
    """
    parsed = parse_url(url)
    if parsed is None or not parsed.special:
        return None
    path = parsed.pathname
    if "/-/" not in path:
        return None
    before, _, after = path[1:].rpartition("/-/")
    parts = [unquote(p) for p in _NAME_SEPARATOR.split(before)]
    project = parts[-1] if parts else ""
    scope = parts[-2] if len(parts) >= 2 else ""
    if not project:
        return None
    name = f"{scope}/{project}" if scope.startswith("@") else project
    base = unquote(after.rsplit("/", 1)[-1])
    version = None
    if base.startswith(project + "-") and base.endswith(".tgz"):
        candidate = base[len(project) + 1 : -len(".tgz")]
        if version_key(candidate) is not None:
            version = candidate.lstrip("v").split("+", 1)[0]
    return TarballRef(name, version)


def registry_tarball_name(url: str) -> str | None:
    """The package name in a registry tarball URL (see :func:`registry_tarball`), or None."""
    ref = registry_tarball(url)
    return ref.name if ref is not None else None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a WHATWG hostname) is this machine: 127.0.0.0/8, [::1] or localhost."""
    host = host.strip("[]").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


# schemes whose transport is neither encrypted nor authenticated (git: the git protocol)
PLAINTEXT_SCHEMES = frozenset({"http", "ws", "ftp", "git", "git+http", "git+ftp"})


def in_clear(url: Url) -> bool:
    """Whether fetching ``url`` crosses a network unencrypted: ``http://``, ``git://``,
    ``git+http://`` (...) to a host that is not this machine."""
    return url.scheme in PLAINTEXT_SCHEMES and not is_loopback(url.hostname)


def fetchable_http(url: str, base: str | None = None) -> Url | None:
    """``url`` (resolved against ``base``) if it is an http(s) URL with a host that is not
    fetched in clear over a network (https, or http to this machine), else None."""
    parsed = parse_url(url, base)
    if not is_http_url(parsed) or parsed is None or in_clear(parsed):
        return None
    return parsed


@functools.lru_cache(maxsize=65536)  # rules ask for each entry's URL several times
def registry_resolved(resolved: str, registry: str, replace_host: str) -> str | None:
    """The URL npm fetches for a lockfile ``resolved`` URL: Arborist's ``#registryResolved``.

    ``replace-registry-host`` (default ``npmjs``, meaning ``registry.npmjs.org``) names the
    host whose tarball URLs npm rewrites to the configured default ``registry``: scheme, host
    and port become the registry's and its path is put in front. ``always`` rewrites every
    host, ``never`` (or any host that is not this one) none; a full URL rewrites only URLs
    under its path. Scoped registries are never substituted: only the default one is.
    Returns None when the URL does not parse, where npm drops the entry as damaged.
    """
    parsed = parse_url(resolved)
    if parsed is None:
        return None
    target = parse_url(registry)
    if target is None:
        return resolved
    if replace_host == "npmjs":
        replace_host = "registry.npmjs.org"
    match = parse_url(replace_host)
    match_host = match.hostname if match is not None else replace_host
    match_path = match.pathname.rstrip("/") if match is not None else ""
    if replace_host != "always" and match_host != parsed.hostname:
        return resolved
    if match_path and not _has_prefix(parsed.pathname, match_path):
        return resolved
    from ada_url import URL

    url = URL(parsed.href)
    # Node's setters ignore a value they cannot take (a special scheme onto git+ssh:)
    for attr, value in (
        ("protocol", f"{target.scheme}:"),
        ("hostname", target.hostname),
        ("port", "" if target.port is None else str(target.port)),
    ):
        with contextlib.suppress(ValueError):
            setattr(url, attr, value)
    registry_path = target.pathname.rstrip("/")
    path = str(url.pathname)
    if match_path:
        url.pathname = registry_path + path[len(match_path) :]
    elif registry_path and not _has_prefix(path, registry_path):
        url.pathname = registry_path + path
    return str(url.href)


def _has_prefix(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


__all__ = [
    "TarballRef",
    "Url",
    "fetchable_http",
    "host_of",
    "in_clear",
    "is_http_url",
    "is_loopback",
    "normalise_registry",
    "parse_url",
    "redact",
    "registry_resolved",
    "registry_tarball",
    "registry_tarball_name",
]
