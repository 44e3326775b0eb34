"""What a release adds over its previous version: an install script, a command, a dependency.

Each addition alone is routine on real release histories (``benchmarks/replay_history.py``),
so alone these rules inform. What the documented attacks had is a *combination*: something
added in a release that also changed hands (an account new to the project, or lost
provenance) or ended a quiet period (see :mod:`npmguard.rules.handover`). Those warn; and the
rules block only for the combinations the benign histories never show:

- an install script added in a release that lost the provenance earlier releases had
  (@ctrl/tinycolor 4.1.1, published with a stolen token by the Shai-Hulud worm);
- a brand-new dependency that runs an install script, in a release that changed hands or
  woke up (axios 1.14.1 adding plain-crypto-js, March 2026);
- a brand-new dependency published by the release's new publisher itself, an account with no
  release in view older than the dependency (event-stream 3.3.6 adding flatmap-stream, 2018).

Every finding lists the signals it combined as evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from npmguard.facts import ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import DAYS, CheckContext, Option, PackageRule, register
from npmguard.rules.handover import (
    PublisherHistory,
    Signals,
    published,
    publisher_of,
    repository_key,
)
from npmguard.rules.history import day, previous_version
from npmguard.rules.takeover import (
    FAMILY,
    PACKUMENT,
    pin_hint,
    release_signals,
    shifted,
)

INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")
_INSTALL_SCRIPTS = frozenset(INSTALL_SCRIPTS)
# a new bin with one of these names shadows a command people and scripts run all the time
SHADOWED_COMMANDS = frozenset(
    "node npm npx yarn pnpm git sh bash zsh ls cp mv rm cat curl wget ssh sudo python python3 "
    "pip make gcc tar env which code docker kubectl".split()
)


def _added_since_previous(
    facts: PackageFacts,
    from_manifest: Callable[[ManifestFacts], Iterable[str]],
    from_info: Callable[[VersionInfo], tuple[str, ...] | None],
) -> tuple[list[str], VersionInfo] | None:
    """Names (bins, dependencies) the locked version has and its previous version had not,
    with that previous version; None when either side is unknown or nothing was added."""
    current = _names_now(facts, from_manifest, from_info)
    if not current:
        return None  # nothing to compare: the previous version is not looked up
    prev = previous_version(facts)
    before = from_info(prev) if prev is not None else None
    if prev is None or before is None:
        return None
    added = sorted(current - set(before))
    return (added, prev) if added else None


def _names_now(
    facts: PackageFacts,
    from_manifest: Callable[[ManifestFacts], Iterable[str]],
    from_info: Callable[[VersionInfo], tuple[str, ...] | None],
) -> set[str] | None:
    if facts.manifest is not None:
        return set(from_manifest(facts.manifest))
    info = facts.version_info()
    names = from_info(info) if info is not None else None
    return None if names is None else set(names)


def _install_scripts(facts: PackageFacts) -> dict[str, str] | None:
    """This version's install-time scripts: {} for none, None when unknown."""
    if facts.manifest is not None:
        declared = facts.manifest.scripts
        found = (
            {}
            if _INSTALL_SCRIPTS.isdisjoint(declared)  # most packages have none
            else {k: v for k, v in declared.items() if k in INSTALL_SCRIPTS}
        )
        if facts.manifest.gyp_file and not ({"install", "preinstall"} & found.keys()):
            found["install"] = "node-gyp rebuild (implicit: gypfile)"
        return found
    info = facts.version_info()
    if info is not None and info.has_install_script is not None:
        return {"install script": "(text unknown)"} if info.has_install_script else {}
    return None


