"""Install scripts: which packages run code at install time, and which of them look hostile.

``install-script`` lists every preinstall/install/postinstall that neither the policy nor
npm's own ``allowScripts`` approves. ``install-script-suspicious`` reads the scripts and the
files they run (as far as the tarball facts hold their text) for code that fetches and runs
something, or sends the machine's environment out. Its patterns are kept narrow on purpose:
the install steps of native builds (node-gyp, prebuild-install, esbuild's install.js, husky,
patch-package, core-js's banner) must never match.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from npmguard.allow_scripts import script_approval
from npmguard.facts import Need, PackageFacts
from npmguard.jsontext import loads
from npmguard.managers import manager_for
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.rules.history import allow_entry, newest

FAMILY = "install scripts"
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
IMPLICIT_GYP = "node-gyp rebuild"


@dataclass(frozen=True, slots=True)
class InstallScripts:
    """The install-time scripts of one package and where each was read."""

    scripts: Mapping[str, str]  # lifecycle -> command
    source: str  # "registry", "tarball", "lockfile"


def install_scripts(pkg: LockedPackage, facts: PackageFacts | None) -> InstallScripts | None:
    """What runs at install time, or None when nothing does (as far as is known)."""
    scripts: dict[str, str] = {}
    source = "lockfile"
    if facts is not None and facts.tarball is not None:
        scripts = {k: v for k, v in facts.tarball.manifest_scripts.items() if k in INSTALL_SCRIPTS}
        source = "tarball"
        gyp = "binding.gyp" in facts.tarball.files and _gypfile(facts.tarball.texts) is not False
    elif facts is not None and facts.manifest is not None:
        scripts = {k: v for k, v in facts.manifest.scripts.items() if k in INSTALL_SCRIPTS}
        source = "registry"
        gyp = bool(facts.manifest.gyp_file)
    else:
        gyp = False
    # npm adds `install: node-gyp rebuild` when binding.gyp exists and no install script is set
    if gyp and not ({"install", "preinstall"} & scripts.keys()):
        scripts["install"] = f"{IMPLICIT_GYP} (implicit: binding.gyp)"
    if not scripts and pkg.has_install_script:
        scripts["install script"] = "(text unknown: the lockfile says hasInstallScript)"
    return InstallScripts(scripts, source) if scripts else None


def _gypfile(texts: Mapping[str, str]) -> bool | None:
    """package.json's ``gypfile`` (``false`` turns npm's implicit node-gyp build off)."""
    try:
        manifest = loads(texts.get("package.json", ""))
    except ValueError:
        return None
    value = manifest.get("gypfile") if isinstance(manifest, dict) else None
    return value if isinstance(value, bool) else None


@register
class InstallScript(PackageRule):
    id = "install-script"
    level = Level.WARN
    family = FAMILY
    description = "A package runs a preinstall/install/postinstall script that nobody approved."
    help = (
        "Install scripts run with your user's rights on `npm install`. A script is approved by "
        "an allow entry for this rule in the policy, or by npm's own `allowScripts` in the "
        "project's package.json (a name, or `name@exact-version`; `false` denies). Native "
        "builds (esbuild, sharp, bcrypt, fsevents) and a few banners (core-js) are the common "
        "legitimate cases, so the default policy warns; the strict policy blocks until each "
        "one is approved. Bundled dependencies are skipped: npm does not run their scripts. "
        "A binding.gyp without an install script counts: npm runs `node-gyp rebuild` for it."
    )
    needs = frozenset({Need.PACKUMENT})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        if pkg.bundled:
            return
        found = install_scripts(pkg, ctx.facts_for(pkg))
        if found is None:
            return
        approval = script_approval(
            pkg.name, pkg.resolved, ctx.project.allow_scripts, registry=pkg.on_registry
        )
        if approval is True:
            return
        evidence = [Evidence(f"script {k}", v, found.source) for k, v in found.scripts.items()]
        level = self.level
        if approval is False:  # npm will not run it: say so, but it does not need a decision
            evidence.append(Evidence("allowScripts", "false (npm will not run it)", "package.json"))
            level = Level.INFO
        yield self.finding(
            pkg,
            "runs " + ", ".join(found.scripts) + " at install time",
            evidence=tuple(evidence),
            hint=_approve_hint(pkg, ctx, self.id),
            level=level,
        )


def _approve_hint(pkg: LockedPackage, ctx: CheckContext, rule: str) -> str:
    """How to approve the script: npm's allowScripts (which npmguard reads) for npm
    lockfiles; else the policy, and what the lockfile's own manager does with the script."""
    manager = manager_for(ctx.lockfile.format)
    allow = allow_entry(pkg.name, pkg.version, rule)
    if not manager.script_approval:
        return (
            f'review the script, then approve it in package.json ("allowScripts": '
            f'{{"{pkg.name}@{pkg.version}": true}}) or in the policy: {allow}'
        )
    own = manager.script_approval.format(name=pkg.name, spec=f"{pkg.name}@{pkg.version}")
    return f"review the script, then approve it in the policy: {allow}; {own}"


