"""Where an npm lockfile entry's code comes from, read as npm-package-arg reads a spec.

npm installs an entry from its ``resolved`` value (or, with none, from ``name@version`` on the
registry for that name); the kind of source follows from how ``npm-package-arg`` classifies
that spec: a ``file:`` or path spec is a local tarball or folder, a hosted-git shortcut or URL
(``github:u/r``, ``https://github.com/u/r.git``) or a ``git+...``/``git:`` URL is git, another
http(s) URL is a remote tarball, and the rest (a version, a range, a tag, an ``npm:`` alias) is
the registry. URLs are read as Node reads them (:func:`npmguard.urls.parse_url`); an http(s)
URL whose path is a registry tarball's (``<name>/-/<name>-<version>.tgz``) is a registry
package, any other one a remote tarball.
"""

from __future__ import annotations

import re

from npmguard.model import SourceKind
from npmguard.urls import Url, parse_url, registry_tarball

# npm-package-arg: specs that are URLs, scp-like git, local paths, tarball file names
_IS_URL = re.compile(r"^(?:git[+])?[a-z]+:", re.IGNORECASE)
_IS_SCP_GIT = re.compile(r"^[^@]+@[^:.]+\.[^:]+:.+$", re.IGNORECASE)
_IS_PATH = re.compile(r"^(?:[.]|~[/]|[/\\]|[a-zA-Z]:)")
_IS_TARBALL_FILE = re.compile(r"[.](?:tgz|tar\.gz|tar)$", re.IGNORECASE)
_SHORTCUTS = ("github:", "gitlab:", "bitbucket:", "gist:", "sourcehut:")
# hosted-git-info: a repository URL on one of these hosts is git, not a tarball
_GIT_HOSTS = frozenset(
    {"github.com", "gitlab.com", "bitbucket.org", "gist.github.com", "git.sr.ht"}
)
_SHORTCUT_HOSTS = {
    "github:": "github.com",
    "gitlab:": "gitlab.com",
    "bitbucket:": "bitbucket.org",
    "gist:": "gist.github.com",
}
# a GitHub "user/repo" shorthand (npm-package-arg's isGitHubShorthand)
_SHORTHAND = re.compile(r"^[^:@%/\s.-][^:@%/\s]*/[^:@\s/%]+(?:#.*)?$")
_GIT_SCHEMES = frozenset(
    {"git", "git+http", "git+https", "git+rsync", "git+ftp", "git+file", "git+ssh"}
)


def classify(resolved: str | None, version: str | None) -> SourceKind:
    """The kind of source npm fetches an entry from: ``resolved``, else the ``version``
    (which old lockfiles use for git, ``file:`` and alias specs)."""
    spec = resolved if resolved is not None else version
    if spec is None:
        return SourceKind.FILE  # nothing to fetch: a folder (link targets, workspaces)
    text = spec.strip()
    lower = text.lower()
    if lower.startswith("file:") or _IS_PATH.match(text):
        return SourceKind.FILE
    if lower.startswith("npm:"):
        return SourceKind.REGISTRY  # an alias: always a registry spec
    if lower.startswith(_SHORTCUTS):
        return SourceKind.GIT
    if _IS_URL.match(text) and lower.split(":", 1)[0] in _GIT_SCHEMES:
        return SourceKind.GIT  # git+ssh://git@host:user/repo is scp-like, not a URL
    parsed = parse_url(text)
    if parsed is not None and parsed.scheme != "file" and (parsed.hostname or _IS_URL.match(text)):
        # what Node reads as a URL is judged as one, even where npm-package-arg would not
        # (a tab inside the scheme): npmguard errs towards the stricter reading
        return _url_kind(parsed, text)
    if _IS_URL.match(text):
        # Node refuses it: a broken http(s) URL is still judged as a download
        return SourceKind.TARBALL if lower.startswith("http") else SourceKind.FILE
    if _IS_SCP_GIT.match(text) or _SHORTHAND.match(text):
        return SourceKind.GIT
    if resolved is not None:
        return SourceKind.FILE  # a bare relative path
    return SourceKind.REGISTRY  # a version, range or tag: fetched from the registry


