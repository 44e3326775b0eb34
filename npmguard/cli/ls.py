"""``npmguard ls``: the packages of a lockfile as npmguard reads them, one row per entry."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from npmguard.model import LockedPackage, Lockfile, Occurrence
from npmguard.urls import redact


def register(sub: Any) -> None:
    from npmguard.cli import add_common

    p = sub.add_parser(
        "ls",
        help="list the packages of a lockfile as npmguard reads them",
        description=(
            "List every installed package of a lockfile (npm, pnpm, yarn, bun) as npmguard "
            "reads it: real name "
            "(aliases resolved), version, source, flags and path in the tree. One row per "
            "entry, so a package installed at two paths is listed twice."
        ),
        epilog=("examples:\n  npmguard ls\n  npmguard ls app/package-lock.json --format json"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "lockfile",
        nargs="?",
        type=Path,
        metavar="LOCKFILE",
        help=(
            "package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock, bun.lock or a "
            "folder (default: the current folder); - reads it from stdin"
        ),
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="(default: text)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from npmguard.lockfile import find_lockfile, load_lockfile

    path = args.lockfile if args.lockfile is not None else find_lockfile(Path.cwd())
    lockfile = load_lockfile(path)
    rows = entry_rows(lockfile)
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(rows))
    if not getattr(args, "quiet", False):
        print(
            f"npmguard: {lockfile.path}: {len(rows)} installed packages "
            f"({len(lockfile.packages)} distinct name@version), {lockfile.format}",
            file=sys.stderr,
        )
    return 0


def _flags(occ: Occurrence) -> list[str]:
    """The entry's flags as the lockfile writes them (``dev-optional`` alone: neither dev nor
    optional by itself)."""
    flags = [n for n in ("dev", "optional") if getattr(occ, n)]
    if occ.dev_optional and not flags:
        flags.append("dev-optional")
    return flags + [n for n in ("peer", "bundled") if getattr(occ, n)]


def entry_rows(lockfile: Lockfile) -> list[dict[str, Any]]:
    """One JSON-ready row per lockfile entry, sorted by name, version and path.

    Credentials in ``resolved`` are redacted here: this is output.
    """
    rows: list[tuple[LockedPackage, Occurrence]] = [
        (pkg, occ) for pkg in lockfile.packages for occ in pkg.occurrences
    ]
    rows.sort(key=lambda r: (r[0].name, r[0].version, r[1].path))
    return [
        {
            "name": pkg.name,
            "version": pkg.version,
            "source": str(pkg.source),
            "path": occ.path,
            "installed_as": occ.installed_as,
            "flags": _flags(occ),
            "has_install_script": pkg.has_install_script,
            "resolved": redact(occ.resolved) or None,
            "integrity": occ.integrity,
            "checksum": occ.checksum,  # Yarn Berry's, not comparable with integrity
            "line": occ.line,
        }
        for pkg, occ in rows
    ]


def render_text(rows: list[dict[str, Any]]) -> str:
    """A plain table: name (with the alias it is installed as), version, source, flags, path."""
    table = [("NAME", "VERSION", "SOURCE", "FLAGS", "PATH")]
    for r in rows:
        name = r["name"]
        if r["installed_as"] != name:
            name = f"{name} (as {r['installed_as']})"
        flags = list(r["flags"]) + (["install-script"] if r["has_install_script"] else [])
        table.append((name, r["version"] or "-", r["source"], ",".join(flags) or "-", r["path"]))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in table
    ]
    return "\n".join(lines) + "\n"
