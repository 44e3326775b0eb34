"""Same verdicts and findings: a git revision's JSON reports against the working tree's.

    .venv/bin/python benchmarks/same_findings.py                    # main vs this checkout
    .venv/bin/python benchmarks/same_findings.py --rev HEAD~3 --only pnpm
    .venv/bin/python benchmarks/same_findings.py --lockfile-only    # no registry at all

For every reference lockfile (``../shared/data/bench/`` and ``../shared/data/lockfiles/``, or
``$NPMGUARD_SHARED_DATA``) it runs ``npmguard check --format json`` twice per side: the
revision ``--rev`` (exported with ``git archive`` into a temporary folder and run from there
with this venv's interpreter, so only npmguard's code differs) and the working tree. Each side
has its own cache folder (kept under ``--cache-root`` between runs of this script, so a cache
format one side changes never meets the other); the first run of a lockfile fills it from the
registry npm is configured for, the second is the warm run that is compared. Both sides warm
each lockfile back to back, so the registry has seconds, not minutes, to change in between.

Compared: the whole JSON document except ``tool.version`` (verdict, summary, every package
with its verdict, flags, line and findings, every finding with evidence and hint, notes and
what could not be checked). Exits 1 on any difference (printed as a unified diff of the two
documents), 0 when every lockfile agrees, 2 when a run fails (exit code other than 0 or 1).
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data"))
LOCKFILE_NAMES = (
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "bun.lock",
)


@dataclass(frozen=True)
class Reference:
    """One reference lockfile: its gzipped source, the lockfile name it takes, its manifest."""

    label: str
    source: Path
    name: str
    manifest: Path | None


@dataclass(frozen=True)
class Side:
    """One npmguard to run: ``code`` goes first on ``PYTHONPATH`` (None: this checkout)."""

    label: str
    code: Path | None
    cache: Path


def references(only: str) -> list[Reference]:
    """Every reference lockfile under the shared data whose label contains ``only``."""
    found: list[Reference] = []
    for gz in sorted((SHARED / "bench").glob("*.package-lock.json.gz")):
        stem = gz.name.removesuffix(".package-lock.json.gz")
        manifest = gz.with_name(stem + ".package.json")
        found.append(
            Reference(
                "bench/" + stem, gz, "package-lock.json", manifest if manifest.exists() else None
            )
        )
    for gz in sorted((SHARED / "lockfiles").glob("*/*.gz")):
        base = gz.name.removesuffix(".gz")
        name = next((n for n in LOCKFILE_NAMES if base.endswith("__" + n)), None)
        if name is None:  # npm's own views of the tree (*.npm-ls*.json.gz) are oracles
            continue
        prefix = base.removesuffix(name)
        manifest = gz.with_name(prefix + "package.json")
        label = f"{gz.parent.name}/{base}"
        found.append(Reference(label, gz, name, manifest if manifest.exists() else None))
    return [r for r in found if only in r.label]


def export_revision(rev: str, into: Path) -> str:
    """Write the tree of ``rev`` into ``into`` (``git archive | tar``); returns the commit id."""
    commit = _git("rev-parse", "--verify", rev + "^{commit}").strip()
    into.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit], stdout=subprocess.PIPE
    )
    subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"git archive {commit} failed")
    return commit


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def run_check(side: Side, project: Path, name: str, extra: list[str]) -> dict[str, Any]:
    """The JSON report of one ``npmguard check`` child on ``project/name``."""
    out = project / f"report-{side.label}.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NPMGUARD_") and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        NPMGUARD_CACHE_DIR=str(side.cache / "cache"),
        NPMGUARD_DATA_DIR=str(side.cache / "data"),
        NPMGUARD_CONFIG_DIR=str(side.cache / "config"),
        NO_COLOR="1",
    )
    if side.code is not None:
        env["PYTHONPATH"] = str(side.code)
    cmd = [sys.executable, "-m", "npmguard", "check", name, "-q", "--format", "json"]
    cmd += ["-o", str(out), *extra]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not out.exists():
        raise RunFailed(f"{side.label}: exit {done.returncode}\n{done.stderr[-3000:]}")
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return doc


class RunFailed(Exception):
    """A check child exited with an error (not 0 or 1)."""


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what legitimately differs between two builds (the version)."""
    doc = dict(doc)
    doc.pop("tool", None)
    return doc


def diff(a: dict[str, Any], b: dict[str, Any], labels: tuple[str, str]) -> Iterator[str]:
    left = json.dumps(a, indent=1, sort_keys=True).splitlines()
    right = json.dumps(b, indent=1, sort_keys=True).splitlines()
    return difflib.unified_diff(left, right, *labels, lineterm="", n=2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rev", default="main", help="git revision to compare with (default: main)")
    ap.add_argument("--only", default="", help="only lockfiles whose label contains this")
    ap.add_argument(
        "--cache-root",
        type=Path,
        default=Path(tempfile.gettempdir()) / "npmguard-same-findings",
        help="caches of both sides live here, kept between runs (one folder per side)",
    )
    ap.add_argument("--lockfile-only", action="store_true", help="pass --lockfile-only")
    ap.add_argument("--offline", action="store_true", help="warm runs with --offline")
    ap.add_argument("--max-diff", type=int, default=60, help="diff lines shown per lockfile")
    args = ap.parse_args()

    refs = references(args.only)
    if not refs:
        print(f"no reference lockfiles under {SHARED} match {args.only!r}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="npmguard-same-"))
    try:
        commit = export_revision(args.rev, work / "rev")
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(work / "rev" / "npmguard")], check=True
        )
        tree_key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
        sides = (
            Side(args.rev, work / "rev", args.cache_root / f"rev-{commit[:12]}"),
            Side("working-tree", None, args.cache_root / f"tree-{tree_key}"),
        )
        extra = ["--lockfile-only"] if args.lockfile_only else []
        warm_extra = [*extra, "--offline"] if args.offline else extra
        print(f"{args.rev} = {commit[:12]} vs working tree {ROOT}; {len(refs)} lockfiles")
        differing = failed = 0
        for ref in refs:
            project = work / "projects" / ref.label.replace("/", "_")
            project.mkdir(parents=True)
            (project / ref.name).write_bytes(gzip.decompress(ref.source.read_bytes()))
            if ref.manifest is not None:
                shutil.copy(ref.manifest, project / "package.json")
            try:
                if not args.lockfile_only:
                    for side in sides:  # fill each side's cache (a no-op when already warm)
                        run_check(side, project, ref.name, extra)
                base, head = (
                    comparable(run_check(side, project, ref.name, warm_extra)) for side in sides
                )
            except RunFailed as e:
                failed += 1
                print(f"FAILED {ref.label}: {e}")
                continue
            summary = head.get("summary", {})
            if base == head:
                print(
                    f"same   {ref.label}: {head.get('verdict')}, {summary.get('packages')} "
                    f"packages, {summary.get('findings')} findings"
                )
                continue
            differing += 1
            print(f"DIFFER {ref.label}")
            lines = list(diff(base, head, (args.rev, "working-tree")))
            for line in lines[: args.max_diff]:
                print("    " + line)
            if len(lines) > args.max_diff:
                print(f"    ... {len(lines) - args.max_diff} more diff lines")
        print(
            f"{len(refs) - differing - failed} same, {differing} differ, {failed} failed "
            f"(of {len(refs)})"
        )
        if failed:
            return 2
        return 1 if differing else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