def _url_kind(url: Url, text: str) -> SourceKind:
    if url.scheme in _GIT_SCHEMES or _hosted_repository(url):
        return SourceKind.GIT
    if url.scheme in ("http", "https"):
        ref = registry_tarball(text)
        if ref is not None and url.pathname.lower().endswith(".tgz"):
            return SourceKind.REGISTRY
        return SourceKind.TARBALL
    if url.scheme == "file":
        return SourceKind.FILE
    return SourceKind.TARBALL  # npm refuses other schemes; judged as a download anyway


def _hosted_repository(url: Url) -> bool:
    """A repository URL hosted-git-info recognises (``https://github.com/u/r.git``)."""
    if url.hostname not in _GIT_HOSTS or url.scheme not in ("http", "https", "ssh", "git"):
        return False
    parts = [p for p in url.pathname.split("/") if p]
    if len(parts) == 2:
        return True
    return len(parts) >= 3 and parts[2] == "tree"  # github.com/u/r/tree/<committish>


def consistent_resolved(spec: str) -> str:
    """``spec`` as Arborist keeps a ``resolved`` value (``consistent-resolve``): a repository
    on a known git host becomes its ``git+ssh://git@<host>/<user>/<repo>.git#<committish>``
    URL (``git+https://`` with the credentials when it carries some), since npm fetches it
    that way whatever the lockfile wrote; everything else stays as written."""
    hosted = _hosted_parts(spec)
    if hosted is None:
        return spec
    host, path, committish, auth = hosted
    tail = f"#{committish}" if committish else ""
    if auth:
        return f"git+https://{auth}@{host}/{path}.git{tail}"
    return f"git+ssh://git@{host}/{path}.git{tail}"


def _hosted_parts(spec: str) -> tuple[str, str, str, str] | None:
    """(host, "user/repo", committish, auth) for a spec hosted-git-info recognises."""
    text = spec.strip()
    committish = ""
    if "#" in text:
        text, committish = text.split("#", 1)
    for prefix, host in _SHORTCUT_HOSTS.items():
        if text.lower().startswith(prefix):
            text = f"https://{host}/{text[len(prefix) :]}"
            break
    else:
        if _SHORTHAND.match(spec.strip()):
            text = f"https://github.com/{text}"
    scp = re.match(r"^(?:git\+ssh://)?([^@/:]+@)?([^/:]+):(?!\d+(?:/|$))(.+)$", text)
    if scp and scp.group(2).lower() in _GIT_HOSTS:
        text = f"ssh://{scp.group(1) or ''}{scp.group(2)}/{scp.group(3)}"
    parsed = parse_url(text.removeprefix("git+"))
    if parsed is None or not _hosted_repository(parsed):
        return None
    parts = [p for p in parsed.pathname.split("/") if p][:2]
    parts[1] = parts[1].removesuffix(".git")
    auth = ""
    if parsed.scheme in ("http", "https") and parsed.has_credentials:
        auth = parsed.username + (f":{parsed.password}" if parsed.password else "")
    return parsed.hostname, "/".join(parts), committish, auth


def name_from_folder(location: str) -> str:
    """The package name a folder stands for (``@npmcli/name-from-folder``): its base name,
    with the scope when the parent folder is one (``node_modules/@a/b`` -> ``@a/b``)."""
    parts = location.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2].startswith("@"):
        return f"{parts[-2]}/{parts[-1]}"
    return parts[-1]


def is_tarball_file(spec: str) -> bool:
    """Whether a ``file:`` spec names a tarball (else it is a folder npm links)."""
    return bool(_IS_TARBALL_FILE.search(spec.split("#", 1)[0]))


__all__ = ["classify", "consistent_resolved", "is_tarball_file", "name_from_folder"]