# --- suspicious content ------------------------------------------------------------------------

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


PATTERNS: tuple[Pattern, ...] = (
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
    for pattern in PATTERNS:
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


@register
class SuspiciousInstallScript(PackageRule):
    id = "install-script-suspicious"
    level = Level.BLOCK
    family = FAMILY
    description = "An install script fetches and runs code, or sends the environment out."
    help = (
        "Reads the install scripts and the files they run (from the tarball) for: `curl`/`wget` "
        "piped to a shell (`pipe-to-shell`), a download from a raw IP made executable "
        "(`download-run`), raw-IP URLs (`raw-ip-url`), certutil/bitsadmin/PowerShell downloads "
        "(`windows-download`), `$(hostname)`/`$(whoami)`/`env |` sent in a request "
        "(`env-shell-exfil`), `JSON.stringify(process.env)` (`env-serialised`), host details "
        "(user, hostname, home, DNS servers) collected and sent (`host-recon-send`), "
        "interaction-capture and exfiltration hosts such as oastify.com, burpcollaborator.net, "
        "interact.sh, webhook.site, pipedream.net, ngrok, Discord webhooks (`out-of-band-host`), "
        "base64 decoded into eval/Function/exec (`base64-exec`) and data encoded into DNS "
        "lookups (`dns-exfil`). Each match is evidence with the excerpt. Native-build steps "
        "(node-gyp, prebuild-install, esbuild's install.js) do not match these."
    )
    needs = frozenset({Need.PACKUMENT, Need.TARBALL})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.facts_for(pkg)
        if pkg.bundled or facts is None:
            return
        found = install_scripts(pkg, facts)
        if found is None:
            return
        texts = facts.tarball.texts if facts.tarball is not None else {}
        sources = {f"scripts.{k}": v for k, v in found.scripts.items()}
        sources.update(install_time_texts(found.scripts, texts))
        evidence: list[Evidence] = []
        ids: list[str] = []
        for where, text in sources.items():
            for pattern, excerpt in scan_text(text):
                if pattern.id not in ids:
                    ids.append(pattern.id)
                evidence.append(Evidence(f"{pattern.id}: {pattern.what}", excerpt, where))
        if not evidence:
            return
        safe = None
        if facts.versions:
            safe = newest(
                (v for v in facts.versions if v.has_install_script is False), below=pkg.version
            )
        hint = (
            f"do not install {pkg.key}; {pkg.name}@{safe.version} has no install script"
            if safe is not None
            else f"do not install {pkg.key}; remove the dependency that pulls it in"
        )
        yield self.finding(
            pkg,
            f"install script looks hostile ({', '.join(ids)})",
            evidence=tuple(evidence),
            hint=hint + "; report it to the registry (npm: security@npmjs.com)",
        )
