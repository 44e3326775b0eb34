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

import functools
import re
from urllib.parse import unquote

from npmguard.model import SourceKind
from npmguard.urls import Url, parse_url, registry_tarball

# npm-package-arg: specs that are URLs, local paths, tarball file names
_IS_URL = re.compile(r"^(?:git[+])?[a-z]+:", re.IGNORECASE)
_IS_PATH = re.compile(r"^(?:[.]|~[/]|[/\\]|[a-zA-Z]:)")
_IS_TARBALL_FILE = re.compile(r"[.](?:tgz|tar\.gz|tar)$", re.IGNORECASE)
_MAYBE_HOSTED = re.compile(r"[:/@]")
_GIT_SCHEMES = frozenset(
    {"git", "git+http", "git+https", "git+rsync", "git+ftp", "git+file", "git+ssh"}
)


@functools.lru_cache(maxsize=65536)
def classify(resolved: str | None, version: str | None) -> SourceKind:
    """The kind of source npm fetches an entry from: ``resolved``, else the ``version``
    (which old lockfiles use for git, ``file:`` and alias specs), in npm-package-arg's order:
    a file spec, an alias, a repository hosted-git-info knows, a URL, a path, the registry."""
    spec = resolved if resolved is not None else version
    if spec is None:
        return SourceKind.FILE  # nothing to fetch: a folder (link targets, workspaces)
    text = spec.strip()
    lower = text.lower()
    if lower.startswith("file:") or _IS_PATH.match(text):
        return SourceKind.FILE
    if lower.startswith("npm:"):
        return SourceKind.REGISTRY  # an alias: always a registry spec
    if _hosted(text) is not None:
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
    if resolved is not None or "/" in text or _IS_TARBALL_FILE.search(text):
        return SourceKind.FILE  # a bare relative path
    return SourceKind.REGISTRY  # a version, range or tag: fetched from the registry


def _url_kind(url: Url, text: str) -> SourceKind:
    if url.scheme in _GIT_SCHEMES:
        return SourceKind.GIT
    if url.scheme in ("http", "https"):
        ref = registry_tarball(text)
        if ref is not None and url.pathname.lower().endswith(".tgz"):
            return SourceKind.REGISTRY
        return SourceKind.TARBALL
    return SourceKind.TARBALL  # npm refuses other schemes; judged as a download anyway


def consistent_resolved(spec: str) -> str:
    """``spec`` as Arborist keeps a ``resolved`` value (``consistent-resolve``): a repository
    hosted-git-info recognises becomes ``git+ssh://git@<host>/<user>/<repo>.git#<committish>``
    (``git+https://`` with the credentials when it carries some), since npm fetches it that
    way whatever the lockfile wrote; everything else stays as written. Note that
    ``git+http://github.com/...`` is not recognised (GitHub's accepted protocols do not
    include it), so npm fetches it as written: in clear."""
    hosted = _hosted(spec)
    if hosted is None:
        return spec
    domain, user, project, committish, auth = hosted
    tail = f"#{committish}" if committish else ""
    path = project if domain == "gist.github.com" or not user else f"{user}/{project}"
    if auth and domain not in ("gist.github.com", "git.sr.ht"):
        return f"git+https://{auth}@{domain}/{path}.git{tail}"
    if auth:
        return f"git+https://{domain}/{path}.git{tail}"
    return f"git+ssh://git@{domain}/{path}.git{tail}"


# hosted-git-info: domain -> (shortcut, the protocols it accepts for that host)
_HOSTED = {
    "github.com": ("github", frozenset({"git", "http", "git+ssh", "git+https", "ssh", "https"})),
    "bitbucket.org": ("bitbucket", frozenset({"git+ssh", "git+https", "ssh", "https"})),
    "gitlab.com": ("gitlab", frozenset({"git+ssh", "git+https", "ssh", "https"})),
    "gist.github.com": ("gist", frozenset({"git", "git+ssh", "git+https", "ssh", "https"})),
    "git.sr.ht": ("sourcehut", frozenset({"git+ssh", "https"})),
}
_BY_SHORTCUT = {short: domain for domain, (short, _) in _HOSTED.items()}
_AUTH_PROTOCOLS = frozenset({"git+https", "git", "http", "https", "git+http"})
_KNOWN_PROTOCOLS = frozenset({"git+ssh", "ssh"} | _AUTH_PROTOCOLS | set(_BY_SHORTCUT))


