"""The install-script scanner: the patterns ``install-script-suspicious`` looks for in the
install scripts and the files they run, and the scan of one tarball, stored with its facts.

A tarball is immutable (its integrity names it), so what the scanner finds in the scripts and
texts it holds is too, as long as the scanner is the same: :func:`tarball_scan` is stored
beside the tarball's facts with :func:`scanner_key`, a digest of the patterns and of the code
of every function the scan runs, and a stored scan is used only under the same key (any change
to a pattern, a limit or this module's scanning code gives a new key, and the texts are
scanned again). Kept out of :mod:`npmguard.rules` so the facts codec can use it.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass

from npmguard.facts import ScanHit, TarballFacts
from npmguard.jsontext import loads

INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
IMPLICIT_GYP = "node-gyp rebuild"
IMPLICIT_GYP_SCRIPT = f"{IMPLICIT_GYP} (implicit: binding.gyp)"


_OOB_HOSTS = (
    r"oastify\.com|burpcollaborator\.net|interact\.sh|interactsh\.com|oast\.(?:fun|pro|live|site|"
    r"online|me)|canarytokens\.(?:com|org)|pipedream\.net|webhook\.site|ngrok\.io|ngrok-free\.app|"
    r"ngrok\.app|requestbin\.(?:com|net)|requestcatcher\.com|dnslog\.cn|ceye\.io|beeceptor\.com|"
    r"hookbin\.com|postb\.in|pastebin\.com/raw|trycloudflare\.com|serveo\.net|bxss\.me|xss\.ht|"
    r"discord(?:app)?\.com/api/webhooks|api\.telegram\.org/bot"
)
_FETCH = r"(?:curl|wget)\b"
_HOSTINFO = r"(?:hostname|whoami|pwd|id|uname|env|printenv|ifconfig|ip\s+a)"


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str
    what: str
    regex: re.Pattern[str]
    also: tuple[re.Pattern[str], ...] = ()  # must each match somewhere in the same text
    lead: int = 0  # characters before the match worth showing (the host's subdomain, say)


@functools.cache
def patterns() -> tuple[Pattern, ...]:
    """The scanner's patterns, compiled on first use: a run that reads no tarball facts
    (``--lockfile-only``, most pre-commit runs) never needs them, and compiling them took
    ~1.7 ms of every run."""
    return (
        Pattern(
            "pipe-to-shell",
            "downloads code and pipes it into a shell",
            re.compile(
                rf"{_FETCH}[^|;&\n]{{0,300}}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b"
                rf"|(?:ba)?sh\s+(?:-c\s+)?[\"']?(?:<\(|\$\(){_FETCH}",
                re.I,
            ),
        ),
        Pattern(
            "download-run",
            "downloads a file from a raw address and makes it executable",
            re.compile(
                rf"{_FETCH}[^\n]{{0,200}}https?://\d{{1,3}}(?:\.\d{{1,3}}){{3}}[^\n]*"
                r"[\s\S]{0,600}chmod\s+\+?[0-7]*x",
                re.I,
            ),
        ),
        Pattern(
            "raw-ip-url",
            "talks to a raw IP address",
            re.compile(
                r"https?://(?!127\.|0\.0\.0\.0|10\.|192\.168\.|localhost)"
                r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?/",
                re.I,
            ),
        ),
        Pattern(
            "windows-download",
            "downloads and runs code with Windows tools",
            re.compile(
                r"certutil(?:\.exe)?\s+-urlcache|bitsadmin\s+/transfer|"
                r"(?:Invoke-WebRequest|iwr|DownloadFile|DownloadString)\b[^\n]{0,200}"
                r"(?:Invoke-Expression|iex|Start-Process|\.exe)",
                re.I,
            ),
        ),
        Pattern(
            "env-shell-exfil",
            "sends host or environment details in a request",
            re.compile(
                rf"(?:{_FETCH}|nslookup|dig|ping)[^\n]{{0,300}}"
                rf"(?:\$\(\s*{_HOSTINFO}\b|`\s*{_HOSTINFO}\b)"
                rf"|(?:\benv|printenv)\s*\|\s*(?:curl|wget|nc|base64)",
                re.I,
            ),
        ),
        Pattern(
            "env-serialised",
            "serialises the whole environment (process.env)",
            re.compile(
                r"(?:JSON(?:\.stringify|\[['\"]stringify['\"]\])|querystring\.stringify|"
                r"encodeURIComponent|btoa|Buffer\.from)\(\s*(?:\{\s*\.\.\.)?\s*"
                r"process(?:\.env|\[['\"]env['\"]\])?\s*[},)]"
                r"|Object\.(?:entries|keys)\(\s*process\.env\s*\)[\s\S]{0,200}"
                r"(?:request|fetch|\.write|\.send|dns\.)",
                re.I,
            ),
        ),
        Pattern(
            "host-recon-send",
            "collects host details (user, hostname, home, DNS servers) and sends them out",
            re.compile(r"https?\.(?:request|get)\(|dns\.(?:lookup|resolve\w*)\(|\bfetch\(", re.I),
            also=(
                re.compile(r"os\.(?:userInfo|hostname)\(\)"),
                re.compile(r"dns\.getServers\(\)|os\.homedir\(\)|os\.networkInterfaces\(\)"),
            ),
        ),
        Pattern(
            "out-of-band-host",
            "names an interaction-capture or exfiltration host",
            re.compile(rf"(?:{_OOB_HOSTS})[\w./?=&%-]*", re.I),
            lead=60,
        ),
        Pattern(
            "base64-exec",
            "decodes base64 and runs it",
            re.compile(
                r"(?:eval|Function|runInThisContext|runInNewContext|exec(?:Sync)?)\s*\(\s*"
                r"(?:Buffer\.from|atob)\([^)]{0,5000}?(?:['\"]base64['\"])?\)"
                r"|base64\s+(?:-d|--decode)[^\n|]{0,100}\|\s*(?:ba)?sh\b",
                re.I,
            ),
        ),
        Pattern(
            "dns-exfil",
            "encodes data into DNS lookups",
            re.compile(
                r"dns\.(?:lookup|resolve\w*)\(\s*[^'\"\s)][^)]{0,120}\+\s*['\"]\.[\w-]+\."
                r"|(?:nslookup|dig)\s+[^\n]{0,40}\$\(",
                re.I,
            ),
        ),
    )


_MAX_EXCERPT = 160


def _excerpt(text: str, start: int, end: int) -> str:
    piece = text[start : min(end, start + _MAX_EXCERPT)]
    return re.sub(r"\s+", " ", piece).strip()


def scan_text(text: str) -> list[tuple[Pattern, str]]:
    """Each pattern that matches ``text``, with the matching excerpt."""
    out = []
    for pattern in patterns():
        m = pattern.regex.search(text)
        if m is not None and all(extra.search(text) for extra in pattern.also):
            start = max(0, m.start() - pattern.lead)
            if pattern.lead:  # start the excerpt at a word boundary
                cut = re.search(r"[\s\"'`(]", text[start : m.start()][::-1])
                start = m.start() - cut.start() if cut else start
            excerpt = _excerpt(text, start, m.end())
            out.append((pattern, excerpt or m.group(0)[:_MAX_EXCERPT]))
    return out


def install_time_texts(scripts: Mapping[str, str], texts: Mapping[str, str]) -> dict[str, str]:
    """The files install scripts run, and the files those mention, as far as ``texts`` holds."""
    names = {posixpath.basename(p): p for p in texts if p != "package.json"}
    wanted: list[str] = []
    for command in scripts.values():
        for token in re.split(r"[\s;&|()<>=\"'`]+", command):
            path = posixpath.normpath(token) if token else ""
            for cand in (path, path + ".js"):
                if cand in texts and cand != "package.json" and cand not in wanted:
                    wanted.append(cand)
    index = 0
    while index < len(wanted) and len(wanted) < 20:  # files the run files name, transitively
        body = texts[wanted[index]]
        for base, path in names.items():
            if path not in wanted and re.search(rf"(?<![\w.-]){re.escape(base)}\b", body):
                wanted.append(path)
        index += 1
    return {p: texts[p] for p in wanted}


def gypfile(texts: Mapping[str, str]) -> bool | None:
    """package.json's ``gypfile`` (``false`` turns npm's implicit node-gyp build off)."""
    try:
        manifest = loads(texts.get("package.json", ""))
    except ValueError:
        return None
    value = manifest.get("gypfile") if isinstance(manifest, dict) else None
    return value if isinstance(value, bool) else None


def scan_sources(sources: Mapping[str, str]) -> tuple[ScanHit, ...]:
    """:func:`scan_text` over each source (name -> text), in order."""
    return tuple(
        ScanHit(pattern.id, pattern.what, excerpt, where)
        for where, text in sources.items()
        for pattern, excerpt in scan_text(text)
    )


def tarball_scripts(tarball: TarballFacts) -> dict[str, str]:
    """The install scripts the tarball's package.json declares, with npm's implicit
    ``node-gyp rebuild`` when it ships a binding.gyp and sets no install script."""
    scripts = {k: v for k, v in tarball.manifest_scripts.items() if k in INSTALL_SCRIPTS}
    gyp = "binding.gyp" in tarball.files and gypfile(tarball.texts) is not False
    if gyp and not ({"install", "preinstall"} & scripts.keys()):
        scripts["install"] = IMPLICIT_GYP_SCRIPT
    return scripts


def bundled_sources(tarball: TarballFacts) -> dict[str, str]:
    """The install scripts of the packages bundled in the tarball and the files they run, as
    scanner sources: ``node_modules/a: scripts.postinstall``, ``node_modules/a/install.js``."""
    sources: dict[str, str] = {}
    for where, scripts in sorted(tarball.bundled_scripts.items()):
        sources.update({f"{where}: scripts.{k}": v for k, v in scripts.items()})
        prefix = where + "/"
        inside = {p[len(prefix) :]: t for p, t in tarball.texts.items() if p.startswith(prefix)}
        ran = install_time_texts(scripts, inside)
        sources.update({prefix + p: t for p, t in ran.items()})
    return sources


def tarball_scan(tarball: TarballFacts) -> tuple[ScanHit, ...]:
    """What the scanner finds in the install scripts of the tarball and of the packages
    bundled in it, and in the files they run."""
    scripts = tarball_scripts(tarball)
    sources = {f"scripts.{k}": v for k, v in scripts.items()}
    if scripts:
        sources.update(install_time_texts(scripts, tarball.texts))
    sources.update(bundled_sources(tarball))
    return scan_sources(sources)


@functools.cache
def scanner_key() -> str:
    """A digest of everything a scan's result depends on besides the texts: the patterns,
    the excerpt limit, and the bytecode and constants of the scanning functions (and the
    Python version, whose ``re`` runs them)."""
    digest = hashlib.sha256(sys.version.encode())
    for p in patterns():
        also = [(a.pattern, int(a.flags)) for a in p.also]
        digest.update(
            repr((p.id, p.what, p.regex.pattern, int(p.regex.flags), also, p.lead)).encode()
        )
    digest.update(repr((_MAX_EXCERPT, INSTALL_SCRIPTS, IMPLICIT_GYP_SCRIPT)).encode())
    for fn in (
        _excerpt,
        scan_text,
        install_time_texts,
        gypfile,
        scan_sources,
        tarball_scripts,
        bundled_sources,
        tarball_scan,
    ):
        _code_digest(fn.__code__, digest)
    return digest.hexdigest()[:32]


def _code_digest(code: types.CodeType, digest: hashlib._Hash) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(const, digest)
        else:
            digest.update(repr(const).encode())
