"""The pre-commit hook's answer time on a one-line lockfile change (online once, by hand).

    .venv/bin/python benchmarks/bench_hook.py [--package axios] [--runs 7] [--lockfile-only]

Gunzips the 1,122-package reference lockfile (``../shared/data/bench/``) into a temporary git
repository and commits it, then changes one dependency's version (``--package``, moved to the
version published just before the locked one, with that version's real ``resolved`` and
``integrity`` from the registry npm is configured for) and times what the hook runs:

    npmguard check --changed-since HEAD package-lock.json

The first run warms the cache (``--cache-dir``, kept between runs of this script) from the
registry; the timed runs after it are warm. The figure is wall time of the whole command, as
the hook pays it: interpreter start, imports, git, parsing both lockfile versions, rules, report.
Exits 1 when the warm median is over ``--budget`` seconds (1 s: the issue's target).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
LOCKFILE = ROOT.parent / "shared" / "data" / "bench" / "fullstack-1122.package-lock.json.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lockfile", type=Path, default=LOCKFILE)
    ap.add_argument("--package", default="axios", help="the top-level dependency to change")
    ap.add_argument("--runs", type=int, default=7, help="warm runs to time")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds, warm median")
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "npmguard-bench-hook-cache",
        help="NPMGUARD_CACHE_DIR for the runs (kept, so reruns start warm)",
    )
    ap.add_argument(
        "--lockfile-only",
        action="store_true",
        help="pass --lockfile-only (no registry facts); chosen automatically when this "
        "checkout has no reputation store yet",
    )
    args = ap.parse_args()

    extra: list[str] = []
    note = ""
    if args.lockfile_only or not _has_reputation_store():
        extra.append("--lockfile-only")
        note = " [lockfile-only" + ("]" if args.lockfile_only else ": no reputation store here]")
    registry = _npm_registry()
    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-hook-"))
    try:
        lock = work / "package-lock.json"
        lock.write_bytes(gzip.decompress(args.lockfile.read_bytes()))
        _git(work, "init", "-q", "-b", "main")
        _git(work, "add", "package-lock.json")
        _git(work, "commit", "-q", "--no-verify", "-m", "reference lockfile")
        old, new = _change_one(lock, args.package, registry)
        print(f"{lock.name}: {args.package} {old} -> {new} (1 entry changed)")
        diff = _git(work, "diff", "--numstat").split()
        print(f"git diff: +{diff[0]} -{diff[1]} lines")

        env = dict(os.environ, NPMGUARD_CACHE_DIR=str(args.cache_dir), NO_COLOR="1")
        npmguard = shutil.which("npmguard", path=str(Path(sys.executable).parent)) or "npmguard"
        argv = [npmguard, "check", "--changed-since", "HEAD", "package-lock.json", *extra]
        print("command:", " ".join(["npmguard", *argv[1:]]))
        first, code, out = _timed(argv, work, env)
        print(f"first run (warms the cache): {first:.3f} s, exit {code}")
        if code not in (0, 1):
            print(out, file=sys.stderr)
            return 2
        warm = []
        for _ in range(args.runs):
            took, code, out = _timed(argv, work, env)
            warm.append(took)
        print(out.strip()[-2000:])
        median = statistics.median(warm)
        print(
            f"warm: median {median:.3f} s, min {min(warm):.3f} s, max {max(warm):.3f} s "
            f"over {len(warm)} runs (budget {args.budget:.1f} s)"
            + note
            + f" [load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs]"
        )
        return 0 if median <= args.budget else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _has_reputation_store() -> bool:
    import importlib.util

    return importlib.util.find_spec("npmguard.reputation.source") is not None


def _npm_registry() -> str:
    done = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True)
    url = done.stdout.strip() or "https://registry.npmjs.org/"
    return url if url.endswith("/") else url + "/"


def _change_one(lock: Path, name: str, registry: str) -> tuple[str, str]:
    """Move ``name`` to the version published before the locked one; returns (old, new)."""
    doc = json.loads(lock.read_text(encoding="utf-8"))
    entry = doc["packages"][f"node_modules/{name}"]
    old = entry["version"]
    packument = _get_json(registry + quote(name, safe="@"))
    versions = [v for v in packument["versions"] if "-" not in v]
    versions.sort(key=lambda v: tuple(int(p) for p in v.split(".")))
    new = versions[versions.index(old) - 1]
    dist = packument["versions"][new]["dist"]
    entry["version"] = new
    if "resolved" in entry:
        entry["resolved"] = entry["resolved"].replace(f"-{old}.tgz", f"-{new}.tgz")
    entry["integrity"] = dist["integrity"]
    # json.dumps with indent=2 reproduces npm's layout, so the diff is the entry's lines only
    lock.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return old, new


def _get_json(url: str) -> Any:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode, done.stdout + done.stderr


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid")
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
