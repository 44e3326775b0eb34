"""Warm check against reading the lockfile, and the pre-commit path against a warm check.

    .venv/bin/python benchmarks/bench_warm.py [--pairs 7] [--only fullstack]

For each reference lockfile (``../shared/data/bench/``: fullstack-1122 and webapp-456) in a
temporary git repository, after one un-timed run that fills the cache (``--cache-dir``, kept
between runs of this script, so reruns start warm), it times three commands, interleaved
(A, B, C, A, B, C, ...), each a fresh ``python -m npmguard`` child as a user pays it
(interpreter start, imports, report):

- ``lockfile-only``: ``npmguard check --lockfile-only`` (no registry facts: the floor);
- ``warm``: ``npmguard check``, every fact from the warm cache;
- ``pre-commit``: what the hook runs (``.pre-commit-hooks.yaml``:
  ``npmguard check --changed-since HEAD package-lock.json``) after a one-line change: one
  dependency moved to the version published before the locked one (``bench_hook.py``'s change,
  with that version's real ``integrity`` from the registry npm is configured for).

All three run on the same, changed, lockfile. It prints the medians (wall and CPU seconds:
user + system of the child, what the run costs when other work shares the machine) and the
medians of the per-round ratios ``warm / lockfile-only`` and ``pre-commit / warm``, with the
targets of issue 15 (<= 1.5 and <= 0.6). Wrap it in ``flock /tmp/npmguard-bench.lock`` on a
shared machine. The registry is used only to make the change and fill the cache.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data"))

from bench_hook import _change_one, _git, _npm_registry  # noqa: E402
from same_findings import export_revision  # noqa: E402

TARGET_WARM = 1.5  # warm / lockfile-only
TARGET_HOOK = 0.6  # pre-commit / warm
CANDIDATES = ("axios", "lodash", "express")  # the dependency the one-line change moves


@dataclass(frozen=True)
class Run:
    """One child: wall seconds, CPU seconds (user + system), peak RSS in MB, exit code."""

    wall: float
    cpu: float
    peak_mb: float
    code: int


def child_env(cache: Path) -> dict[str, str]:
    """This environment without npmguard's own variables, with the cache folders in ``cache``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NPMGUARD_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    env.update(
        NPMGUARD_CACHE_DIR=str(cache / "cache"),
        NPMGUARD_DATA_DIR=str(cache / "data"),
        NPMGUARD_CONFIG_DIR=str(cache / "config"),
        NO_COLOR="1",
    )
    return env


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run ``argv``; its wall time, CPU time and peak RSS (``os.wait4``: children included)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({code}):\n{err.decode(errors='replace')}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def use_code(env: dict[str, str], rev: str | None, into: Path) -> str:
    """Byte-compile the npmguard the children run, as pip does when it installs it
    (``__pycache__`` is git-ignored; children must time npmguard, not the compiler): this
    checkout, or git revision ``rev`` exported into ``into`` and put first on ``PYTHONPATH``
    (a baseline: same interpreter and libraries, only npmguard's code differs)."""
    code, what = ROOT, f"working tree {ROOT}"
    if rev is not None:
        commit = export_revision(rev, into)
        code, what = into, f"{rev} = {commit[:12]}"
        env["PYTHONPATH"] = str(into)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(code / "npmguard")], env=env, check=True
    )
    return what


def npmguard(*args: str) -> list[str]:
    return [sys.executable, "-m", "npmguard", *args]


def prepare(lock_gz: Path, work: Path, registry: str) -> tuple[Path, str]:
    """A git repository with the lockfile committed, then changed on one dependency."""
    work.mkdir(parents=True)
    lock = work / "package-lock.json"
    lock.write_bytes(gzip.decompress(lock_gz.read_bytes()))
    manifest = lock_gz.with_name(lock_gz.name.replace(".package-lock.json.gz", ".package.json"))
    if manifest.exists():
        shutil.copy(manifest, work / "package.json")
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "--no-verify", "-m", "reference lockfile")
    entries = json.loads(lock.read_text(encoding="utf-8"))["packages"]
    name = next(n for n in CANDIDATES if f"node_modules/{n}" in entries)
    old, new = _change_one(lock, name, registry)
    return work, f"{name} {old} -> {new}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pairs", type=int, default=7, help="interleaved rounds to time (>= 7)")
    ap.add_argument("--only", default="", help="only reference lockfiles whose name has this")
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "npmguard-bench-warm",
        help="npmguard's cache, data and config folders go here (kept, so reruns start warm; "
        "use another one with --rev when the revisions' cache formats differ)",
    )
    ap.add_argument("--rev", help="time this git revision's npmguard instead (a baseline)")
    args = ap.parse_args()

    env = child_env(args.cache_dir)
    registry = _npm_registry()
    locks = sorted((SHARED / "bench").glob("*.package-lock.json.gz"), reverse=True)
    locks = [p for p in locks if args.only in p.name]
    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-warm-"))
    ok = True
    try:
        print("npmguard:", use_code(env, args.rev, work / "rev"))
        for lock_gz in locks:
            label = lock_gz.name.removesuffix(".package-lock.json.gz")
            repo, change = prepare(lock_gz, work / label, registry)
            commands = {
                "lockfile-only": npmguard("check", "-q", "--lockfile-only"),
                "warm": npmguard("check", "-q"),
                "pre-commit": npmguard("check", "--changed-since", "HEAD", "package-lock.json"),
            }
            for argv in commands.values():  # fill the cache; not timed
                timed(argv, repo, env)
            runs: dict[str, list[Run]] = {k: [] for k in commands}
            for _ in range(args.pairs):
                for key, argv in commands.items():
                    runs[key].append(timed(argv, repo, env))
            lo, warm, hook = runs["lockfile-only"], runs["warm"], runs["pre-commit"]
            print(f"{label} ({change}; {args.pairs} interleaved rounds)")
            for key, got in runs.items():
                walls, cpus = [r.wall for r in got], [r.cpu for r in got]
                print(
                    f"  {key:<14} wall {median(walls):.3f} s (min {min(walls):.3f})  "
                    f"cpu {median(cpus):.3f} s"
                    f"  peak {max(r.peak_mb for r in got):.0f} MB  exit {got[0].code}"
                )
            for what, num, den, target in (
                ("warm / lockfile-only", warm, lo, TARGET_WARM),
                ("pre-commit / warm", hook, warm, TARGET_HOOK),
            ):
                wall = median([a.wall / b.wall for a, b in zip(num, den, strict=True)])
                cpu = median([a.cpu / b.cpu for a, b in zip(num, den, strict=True)])
                mark = "ok" if wall <= target else "MISSED"
                ok = ok and wall <= target
                print(f"  {what:<22} {wall:.2f} (cpu {cpu:.2f})  target <= {target}: {mark}")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