@register
class NewInstallScript(PackageRule):
    id = "new-install-script"
    level = Level.WARN
    family = FAMILY
    description = "The locked version has an install script the previous version did not have."
    help = (
        "A preinstall/install/postinstall that appears in a new version runs on every machine "
        "that installs it. Legitimate releases add one too (a native build, a generated file), "
        "so alone this is information (one level below this rule's level); `install-script` "
        "asks for every unapproved script anyway. It warns (this rule's level) when the "
        "release also changed hands (`publisher-change`) or ended a quiet period "
        "(`dormant-wake`: coa 2.0.3, rc 1.2.9), and blocks (one level above) when the release "
        "lost the provenance earlier releases had: a package published from CI gets a release "
        "published by hand that runs code at install (@ctrl/tinycolor 4.1.1, from a token the "
        "Shai-Hulud worm stole). A script that only changes (nx 20.9.0's postinstall became "
        "`node telemetry.js`) is not seen here: the package picture keeps whether each version "
        "has an install script, not its text."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
        if facts is None:
            return
        scripts = _install_scripts(facts)
        if not scripts:
            return
        prev = previous_version(facts)
        if prev is None or prev.has_install_script is not False:
            return
        evidence = [Evidence(f"script {k}", v, "registry") for k, v in scripts.items()]
        evidence.append(
            Evidence("previous version", f"{prev.version}: no install script", "registry")
        )
        signals = release_signals(facts, ctx)
        evidence += signals.evidence()
        level = shifted(self, +1 if signals.lost else 0 if signals.any else -1)
        message = f"adds an install script ({', '.join(scripts)}) that {prev.version} did not have"
        yield self.finding(
            pkg,
            message + (f"; {signals.words()}" if signals.any else ""),
            evidence=tuple(evidence),
            hint=pin_hint(facts, prev, "without an install script", self.id),
            level=level,
        )


@register
class NewBin(PackageRule):
    id = "new-bin"
    level = Level.INFO
    family = FAMILY
    description = "The locked version adds a command (bin) the previous version did not have."
    help = (
        "A new `bin` entry puts a command into `node_modules/.bin`, ahead of the system's on "
        "the PATH of npm scripts. Usually a feature, so information; a warning when the name "
        "shadows a common command (node, npm, git, sh, curl, ...) or when the release also "
        "changed hands or ended a quiet period, and a block when both."
    )
    needs = PACKUMENT

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
        if facts is None:
            return
        found = _added_since_previous(facts, lambda m: m.bin, lambda v: v.bin_names)
        if found is None:
            return
        added, prev = found
        shadows = [b for b in added if b in SHADOWED_COMMANDS]
        evidence = [Evidence("new bin", b, "registry") for b in added]
        evidence.append(
            Evidence(
                "previous version bins",
                f"{prev.version}: {', '.join(prev.bin_names or ()) or '(none)'}",
                "registry",
            )
        )
        signals = release_signals(facts, ctx)
        evidence += signals.evidence()
        message = f"adds command(s) {', '.join(added)}" + (
            f", shadowing {', '.join(shadows)}" if shadows else ""
        )
        yield self.finding(
            pkg,
            message + (f"; {signals.words()}" if signals.any else ""),
            evidence=tuple(evidence),
            hint=pin_hint(facts, prev, "without these commands", self.id),
            level=shifted(self, int(bool(shadows)) + int(signals.any)),
        )


@register
class NewDependency(PackageRule):
    id = "new-dependency"
    level = Level.INFO
    family = FAMILY
    description = "The locked version adds a dependency the previous version did not have."
    help = (
        "Routine releases add dependencies all the time, even brand-new ones (a package "
        "created within `new_days`, default 30, of the release; not counting the project's "
        "own, same scope or repository), so alone this is information. It warns when a "
        "brand-new dependency comes in a release that also changed hands (`publisher-change`, "
        "`provenance-lost`) or ended a quiet period (`dormant-wake`), or when the brand-new "
        "dependency runs an install script. It blocks (two levels up) for the shapes of real "
        "attacks: a brand-new dependency that runs an install script, in a release that "
        "changed hands or woke up (axios 1.14.1, March 2026: published by hand from a "
        "maintainer's hijacked account, without the provenance of earlier releases, adding "
        "plain-crypto-js, created the day before, whose postinstall fetched a trojan); and a "
        "brand-new dependency published by the release's new publisher itself, an account "
        "with no release in view older than `new_days` (event-stream 3.3.6 and flatmap-stream, "
        "2018). The dependency's facts are read when it is in the same tree."
    )
    needs = PACKUMENT
    options: ClassVar[Mapping[str, Option]] = {
        "new_days": Option(
            30, "a dependency created this many days or fewer before is brand-new", 0, DAYS
        )
    }

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.history_for(pkg)
        if facts is None:
            return
        found = _added_since_previous(facts, lambda m: m.dependencies, lambda v: v.dependency_names)
        if found is None:
            return
        added, prev = found
        deps = _dependency_facts(pkg, ctx)
        when = published(facts) or ctx.now
        window = timedelta(days=int(ctx.option(self, "new_days")))
        brand_new = [n for n in added if _brand_new(facts, deps.get(n), when, window)]
        evidence = [_dependency_evidence(facts, n, deps.get(n)) for n in added]
        evidence.append(Evidence("previous version", prev.version, "registry"))
        message = f"adds dependenc{'y' if len(added) == 1 else 'ies'} {', '.join(added)}"
        level = self.level
        if brand_new:
            scripted = [n for n in brand_new if _install_scripts(deps[n])]
            signals = release_signals(facts, ctx)
            own = _own_brand_new(signals, brand_new, deps, when, window)
            evidence += signals.evidence()
            message += f"; brand-new package(s): {', '.join(brand_new)}"
            if scripted:
                message += f", running an install script: {', '.join(scripted)}"
                evidence += [
                    Evidence(
                        f"{n} install script",
                        ", ".join(_install_scripts(deps[n]) or ()),
                        "registry",
                    )
                    for n in scripted
                ]
            if own:
                message += f"; published by the new publisher itself: {', '.join(own)}"
                evidence.append(_record_evidence(signals.publisher))
            if signals.any:
                message += f"; {signals.words()}"
            raised = 2 if own or (scripted and signals.any) else int(bool(scripted or signals.any))
            level = shifted(self, raised)
        yield self.finding(
            pkg,
            message,
            evidence=tuple(evidence),
            hint=pin_hint(facts, prev, "without these dependencies", self.id),
            level=level,
        )


def _dependency_facts(pkg: LockedPackage, ctx: CheckContext) -> dict[str, PackageFacts]:
    """The facts of the packages ``pkg`` requires in this tree, by name."""
    out: dict[str, PackageFacts] = {}
    for key in pkg.requires:
        dep = ctx.facts.get(key)
        if dep is not None:
            out[dep.name] = dep
    return out


def _brand_new(
    facts: PackageFacts, dep: PackageFacts | None, when: datetime, window: timedelta
) -> bool:
    """Whether ``dep`` was created within ``window`` before ``when`` and is not the project's
    own (a new sibling in its scope or repository is the same owner's work)."""
    if dep is None or dep.created is None or when - dep.created > window:
        return False
    if facts.name.startswith("@") and dep.name.startswith(facts.name.split("/", 1)[0] + "/"):
        return False
    mine = repository_key(facts.manifest.repository if facts.manifest else None)
    theirs = repository_key(dep.manifest.repository if dep.manifest else None)
    return mine is None or mine != theirs


def _own_brand_new(
    signals: Signals,
    brand_new: list[str],
    deps: Mapping[str, PackageFacts],
    when: datetime,
    window: timedelta,
) -> list[str]:
    """The brand-new dependencies the release's new publisher published itself, when that
    account has no release in view older than ``window`` (the event-stream shape)."""
    history = signals.publisher
    if not signals.new_hand or history.first_seen is None or when - history.first_seen > window:
        return []
    return [n for n in brand_new if publisher_of(deps[n]) == history.publisher]


def _record_evidence(history: PublisherHistory) -> Evidence:
    return Evidence(
        "the publisher's first release in view",
        f"{history.first_seen_package} on {day(history.first_seen)}",
        "registry",
    )


def _dependency_evidence(facts: PackageFacts, name: str, dep: PackageFacts | None) -> Evidence:
    spec = facts.manifest.dependencies.get(name, "?") if facts.manifest else "?"
    created = f" (package created {day(dep.created)})" if dep and dep.created else ""
    return Evidence("new dependency", f"{name}@{spec}{created}", "registry")
