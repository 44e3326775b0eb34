"""Wrapper overhead, run by hand (uses the npm registry npm is configured for).

1. ``npmguard npm ci`` vs plain ``npm ci`` on the 1,122-package reference project, with a
   warm npm cache and a warm npmguard cache. Target: at most +10%.
2. ``npmguard npm --version`` vs ``npm --version``. Target: at most 1.2x.

    python benchmarks/bench_wrapper.py [--runs 3]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data")) / "bench"
NPMGUARD = [sys.executable, "-m", "npmguard"]


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def bench_ci(runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-ci-"))
    try:
        (work / "package.json").write_bytes((BENCH / "fullstack-1122.package.json").read_bytes())
        with gzip.open(BENCH / "fullstack-1122.package-lock.json.gz") as fh:
            (work / "package-lock.json").write_bytes(fh.read())
        env = dict(os.environ)
        env["NPMGUARD_CACHE_DIR"] = str(work.parent / (work.name + "-cache"))
        env["npm_config_audit"] = "false"
        env["npm_config_fund"] = "false"
        # The baseline runs no install scripts: this tree's (cypress, prisma) download
        # binaries from hosts outside the registry, and npmguard runs none that are not
        # approved (this package.json approves none), so both install the same thing.
        plain_cmd = ["npm", "ci", "--ignore-scripts"]
        guard_cmd = [*NPMGUARD, "npm", "ci", "--npmguard-yes"]
        print("warming npm's cache and npmguard's cache ...", file=sys.stderr)
        timed(plain_cmd, work, env)
        subprocess.run(
            [*NPMGUARD, "check", "package-lock.json", "-q"],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        plain, guarded = [], []
        for _ in range(runs):
            plain.append(timed(plain_cmd, work, env))
            guarded.append(timed(guard_cmd, work, env))
        p, g = statistics.median(plain), statistics.median(guarded)
        print(f"npm ci --ignore-scripts: median {p:.2f} s over {runs} runs")
        print(f"npmguard npm ci:         median {g:.2f} s  (+{(g / p - 1) * 100:.1f}%)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(work.parent / (work.name + "-cache"), ignore_errors=True)


def bench_version(runs: int) -> None:
    env = dict(os.environ)
    exe = shutil.which("npmguard") or str(Path(sys.executable).parent / "npmguard")
    plain = [timed(["npm", "--version"], ROOT, env) for _ in range(runs)]
    guarded = [timed([exe, "npm", "--version"], ROOT, env) for _ in range(runs)]
    p, g = statistics.median(plain), statistics.median(guarded)
    print(f"npm --version:          median {p * 1000:.0f} ms over {runs} runs")
    print(f"npmguard npm --version: median {g * 1000:.0f} ms  ({g / p:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-ci", action="store_true")
    args = parser.parse_args()
    bench_version(max(args.runs, 15))
    if not args.skip_ci:
        bench_ci(args.runs)


if __name__ == "__main__":
    main()
