"""Install scripts: which packages run code at install time, and which of them look hostile.

``install-script`` lists every preinstall/install/postinstall that neither the policy nor
npm's own ``allowScripts`` approves. ``install-script-suspicious`` reads the scripts and the
files they run (as far as the tarball facts hold their text) for code that fetches and runs
something, or sends the machine's environment out. Its patterns are kept narrow on purpose:
the install steps of native builds (node-gyp, prebuild-install, esbuild's install.js, husky,
patch-package, core-js's banner) must never match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from npmguard.allow_scripts import script_approval
from npmguard.facts import Need, PackageFacts, ScanHit
from npmguard.managers import manager_for
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import CheckContext, PackageRule, register
from npmguard.rules.history import allow_entry, newest
from npmguard.scriptscan import (
    IMPLICIT_GYP,
    IMPLICIT_GYP_SCRIPT,
    INSTALL_SCRIPTS,
    Pattern,
    bundled_sources,
    install_time_texts,
    scan_sources,
    scan_text,
    tarball_scripts,
)

FAMILY = "install scripts"
_INSTALL_SCRIPTS = frozenset(INSTALL_SCRIPTS)


@dataclass(frozen=True, slots=True)
class InstallScripts:
    """The install-time scripts of one package and where each was read, with those of the
    packages bundled in its tarball (npm runs them too: ``rebuild-bundle`` is on by default,
    and ``allowScripts`` neither approves nor denies a bundled package)."""

    scripts: Mapping[str, str]  # lifecycle -> command
    source: str  # "registry", "tarball", "lockfile"
    bundled: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # path -> scripts


def install_scripts(pkg: LockedPackage, facts: PackageFacts | None) -> InstallScripts | None:
    """What runs at install time, or None when nothing does (as far as is known).

    A bundled entry (``inBundle``) is judged by the bytes its parent's tarball carries, on
    the parent: the registry's copy of the same name@version may differ, so only the
    lockfile's ``hasInstallScript`` is read for it here."""
    scripts: dict[str, str] = {}
    source = "lockfile"
    bundled: Mapping[str, Mapping[str, str]] = {}
    if pkg.bundled:
        facts = None
    if facts is not None and facts.tarball is not None:
        scripts = tarball_scripts(facts.tarball)
        bundled = facts.tarball.bundled_scripts
        source = "tarball"
    elif facts is not None and facts.manifest is not None:
        declared = facts.manifest.scripts
        if not _INSTALL_SCRIPTS.isdisjoint(declared):  # most packages have none
            scripts = {k: v for k, v in declared.items() if k in INSTALL_SCRIPTS}
        source = "registry"
        # npm adds `install: node-gyp rebuild` for a binding.gyp when no install script is set
        if facts.manifest.gyp_file and not ({"install", "preinstall"} & scripts.keys()):
            scripts["install"] = IMPLICIT_GYP_SCRIPT
    if not scripts and pkg.has_install_script:
        scripts["install script"] = "(text unknown: the lockfile says hasInstallScript)"
    return InstallScripts(scripts, source, bundled) if scripts or bundled else None


BUNDLED_HINT = (
    "npm runs a bundled package's install scripts whatever allowScripts says and cannot "
    "approve or deny them; review them, then approve the package that bundles them in the "
    "policy ({allow}), or set rebuild-bundle=false (.npmrc) so npm runs no bundled scripts"
)


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
        "one is approved. A binding.gyp without an install script counts: npm runs "
        "`node-gyp rebuild` for it. Packages bundled in a tarball (`bundleDependencies`) run "
        "their install scripts too (npm's `rebuild-bundle` is on by default) and "
        "`allowScripts` can neither approve nor deny them: they are read from the tarball "
        "and reported on the package that bundles them (a bundled lockfile entry is "
        "reported from its `hasInstallScript`); only the policy approves them, or "
        "`rebuild-bundle=false` turns them off."
    )
    needs = frozenset({Need.PACKUMENT})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        found = install_scripts(pkg, ctx.facts_for(pkg))
        if found is None:
            return
        approval = None
        if not pkg.bundled:  # npm never matches a bundled package against allowScripts
            approval = script_approval(
                pkg.name, pkg.resolved, ctx.project.allow_scripts, registry=pkg.on_registry
            )
        own = {} if approval is True else found.scripts
        if not own and not found.bundled:
            return
        evidence = [Evidence(f"script {k}", v, found.source) for k, v in own.items()]
        evidence += [
            Evidence(f"bundled {where} script {k}", v, found.source)
            for where, scripts in sorted(found.bundled.items())
            for k, v in scripts.items()
        ]
        level = self.level
        if approval is False:  # npm will not run it: say so, but it does not need a decision
            evidence.append(Evidence("allowScripts", "false (npm will not run it)", "package.json"))
            level = Level.INFO if not found.bundled else level
        ran = list(own) + [f"{where} {k}" for where, s in sorted(found.bundled.items()) for k in s]
        if pkg.bundled or found.bundled:
            hint = BUNDLED_HINT.format(allow=allow_entry(pkg.name, pkg.version, self.id))
            if pkg.bundled:
                hint = "a bundled package: " + hint.replace(
                    "the package that bundles them", "the package that bundles it"
                )
        else:
            hint = _approve_hint(pkg, ctx, self.id)
        yield self.finding(
            pkg,
            "runs " + ", ".join(ran) + " at install time",
            evidence=tuple(evidence),
            hint=hint,
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
        "(node-gyp, prebuild-install, esbuild's install.js) do not match these. The scripts "
        "of packages bundled in the tarball are read too (npm runs them) and reported on the "
        "package that bundles them, from the tarball's bytes, never from the registry's copy "
        "of the bundled name@version."
    )
    needs = frozenset({Need.PACKUMENT, Need.TARBALL})

    def check_package(self, pkg: LockedPackage, ctx: CheckContext) -> Iterator[Finding]:
        facts = ctx.facts_for(pkg)
        if pkg.bundled or facts is None:
            return  # a bundled copy is judged on its parent, from the parent's tarball
        found = install_scripts(pkg, facts)
        if found is None:
            return
        hits = _scan(found, facts)
        evidence = [Evidence(f"{h.pattern}: {h.what}", h.excerpt, h.where) for h in hits]
        ids = list(dict.fromkeys(h.pattern for h in hits))
        if not evidence:
            return
        safe = None
        if facts.versions and not found.bundled:  # versions say nothing of bundled scripts
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


def _scan(found: InstallScripts, facts: PackageFacts) -> tuple[ScanHit, ...]:
    """What the scanner finds in the install scripts and the files they run: the tarball's
    stored scan when these are exactly the tarball's scripts (it was made from the same
    texts by this same scanner, see :mod:`npmguard.scriptscan`), else a scan now."""
    tarball = facts.tarball
    if (
        tarball is not None
        and tarball.install_scan is not None
        and found.source == "tarball"
        and dict(found.scripts) == tarball_scripts(tarball)
    ):
        return tarball.install_scan
    texts = tarball.texts if tarball is not None else {}
    sources = {f"scripts.{k}": v for k, v in found.scripts.items()}
    sources.update(install_time_texts(found.scripts, texts))
    if tarball is not None and found.source == "tarball":
        sources.update(bundled_sources(tarball))
    return scan_sources(sources)


__all__ = [
    "IMPLICIT_GYP",
    "INSTALL_SCRIPTS",
    "InstallScripts",
    "Pattern",
    "install_scripts",
    "install_time_texts",
    "scan_text",
]
