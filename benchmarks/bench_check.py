"""Speed and size of ``npmguard check`` on a big lockfile: cold, warm, offline, memory, store size.

    .venv/bin/python benchmarks/bench_check.py                 # fullstack-1122, every rule
    .venv/bin/python benchmarks/bench_check.py --no-tarballs   # rules that need tarballs off

Runs against the registry npm is configured for (``npm config get registry``), by hand: it
talks to the network. Every run is a fresh ``python -m npmguard check`` subprocess, so times
include interpreter start; peak memory is the child's ``ru_maxrss`` (``os.wait4``), which
covers its parser worker processes too (it waits for them). npmguard's bytecode is compiled
first (``compileall``: ``__pycache__`` is git-ignored), as pip does when it installs a package,
and children run without ``PYTHONDONTWRITEBYTECODE``, which would time compiling, not npmguard.
Cold starts from an empty cache directory; warm runs reuse it; the offline run adds
``--offline``. ``facts_*`` figures time the facts stage alone (a child that reads the lockfile
and asks the reputation source, nothing else), to tell it apart from the rules' time.
The verdicts of all runs must agree. Targets (issue 3): cold <= 3 s, warm <= 0.3 s,
peak <= 250 MB, facts store <= 10 KB per package.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCK = ROOT.parent / "shared" / "data" / "bench" / "fullstack-1122.package-lock.json.gz"
TARGETS = {
    "cold_s": 3.0,
    "warm_s": 0.3,
    "peak_mb": 250.0,
    "kb_per_package": 10.0,
    "facts_cold_s": 3.0,
    "facts_warm_s": 0.3,
    "facts_peak_cold_mb": 250.0,
}


def npm_registry() -> str:
    try:
        out = subprocess.run(
            ["npm", "config", "get", "registry"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "https://registry.npmjs.org/"
    return out.stdout.strip() or "https://registry.npmjs.org/"


def run_check(lock: Path, env: dict[str, str], *extra: str) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, verdict) of one ``npmguard check`` child."""
    out = lock.parent / "report.json"
    cmd = [sys.executable, "-m", "npmguard", "check", str(lock), "-q", "--format", "json"]
    cmd += ["-o", str(out), *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"npmguard check failed ({proc.returncode}):\n{err}")
    verdict = json.loads(out.read_text())["verdict"]
    return elapsed, usage.ru_maxrss / 1024, proc.returncode, verdict


FACTS_ONLY = """
import sys
from pathlib import Path
from npmguard.app import Options, build
from npmguard.facts import Need
from npmguard.lockfile import load_lockfile
lock = Path(sys.argv[1])
needs = frozenset(Need(n) for n in sys.argv[2].split(","))
packages = load_lockfile(lock).packages
with build(Options(progress=False), lock.parent) as checker:
    facts = checker.gather(packages, needs).packages
assert len(facts) > 0
"""


def run_facts(lock: Path, env: dict[str, str], needs: str) -> tuple[float, float]:
    """(seconds, peak MB) of a child that only reads the lockfile and gathers facts."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", FACTS_ONLY, str(lock), needs], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("gathering facts failed")
    return elapsed, usage.ru_maxrss / 1024


def store_size(cache: Path) -> tuple[int, int]:
    db_path = cache / "facts.sqlite"
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    packages = int(db.execute("SELECT COUNT(*) FROM package").fetchone()[0])
    db.close()
    size = sum(p.stat().st_size for p in cache.glob("facts.sqlite*"))
    return size, packages


def tarball_rules_off_policy(path: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from npmguard.facts import Need
    from npmguard.rules.base import all_rules

    off = sorted(rid for rid, cls in all_rules().items() if Need.TARBALL in cls.needs)
    path.write_text("[rules]\n" + "".join(f'{rid} = "off"\n' for rid in off))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lockfile", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument(
        "--no-tarballs", action="store_true", help="turn off the rules that need tarballs"
    )
    parser.add_argument("--policy", type=Path, help="a policy file to check with")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-"))
    try:
        lock = work / "project" / "package-lock.json"
        lock.parent.mkdir()
        opener = gzip.open if args.lockfile.suffix == ".gz" else open
        with opener(args.lockfile, "rb") as fh:
            lock.write_bytes(fh.read())
        manifest = args.lockfile.with_name(
            args.lockfile.name.replace(".package-lock.json.gz", ".package.json")
        )
        if manifest.exists():
            shutil.copy(manifest, lock.parent / "package.json")
        cache = work / "cache"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NPMGUARD_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(
            NPMGUARD_CACHE_DIR=str(cache),
            NPMGUARD_DATA_DIR=str(work / "data"),
            NPMGUARD_CONFIG_DIR=str(work / "config"),
            npm_config_registry=npm_registry(),
        )
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "npmguard")], env=env, check=True
        )
        extra: list[str] = []
        if args.no_tarballs:
            extra = ["--policy", str(tarball_rules_off_policy(work / "policy.toml"))]
        elif args.policy:
            extra = ["--policy", str(args.policy)]

        needs = "packument" if args.no_tarballs else "packument,tarball"
        facts_cold = run_facts(lock, env, needs)
        facts_warm = [run_facts(lock, env, needs) for _ in range(args.warm_runs)]
        shutil.rmtree(cache)
        cold = run_check(lock, env, *extra)
        warm = [run_check(lock, env, *extra) for _ in range(args.warm_runs)]
        offline = run_check(lock, env, "--offline", *extra)
        size, packages = store_size(cache)
        verdicts = {cold[3], offline[3], *(w[3] for w in warm)}

        figures = {
            "lockfile": args.lockfile.name,
            "registry": env["npm_config_registry"],
            "tarball_rules": not args.no_tarballs,
            "cold_s": round(cold[0], 3),
            "warm_s": round(statistics.median(w[0] for w in warm), 3),
            "warm_min_s": round(min(w[0] for w in warm), 3),
            "offline_s": round(offline[0], 3),
            "peak_mb": round(max(cold[1], offline[1], *(w[1] for w in warm)), 1),
            "peak_cold_mb": round(cold[1], 1),
            "peak_warm_mb": round(warm[0][1], 1),
            "store_bytes": size,
            "store_packages": packages,
            "kb_per_package": round(size / max(packages, 1) / 1024, 2),
            "facts_cold_s": round(facts_cold[0], 3),
            "facts_warm_s": round(statistics.median(w[0] for w in facts_warm), 3),
            "facts_peak_cold_mb": round(facts_cold[1], 1),
            "verdicts_agree": len(verdicts) == 1,
            "verdict": cold[3],
        }
        for key, value in figures.items():
            target = TARGETS.get(key)
            mark = ""
            if target is not None and isinstance(value, float):
                mark = f"   (target <= {target}: {'ok' if value <= target else 'MISSED'})"
            print(f"{key:>16}: {value}{mark}")
        return 0 if figures["verdicts_agree"] else 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
