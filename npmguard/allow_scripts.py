"""npm's ``allowScripts`` approvals (package.json), matched the way npm 11.19 matches them
(arborist ``lib/script-allowed.js``; a differential test runs that file on the same cases).

A package's identity is the one its locked ``resolved`` URL gives (``/<name>/-/<name>-<v>.tgz``,
as arborist's ``version-from-tgz.js`` reads it), never the name its own package.json claims;
without a ``resolved`` URL the name is the dependency's and the version is unknown. Keys:

- a bare name or ``name@*``: any version of a registry package of that name;
- ``name@1.2.3`` (as written: ``v1.2.3`` matches nothing) or exact versions joined by ``||``:
  those versions (an unknown version is never allowed, and always denied by ``false``);
- other ranges (``^1``) and dist-tags match nothing (npm refuses them);
- an http(s) tarball URL: the package whose ``resolved`` is that URL;
- git, ``file:`` and alias keys: not read here (npm matches them by source; npmguard treats
  those packages as unreviewed, never as approved).

Registry-style keys match registry packages only. ``false`` wins over any ``true``. Bundled
dependencies never run install scripts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from posixpath import basename
from urllib.parse import urlsplit

from npmguard.semver import valid_range, version_key

_URL = re.compile(r"^(?:git[+])?[a-z]+:", re.IGNORECASE)
_SCOPE_SPLIT = re.compile(r"/|%2f", re.IGNORECASE)
_LOOSE_PREFIX = re.compile(r"^[v=\s]+")


def _version(text: str) -> str | None:
    """node-semver's parse: the version without its build metadata, or None."""
    text = text.strip()
    if version_key(text) is None:
        return None
    return text.lstrip("v").split("+", 1)[0]


def trusted_identity(resolved: str | None, name: str) -> tuple[str, str | None] | None:
    """(name, version) of a registry package as npm trusts it: from the tarball URL, else the
    dependency's name with an unknown version."""
    if resolved and (found := _from_tarball(resolved)) is not None:
        return found
    return (name, None) if name else None


def _from_tarball(tgz: str) -> tuple[str, str] | None:
    base = basename(tgz)
    if not base.endswith(".tgz"):
        return None
    if tgz.startswith(("http:/", "https:/")):
        parts = urlsplit(tgz).path[1:].split("/-/")
        if len(parts) > 1 and parts[-1] == base:
            names = _SCOPE_SPLIT.split(parts[-2])
            scope = names[-2] if len(names) > 1 else None
            return _from_base(base, scope, names[-1])
    return _from_base(base, None, "")


def _from_base(base: str, scope: str | None, name: str) -> tuple[str, str] | None:
    if not base.startswith(name + "-"):
        return None
    version = _version(base[len(name) + 1 : -4])
    if version is None:
        return None
    return (f"{scope}/{name}" if scope and scope.startswith("@") else name, version)


def _matches(
    key: str,
    identity: tuple[str, str | None] | None,
    resolved: str | None,
    registry: bool,
    deny: bool,
) -> bool:
    if _URL.match(key):
        return key.startswith(("http:", "https:")) and resolved == key
    at = key.find("@", 1)
    key_name, spec = (key[:at], key[at + 1 :] or "*") if at > 0 else (key, "*")
    if spec.startswith(("npm:", "file:")) or _URL.match(spec) or "/" in spec:
        return False  # alias, file, URL or git forms: see the module docstring
    if not registry or identity is None or identity[0] != key_name:
        return False
    version = identity[1]
    if spec == "*":
        return True
    if version_key(_LOOSE_PREFIX.sub("", spec.strip())) is not None:
        # npa reads a (loose) version; arborist compares it as written: "v1.0.0" is not 1.0.0
        return deny if version is None else version == spec
    if not valid_range(spec):
        return False  # a dist-tag
    wanted = [p.strip() for p in spec.split("||")]
    if not all(w and version_key(w) is not None for w in wanted):
        return False  # ranges other than exact versions are not approvals
    if version is None:
        return deny
    return version in {_version(w) for w in wanted}


def script_approval(
    name: str, resolved: str | None, allow_scripts: Mapping[str, bool], *, registry: bool = True
) -> bool | None:
    """True if approved, False if explicitly denied, None if not reviewed.

    ``name`` is the package's name as its dependents ask for it (aliases resolved);
    ``resolved`` its locked URL, which gives the identity when it names a registry tarball
    (without one the version is unknown, as for npm). ``registry`` is False for git, remote
    tarball, file and link sources.
    """
    identity = trusted_identity(resolved, name)
    allowed = denied = False
    for key, value in allow_scripts.items():
        if _matches(key, identity, resolved, registry, deny=value is False):
            if value is False:
                denied = True
            elif value is True:
                allowed = True
    if denied:
        return False
    return True if allowed else None
