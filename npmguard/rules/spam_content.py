"""Spam floods, read from package content: tea.yaml, no code, self-republishing, version floods.

Each signal alone is weak (legitimate maintainers claimed their projects on tea.xyz too), so
these warn; ``spam-score`` (in :mod:`npmguard.rules.spam_graph`) adds them up with the name and
graph signals and blocks when enough agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar

from npmguard.facts import Detail, Need, PackageFacts, TarballFacts
from npmguard.jsontext import loads
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import DAYS, MANY, CheckContext, Option, PackageRule, register
from npmguard.rules.history import allow_entry, day, has_publish_times, is_prerelease, newest
from npmguard.versions import VersionList

FAMILY = "spam"
CONTENT = frozenset({Need.PACKUMENT, Need.TARBALL})


def _facts(pkg: LockedPackage, ctx: CheckContext) -> PackageFacts | None:
    return ctx.facts_for(pkg) if pkg.on_registry else None


def tarball_manifest(tarball: TarballFacts) -> dict[str, Any]:
    """The tarball's package.json as far as its text was kept; {} when unknown or invalid."""
    try:
        loaded = loads(tarball.texts.get("package.json", ""))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _allow_hint(pkg: LockedPackage, rule: str, what: str) -> str:
    return f"{what}; if it is wanted, once reviewed: " + allow_entry(pkg.name, pkg.version, rule)


@register
class TeaYaml(PackageRule):
    id = "tea-yaml"
    level = Level.WARN
    family = FAMILY
    description = "The package carries a tea.yaml (tea.xyz token farming) or the tea protocol."
    help = (
        "tea.xyz rewarded packages by how much they were depended on, and the 2024 waves and "
        "the IndonesianFoods campaign published tens of thousands of packages with a "
        "`tea.yaml` to farm those rewards. Some real maintainers also added one to claim their "
        "project, so this warns and feeds `spam-score`."
    )
    needs = CONTENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _facts(pkg, ctx)
        if facts is None:
            return
        evidence: list[Evidence] = []
        tarball = facts.tarball
        if tarball is not None and tarball.has_tea_yaml:
            name = next(
                (f for f in tarball.files if f.lower() in ("tea.yaml", "tea.yml")), "tea.yaml"
            )
            text = tarball.texts.get(name, "")
            lines = [
                ln.strip()
                for ln in text.splitlines()
                if re.search(r"0x[0-9a-f]{8,}|account|codeLead", ln, re.I)
            ]
            evidence.append(Evidence("file", name, "tarball"))
            if lines:
                evidence.append(Evidence("tea.yaml says", " | ".join(lines[:3]), f"tarball {name}"))
        if facts.manifest is not None and facts.manifest.tea_protocol:
            evidence.append(Evidence("package.json", "mentions the tea protocol", "registry"))
        if not evidence:
            return
        yield self.finding(
            pkg,
            "carries tea.xyz token-farming metadata",
            evidence=tuple(evidence),
            hint=_allow_hint(pkg, self.id, "check that the package does something you use"),
        )


# Files that are not code nor data anyone imports: manifest, docs, licences, tooling config.
_META_NAMES = re.compile(
    r"^(package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|"
    r"tea\.ya?ml|(readme|licen[cs]e|copying|changelog|changes|history|authors|contributors|"
    r"contributing|notice|security|code_of_conduct|funding|todo)([.-][\w.-]*)?|"
    r"[\w-]+\.config\.[cm]?[jt]s|"
    r"(jest|babel|webpack|rollup|vite|vitest|karma|gulpfile|gruntfile)[\w.-]*\.[cm]?[jt]s|"
    r"makefile|dockerfile|procfile|vercel\.json|netlify\.toml|renovate\.json)$",
    re.I,
)
_META_EXT = (".md", ".markdown", ".txt", ".rst", ".log", ".lock", ".patch", ".diff", ".map")