@functools.lru_cache(maxsize=16384)
def _hosted(spec: str) -> tuple[str, str | None, str, str, str] | None:
    """(domain, user, project, committish, auth) as hosted-git-info's ``fromUrl`` reads a
    spec, or None for a repository it does not know."""
    if not _MAYBE_HOSTED.search(spec):
        return None  # a version, range or tag: no colon, slash or @ to name a repository
    text = f"github:{spec}" if _is_github_shorthand(spec) else spec
    parsed = _hosted_parse(text)
    if parsed is None:
        return None
    auth = ""
    if parsed.scheme in _AUTH_PROTOCOLS and parsed.has_credentials:
        auth = parsed.username + (f":{parsed.password}" if parsed.password else "")
    if parsed.scheme in _BY_SHORTCUT:
        domain = _BY_SHORTCUT[parsed.scheme]
        path = parsed.pathname.removeprefix("/")
        path = path[path.find("@") + 1 :]
        user_part, _, project = path.rpartition("/")
        user = unquote(user_part) or None
        project = unquote(project).removesuffix(".git")
        return domain, user, project, unquote(parsed.hash[1:]), ""
    domain = parsed.hostname.removeprefix("www.")
    if domain not in _HOSTED or parsed.scheme not in _HOSTED[domain][1]:
        return None
    found = _extract(domain, parsed)
    if found is None:
        return None
    user, project, committish = found
    return domain, user, project, committish, auth


def _extract(domain: str, url: Url) -> tuple[str | None, str, str] | None:
    """(user, project, committish) from a repository URL, per host (hosted-git-info)."""
    parts = url.pathname.split("/")
    committish = unquote(url.hash[1:])
    user, project = [*parts, "", ""][1:3]
    if domain == "github.com":
        kind = parts[3] if len(parts) > 3 else ""
        if kind and kind != "tree":
            return None
        if kind:
            committish = unquote(parts[4]) if len(parts) > 4 else ""
    elif domain == "gitlab.com":
        path = url.pathname[1:]
        if "/-/" in path or "/archive.tar.gz" in path:
            return None
        *owner, project = path.split("/")
        user = "/".join(owner)
    elif domain == "gist.github.com":
        if len(parts) > 3 and parts[3] == "raw":
            return None
        if not project:
            if not user:
                return None
            return None, unquote(user).removesuffix(".git"), committish
    elif len(parts) > 3 and parts[3] == ("get" if domain == "bitbucket.org" else "archive"):
        return None
    project = project.removesuffix(".git")
    if not user or not project:
        return None
    return unquote(user), unquote(project), committish


def _hosted_parse(text: str) -> Url | None:
    """hosted-git-info's ``parseUrl``: a known protocol gets its ``//``, an scp-like
    ``user@host:path`` becomes ``git+ssh://user@host/path``; then Node's URL parser."""
    colon = text.find(":")
    with_protocol = text
    known = colon > -1 and text[:colon] in _KNOWN_PROTOCOLS
    if not known and (colon < 0 or text[colon : colon + 3] != "://"):
        at = text.find("@")
        if at > -1:
            with_protocol = f"git+ssh://{text}" if at > colon else text
        else:
            with_protocol = f"{text[: colon + 1]}//{text[colon + 1 :]}"
    return parse_url(with_protocol) or parse_url(_correct_scp(with_protocol))


def _last_before(text: str, char: str, before: str) -> int:
    stop = text.find(before)
    return text.rfind(char, 0, stop + 1) if stop > -1 else text.rfind(char)


def _correct_scp(url: str) -> str:
    at = _last_before(url, "@", "#")
    colon = _last_before(url, ":", "#")
    if colon > at:
        url = url[:colon] + "/" + url[colon + 1 :]
    if _last_before(url, ":", "#") == -1 and "//" not in url:
        url = f"git+ssh://{url}"
    return url


def _is_github_shorthand(arg: str) -> bool:
    """hosted-git-info's ``isGitHubShorthand``: ``user/repo`` with an optional ``#ref``."""
    hash_at = arg.find("#")
    slash = arg.find("/")
    second_slash = arg.find("/", slash + 1)
    colon, at = arg.find(":"), arg.find("@")
    space = re.search(r"\s", arg)

    def only_after_hash(index: int) -> bool:
        return index == -1 or (hash_at > -1 and index > hash_at)

    ends_ok = arg[hash_at - 1] != "/" if hash_at > -1 else not arg.endswith("/")
    return (
        only_after_hash(space.start() if space else -1)
        and slash > 0
        and ends_ok
        and not arg.startswith(".")
        and only_after_hash(at)
        and only_after_hash(colon)
        and only_after_hash(second_slash)
    )


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
