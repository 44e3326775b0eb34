"""``npmguard explain NAME[@VERSION]``: every fact known about a package, and every finding."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npmguard.errors import UsageError
from npmguard.facts import FactsStatus, Need, PackageFacts
from npmguard.model import Finding, Gap, LockedPackage, Lockfile, Occurrence, SourceKind

if TYPE_CHECKING:
    from npmguard.app import Checker

PLACEHOLDER_VERSION = "0.0.0-npmguard-explain"


def register(sub: Any) -> None:
    from npmguard.cli import add_common
    from npmguard.cli.check import add_check_options

    p = sub.add_parser(
        "explain",
        help="every fact known about a package, where it came from, and every finding",
        description=(
            "Show what npmguard knows about one package: the registry's package picture, the\n"
            "version's manifest and tarball facts, where each came from (registry, cache,\n"
            "lockfile), and every finding the rules make with its evidence. With a lockfile\n"
            "(--lockfile, or ./package-lock.json) the package's entries there are explained;\n"
            "otherwise a one-package tree is checked (the latest version if none is given).\n"
            "It exits 0 whatever the verdict (it explains; `npmguard check` decides)."
        ),
        epilog=(
            "examples:\n"
            "  npmguard explain left-pad\n"
            "  npmguard explain event-stream@3.3.6\n"
            "  npmguard explain coa --as-of 2021-11-04   the latest then, judged as then\n"
            "  npmguard explain @babel/core --lockfile app/package-lock.json --offline"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("package", metavar="NAME[@VERSION]")
    p.add_argument("--lockfile", type=Path, help="explain the package's entries in this lockfile")
    add_check_options(p, tree=False)  # one package: no --changed-since / --lockfile-only
    add_common(p)
    p.set_defaults(func=run)


def _text(value: str) -> bool:
    """Whether ``value`` is text (an argument of bytes that are not UTF-8 is not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def split_spec(spec: str) -> tuple[str, str | None]:
    """``@scope/name@1.2.3`` -> (``@scope/name``, ``1.2.3``); no version -> None."""
    at = spec.rfind("@")
    if at > 0:
        return spec[:at], spec[at + 1 :] or None
    return spec, None


def _synthetic(
    name: str, version: str, project_dir: Path, facts: PackageFacts | None = None
) -> Lockfile:
    """A one-package tree, locked as npm would lock it from the registry's dist fields."""
    manifest = facts.manifest if facts is not None else None
    resolved = manifest.dist_tarball if manifest is not None else None
    integrity = manifest.dist_integrity if manifest is not None else None
    pkg = LockedPackage(
        name=name,
        version=version,
        source=SourceKind.REGISTRY,
        occurrences=(Occurrence(f"node_modules/{name}", name, resolved, integrity),),
    )
    return Lockfile(project_dir / "(explain)", "synthetic", 3, (pkg,))


def _probe(checker: Checker, name: str, version: str, project_dir: Path) -> PackageFacts | None:
    pkg = _synthetic(name, version, project_dir).packages[0]
    return checker.gather([pkg], frozenset({Need.PACKUMENT})).packages.get(pkg.key)


def pick_version(name: str, wanted: str | None, probe: PackageFacts | None) -> str:
    """The version to explain when no lockfile has the package: ``wanted`` as given, a
    dist-tag's or the highest version a range allows, else the latest. Errors when the
    registry has no such package, or nothing the range allows."""
    from npmguard.semver import satisfies, sort_versions, valid_range, valid_version
    from npmguard.urls import redact

    if probe is not None and probe.status is FactsStatus.NOT_FOUND:
        where = redact(probe.registry) or "the registry"
        raise UsageError(
            f"{name}: no such package on {where} (it answered 404)",
            hint="check the spelling; for a private package, its registry in .npmrc",
        )
    known = probe is not None and probe.status is FactsStatus.KNOWN and probe.versions is not None
    tags = dict(probe.dist_tags or {}) if probe is not None else {}
    if wanted is None:
        if tags.get("latest"):
            return tags["latest"]
        why = f" ({probe.error})" if probe is not None and probe.error else ""
        raise UsageError(
            f"{name}: the registry names no latest version{why}; give one: {name}@VERSION",
            hint=f"npmguard explain {name}@VERSION",
        )
    if valid_version(wanted) or not known or probe is None:
        return wanted  # an exact version is explained even when it is gone (version-missing)
    if wanted in tags:
        return tags[wanted]
    if valid_range(wanted):
        allowed = [v.version for v in probe.versions or () if satisfies(v.version, wanted)]
        if allowed:
            return sort_versions(allowed)[-1]
        raise UsageError(
            f"{name}@{wanted}: no version on the registry is in that range "
            f"(latest: {tags.get('latest', 'none')})",
            hint=f"npmguard explain {name}@VERSION",
        )
    raise UsageError(
        f"{name}@{wanted}: not a version, a range or a dist-tag of {name}",
        hint=f"npmguard explain {name}@VERSION",
    )


def run(args: argparse.Namespace) -> int:
    from npmguard.app import build
    from npmguard.cli.check import options_from_args, project_dir
    from npmguard.lockfile import find_lockfile, load_lockfile
    from npmguard.report.common import scrub

    name, version = split_spec(args.package)
    if not name or not _text(args.package):
        raise UsageError(f"{args.package!r}: expected NAME or NAME@VERSION")
    lock_path: Path | None = args.lockfile
    if lock_path is None:
        try:
            lock_path = find_lockfile(Path.cwd())
        except UsageError:
            lock_path = None  # no lockfile here: explain the package as the registry has it
    elif not lock_path.exists():
        raise UsageError(f"{lock_path}: no such file")
    full = load_lockfile(lock_path) if lock_path is not None else None
    project = project_dir(full) if full is not None else Path.cwd().resolve()
    mine = [
        p
        for p in (full.packages if full is not None else ())
        if p.name == name and (version is None or p.version == version)
    ]
    with build(options_from_args(args), project) as checker:
        if full is not None and mine:
            # the whole tree, exactly as `check` judges it: graph rules see every package
            lockfile = full
            report = checker.check([full])
            keys = {p.key for p in mine}
        else:
            from npmguard.semver import valid_version

            probe = None  # an exact version needs no look-up to be chosen
            if version is None or not valid_version(version):
                probe = _probe(checker, name, PLACEHOLDER_VERSION, project)
            version = pick_version(name, version, probe)
            facts = _probe(checker, name, version, project)
            lockfile = _synthetic(name, version, project, facts)
            keys = {f"{name}@{version}"}
            if lock_path is not None and not getattr(args, "quiet", False):
                print(
                    f"npmguard: {args.package} is not in {lock_path}; "
                    f"explaining {name}@{version} as the registry has it",
                    file=sys.stderr,
                )
            # the stand-in entry is ours, not a lockfile's: rules that judge lockfile fields
            # (resolved, integrity, source) have nothing to judge; every other rule runs
            report = checker.check([lockfile], skip=frozenset({Need.LOCKFILE}))
    synthetic = lockfile.format == "synthetic"
    for verdict in report.packages:
        pkg = verdict.package
        if pkg.key not in keys:
            continue
        lines = describe(
            pkg,
            report.facts.get(pkg.key),
            [f for f in report.findings if f.key == pkg.key],
            synthetic=synthetic,
            verdict=str(verdict.verdict),
            gaps=[g for g in report.coverage if pkg.key in g.keys],
        )
        # output, line by line: every URL loses credentials and secret query values, and
        # control characters are escaped
        print("\n".join(scrub(line) for line in lines))
    sys.stdout.flush()
    return 0


def _line(label: str, value: object, source: str = "") -> str:
    where = f"  [{source}]" if source else ""
    return f"  {label + ':':<24} {value}{where}"


def _items(mapping: Mapping[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in mapping.items()) or "none"


def describe(
    pkg: LockedPackage,
    facts: PackageFacts | None,
    findings: Sequence[Finding],
    *,
    synthetic: bool = False,
    verdict: str = "",
    gaps: Sequence[Gap] = (),
) -> list[str]:
    """The explanation of one package as text lines; ``gaps``: the coverage gaps that name
    it (rules that could not judge it, and why)."""
    out = [f"{pkg.key}  verdict: {verdict}", ""]
    if not synthetic:
        out.append("lockfile")
        out.append(_line("source", pkg.source, "lockfile"))
        for occ in pkg.occurrences:
            out.append(_line("at", f"{occ.path} (line {occ.line or '?'})", "lockfile"))
            out.append(_line("resolved", occ.resolved or "none", "lockfile"))
            out.append(_line("integrity", occ.integrity or "none", "lockfile"))
            if occ.checksum:  # Yarn Berry's: of yarn's cache zip, never compared
                out.append(_line("checksum", f"{occ.checksum} (yarn's own)", "lockfile"))
        unknown = pkg.has_install_script is None
        script = "unknown (the lockfile does not say)" if unknown else pkg.has_install_script
        out.append(_line("install script", script, "lockfile"))
        if pkg.dependents:
            out.append(_line("required by", ", ".join(pkg.dependents), "lockfile"))
        out.append("")
    out += _describe_facts(facts)
    out.append(f"findings ({len(findings)})")
    for f in findings:
        allowed = f" (allowed: {f.allowed_by})" if f.allowed_by else ""
        out.append(f"  {f.effective_level} {f.rule}: {f.message}{allowed}")
        for e in f.evidence:
            # the stand-in's fields came from the command line, not a lockfile
            label, source = e.label, e.source
            if synthetic and source == "lockfile":
                label, source = label.replace("locked version", "version"), "command line"
            out.append(f"      {label}: {e.value}" + (f"  [{source}]" if source else ""))
        if f.hint:
            out.append(f"      hint: {f.hint}")
    if not findings:
        out.append("  none")
    out.append("")
    out.append(f"not checked ({len(gaps)})")
    for gap in gaps:
        out.append(f"  {gap.reason}")
        out.append(f"      rules: {', '.join(gap.rules)}")
    if not gaps:
        out.append("  none: every enabled rule could judge it")
    return [*out, ""]


def _describe_facts(facts: PackageFacts | None) -> list[str]:
    if facts is None:
        return ["registry", "  not asked (not a registry package, or no rule needs it)", ""]
    origin = "cache" if facts.from_cache else "registry"
    when = facts.fetched_at.isoformat(timespec="seconds") if facts.fetched_at else "never"
    out = [
        "registry",
        _line("status", facts.status),
        _line("registry", facts.registry or "unknown"),
        _line("fetched", f"{when} (read from the {origin})"),
    ]
    if facts.error:
        out.append(_line("error", facts.error))
    if facts.versions is not None:
        out.append(_line("versions", len(facts.versions), origin))
        out.append(_line("dist-tags", _items(facts.dist_tags or {}), origin))
        for label, value in (
            ("created", facts.created),
            ("modified", facts.modified),
            ("unpublished", facts.unpublished),
        ):
            out.append(_line(label, value.isoformat() if value else "unknown", origin))
        people = ", ".join(facts.maintainers) if facts.maintainers is not None else "unknown"
        out.append(_line("maintainers", people, origin))
        out.append(_line("package deprecated", _unknown(facts.package_deprecated), origin))
        out.append(_line("version present", _unknown(facts.version_present), origin))
        if facts.as_of is not None:
            out.append(_line("as of", f"{facts.as_of.isoformat()} (later versions not shown)"))
        info = facts.version_info()
        if info is not None:
            out.append(_line("published", info.published or "unknown", origin))
            out.append(_line("publisher", info.publisher or "unknown", origin))
            out.append(_line("provenance", _unknown(info.has_provenance), origin))
    out.append("")
    m = facts.manifest
    if m is not None:
        out.append("manifest (this version's package.json on the registry)")
        for label, item in (
            ("description", m.description),
            ("repository", m.repository),
            ("license", m.license),
            ("scripts", _items(m.scripts)),
            ("bin", _items(m.bin)),
            ("dependencies", _items(m.dependencies)),
            ("dist.integrity", m.dist_integrity),
            ("dist.shasum", m.dist_shasum),
            ("dist.tarball", m.dist_tarball),
            ("files", m.dist_file_count),
            ("unpacked size", m.dist_unpacked_size),
            ("signatures", _unknown(m.has_signatures)),
            ("attestations", _unknown(m.has_attestations)),
            ("deprecated", m.deprecated or "no"),
            ("tea protocol", m.tea_protocol),
        ):
            shown: object = "unknown" if item is None else item
            out.append(_line(label, shown, origin))
        out.append("")
    t = facts.tarball
    if t is not None:
        out.append("tarball (read in memory after its integrity was checked)")
        out.append(_line("files", len(t.files), "tarball"))
        out.append(_line("unpacked size", t.unpacked_size, "tarball"))
        out.append(_line("tea.yaml", t.has_tea_yaml, "tarball"))
        out.append(_line("code", t.has_code, "tarball"))
        out.append(_line("scripts", _items(t.manifest_scripts), "tarball package.json"))
        if m is not None and dict(t.manifest_scripts) != dict(m.scripts):
            out.append(_line("note", "the tarball's scripts differ from the registry's", "tarball"))
        out.append("")
    return out


def _unknown(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")