def is_meta_file(path: str) -> bool:
    """Whether a packaged file is only a manifest, docs, licence or tooling config."""
    parts = path.split("/")
    base = parts[-1]
    if any(p.startswith(".") for p in parts):  # .github/, .eslintrc, .npmignore, ...
        return True
    if parts[0].lower() in ("test", "tests", "__tests__", "docs", "doc", "example", "examples"):
        return True
    return bool(_META_NAMES.match(base)) or base.lower().endswith(_META_EXT)


# scopes only their owners publish to, whose stub packages are empty on purpose (DefinitelyTyped
# replaces types a package now ships itself with a stub)
TRUSTED_STUB_SCOPES = ("@types/",)

_TEMPLATE_ENTRY = re.compile(
    r"^(src/(app|main|index)\.(jsx|tsx|vue|svelte)|src/(app|main)\.(js|ts)|"
    r"app/(page|layout)\.(jsx|tsx|js)|pages/(index|_app)\.(jsx|tsx|js))$",
    re.I,
)
_TEMPLATE_HTML = ("index.html", "public/index.html")
_TEMPLATE_CONFIG = re.compile(r"^(vite|next|nuxt|svelte|astro|webpack)\.config\.[cm]?[jt]s$")


def template_app(tarball: TarballFacts, manifest: Mapping[str, Any]) -> list[str]:
    """The files that make this look like a bare app template (empty list when it does not).

    An app template has an app entry (``src/App.jsx``, ``src/main.ts``, ``app/page.tsx``,
    ``pages/index.js``), an HTML page or an app-framework config at the root, and exports
    nothing a library would: no main, module, exports, bin, types.
    """
    if any(manifest.get(k) for k in ("main", "module", "exports", "bin", "types", "typings")):
        return []
    entries = [f for f in tarball.files if _TEMPLATE_ENTRY.match(f)]
    frame = [f for f in tarball.files if f in _TEMPLATE_HTML or _TEMPLATE_CONFIG.match(f)]
    return entries[:2] + frame[:2] if entries and frame else []


@register
class NoCode(PackageRule):
    id = "no-code"
    level = Level.WARN
    family = FAMILY
    description = "The package has nothing to run or import, or is a bare app template."
    help = (
        "Counts as content anything that is not a manifest, readme, licence, changelog, "
        "tooling config, test or doc folder: JavaScript and TypeScript (including `.d.ts` type "
        "packages), JSON data (`mime-db`, `spdx-license-ids`), CSS and fonts, binaries, shell "
        "scripts. A package with none of it only exists to be counted (tea.xyz farming) or to "
        "hold a name. A web app template (an `src/App.jsx` or `app/page.tsx` next to an "
        "index.html or a vite/next config) that exports nothing (no main/module/exports/bin) "
        "is the other shape the IndonesianFoods campaign published by the thousand. "
        "Deprecated placeholders are reported as info, and `@types/` stubs not at all (only "
        "DefinitelyTyped publishes there). tsconfig.json counts as content (`@tsconfig/*`)."
    )
    needs = CONTENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _facts(pkg, ctx)
        if facts is None or facts.tarball is None or pkg.name.startswith(TRUSTED_STUB_SCOPES):
            return
        tarball = facts.tarball
        deprecated = facts.manifest.deprecated if facts.manifest is not None else None
        if all(map(is_meta_file, tarball.files)):  # stops at the first file with content
            yield self.finding(
                pkg,
                "nothing to run or import: only manifest, docs and config files",
                evidence=(
                    Evidence("files", ", ".join(tarball.files[:12]) or "(none)", "tarball"),
                    Evidence("unpacked size", f"{tarball.unpacked_size} bytes", "tarball"),
                    *((Evidence("deprecated", deprecated, "registry"),) if deprecated else ()),
                ),
                hint=_allow_hint(
                    pkg, self.id, "remove the dependency unless you know why it is there"
                ),
                # a deprecated placeholder says what it is: information, not a spam signal
                level=Level.INFO if deprecated else self.level,
            )
            return
        template = template_app(tarball, tarball_manifest(tarball))
        if template:
            yield self.finding(
                pkg,
                "an app template published as a library: nothing to import",
                evidence=(
                    Evidence("app files", ", ".join(template), "tarball"),
                    Evidence("package.json", "no main, module, exports, bin or types", "tarball"),
                ),
                hint=_allow_hint(
                    pkg, self.id, "remove the dependency unless you know why it is there"
                ),
            )


_PUBLISH = re.compile(
    r"\b(?:npm|yarn|pnpm)(?:\s+[-\w]+)*\s+publish\b|['\"](?:npm|yarn|pnpm)['\"]\s*,\s*"
    r"\[\s*['\"]publish['\"]",
    re.I,
)
_LOOP = re.compile(
    r"\bwhile\s*(?:\(|true|:)|\bfor\s*\(|\bfor\s+\w+\s+in\b|\bsetInterval\s*\(|\.forEach\s*\(|"
    r"\buntil\s+",
)
_WRITES_MANIFEST = (
    re.compile(
        r"(?:writeFile(?:Sync)?|outputJson(?:Sync)?|writeJson(?:Sync)?)\s*\([^;\n]{0,120}"
        r"package\.json|(?:sed\s+-i|jq)[^\n]{0,120}package\.json",
        re.I,
    ),
    # the name or version set in code, then a file written
    re.compile(r"\.(?:name|version)\s*=[^=][\s\S]{0,400}writeFile(?:Sync)?\s*\(", re.I),
)


def autopublish_evidence(texts: Mapping[str, str], scripts: Mapping[str, str]) -> list[Evidence]:
    """Evidence of code that republishes the package: publish inside a loop, or publish after
    rewriting package.json."""
    sources = {p: t for p, t in texts.items() if not is_meta_file(p) or p.endswith(".sh")}
    for key, command in scripts.items():
        sources[f"scripts.{key}"] = command
    out: list[Evidence] = []
    for where, text in sources.items():
        if "publish" not in text.lower():  # a plain substring test first: texts can be large
            continue
        publish = _PUBLISH.search(text)
        if publish is None:
            continue
        excerpt = re.sub(r"\s+", " ", text[publish.start() : publish.start() + 100]).strip()
        # the loop must open shortly before the publish command, not anywhere in a big file
        loop = _LOOP.search(text, max(0, publish.start() - 800), publish.start() + 1)
        writes = next((m for rx in _WRITES_MANIFEST if (m := rx.search(text))), None)
        if loop is None and writes is None:
            continue
        out.append(Evidence("publishes", excerpt, where))
        if loop is not None:
            out.append(Evidence("in a loop", re.sub(r"\s+", " ", loop.group(0)), where))
        if writes is not None:
            found = re.sub(r"\s+", " ", writes.group(0))[:100]
            out.append(Evidence("rewrites package.json", found, where))
    return out


@register
class AutopublishScript(PackageRule):
    id = "autopublish-script"
    level = Level.WARN
    family = FAMILY
    description = "The package ships code that republishes itself (npm publish in a loop)."
    help = (
        "Spam floods are produced by scripts that rewrite package.json's name and version and "
        "run `npm publish` over and over; the tea.xyz and IndonesianFoods packages ship those "
        "scripts inside themselves. Matches files whose text is known (scripts and the files "
        "at the package root) and package.json scripts that run a publish command inside a "
        "loop, or after writing package.json. A plain `npm version patch && npm publish` "
        "release script does not match."
    )
    needs = CONTENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _facts(pkg, ctx)
        if facts is None or facts.tarball is None:
            return
        evidence = autopublish_evidence(facts.tarball.texts, facts.tarball.manifest_scripts)
        if evidence:
            yield self.finding(
                pkg,
                "ships a script that republishes packages",
                evidence=tuple(evidence),
                hint=_allow_hint(pkg, self.id, "remove the dependency: packages do not need this"),
            )


# publish times (ms) within this bound turn into datetimes exactly (a float of seconds
# below 2**32 is within 0.25 us of the millisecond it came from, and rounds to it)
_EXACT_MS = 2**32 * 1000


def _largest_window(listed: VersionList, window: timedelta, count_pre: bool) -> int | None:
    """How many of ``listed``'s timed versions (prereleases only with ``count_pre``) the
    busiest ``window`` holds: :class:`VersionFlood`'s count, from the publish-time column
    (milliseconds; the same instants ``VersionInfo.published`` holds). None for a time
    outside the years 1834-2106, where only the objects give the rule's answer."""
    times = sorted(
        t
        for t, name in zip(listed.times, listed.names, strict=True)
        if t is not None and (count_pre or not is_prerelease(name))
    )
    if times and not (times[0] > -_EXACT_MS and times[-1] < _EXACT_MS):
        return None
    limit_us = window // timedelta(microseconds=1)
    best = start = 0
    for end, at in enumerate(times):
        while (at - times[start]) * 1000 > limit_us:
            start += 1
        best = max(best, end - start + 1)
    return best


@register
class VersionFlood(PackageRule):
    id = "version-flood"
    level = Level.WARN
    family = FAMILY
    description = "Many versions published in a short window."
    help = (
        "Farming scripts publish version after version to look active. At least `versions` "
        "(default 20) stable versions within `hours` (default 24) is a flood; prereleases "
        "(nightly and canary builds, which real projects publish daily) are not counted unless "
        "`prereleases = true`. Needs real publish times."
    )
    needs = frozenset({Need.PACKUMENT})
    details = frozenset({Detail.PUBLISH_TIMES})
    options: ClassVar[Mapping[str, Option]] = {
        "versions": Option(20, "this many versions or more in the window is a flood", 1, MANY),
        "hours": Option(24, "the window, in hours", 0, DAYS * 24),
        "prereleases": Option(False, "count prerelease versions too"),
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = _facts(pkg, ctx)
        if facts is None or not facts.versions or not has_publish_times(facts):
            return
        count_pre = bool(ctx.option(self, "prereleases"))
        wanted = int(ctx.option(self, "versions"))
        window = timedelta(hours=float(ctx.option(self, "hours")))
        if isinstance(facts.versions, VersionList):
            largest = _largest_window(facts.versions, window, count_pre)
            if largest is not None and largest < wanted:
                return  # answered from the stored columns, no version objects built
        timed = sorted(
            (
                v
                for v in facts.versions
                if v.published is not None and (count_pre or not is_prerelease(v.version))
            ),
            key=lambda v: v.published,  # type: ignore[arg-type, return-value]
        )
        best = (0, 0)
        start = 0
        for end, info in enumerate(timed):
            while info.published - timed[start].published > window:  # type: ignore[operator]
                start += 1
            if end - start + 1 > best[1] - best[0]:
                best = (start, end + 1)
        size = best[1] - best[0]
        if size < wanted:
            return
        first, last = timed[best[0]], timed[best[1] - 1]
        flood = {id(v) for v in timed[best[0] : best[1]]}  # a set: one pass, not a scan each
        steady = newest(v for v in facts.versions if id(v) not in flood)
        yield self.finding(
            pkg,
            f"{size} versions published within {window.total_seconds() / 3600:g} hours",
            evidence=(
                Evidence(
                    "versions in the window",
                    f"{size} ({first.version} .. {last.version})",
                    "registry",
                ),
                Evidence("window", f"{first.published} .. {last.published}", "registry"),
                Evidence("versions in all", str(len(facts.versions)), "registry"),
            ),
            hint=(
                f"{pkg.name}@{steady.version} (published {day(steady.published)}) "
                "is outside the flood; "
                if steady is not None
                else ""
            )
            + _allow_hint(pkg, self.id, "check the package is what you meant to install"),
        )
