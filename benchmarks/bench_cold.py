"""A cold ``npmguard check`` against the network floor: cold ÷ floor, medians of paired runs.

    flock /tmp/npmguard-bench.lock .venv/bin/python benchmarks/bench_cold.py [--pairs 5]
        [--lockfile NAME ...] [--names prebuilt|build]

For each reference lockfile (``bench/`` of the shared data: ``$NPMGUARD_SHARED_DATA`` or
``../shared/data``; default fullstack-1122 and webapp-456) it runs, interleaved, ``--pairs``
times:

- **floor**: a fresh Python child that downloads every package document the lockfile names
  (the registry names npmguard asks about: ``LockedPackage.on_registry``) over 16 keep-alive
  connections (``requests``, 16 threads, one pooled session) with the ``Accept`` header
  npmguard sends (``application/json``), and ``json.loads`` each body: what no checker of
  these packages can beat on this machine;
- **cold**: ``npmguard check --format json`` (a fresh child, as :mod:`bench_check` runs it)
  with an empty cache directory, every rule on (tarballs too).

Both talk to the registry npm is configured for (``npm config get registry``). The names
store is, by default, whatever this checkout ships (``--names prebuilt``: the store built at
install, if any); ``--names build`` hides it so the cold run builds one (the first run before
issue 15). Prints each run, then the medians and cold ÷ floor per lockfile; the pairs'
verdicts must agree. Wrap it in ``flock`` so timing runs never overlap.
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
from pathlib import Path

from bench_check import ROOT, npm_registry, run_check

DEFAULT_LOCKS = ("fullstack-1122", "webapp-456")
FLOOR_CONNECTIONS = 16

FLOOR = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import requests
from requests.adapters import HTTPAdapter

registry, names_file, connections = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = json.loads(open(names_file).read())
session = requests.Session()
session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=connections))
session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=connections))
total = 0

def one(name):
    url = registry + (name.replace("/", "%2f", 1) if name.startswith("@") else name)
    response = session.get(url, headers={"Accept": "application/json"}, timeout=60)
    body = response.content
    if response.status_code == 200:
        json.loads(body)
    return len(body)

with ThreadPoolExecutor(max_workers=connections) as pool:
    total = sum(pool.map(one, names))
print(total)
"""


def shared_data() -> Path:
    env = os.environ.get("NPMGUARD_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def registry_names(lock: Path) -> list[str]:
    """The names npmguard fetches package documents for, as its reputation source picks them."""
    sys.path.insert(0, str(ROOT))
    from npmguard.lockfile import load_lockfile

    return sorted({p.name for p in load_lockfile(lock).packages if p.on_registry})


def run_floor(registry: str, names_file: Path, env: dict[str, str]) -> tuple[float, int]:
    """(seconds, bytes downloaded) of one floor child."""
    cmd = [sys.executable, "-c", FLOOR, registry, str(names_file), str(FLOOR_CONNECTIONS)]
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(out.stdout.strip())


def prepare(work: Path, name: str) -> Path:
    source = shared_data() / "bench" / f"{name}.package-lock.json.gz"
    project = work / name
    project.mkdir()
    lock = project / "package-lock.json"
    with gzip.open(source, "rb") as fh:
        lock.write_bytes(fh.read())
    manifest = source.with_name(f"{name}.package.json")
    if manifest.exists():
        shutil.copy(manifest, project / "package.json")
    return lock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--lockfile", action="append", help="a name in bench/ (repeatable)")
    parser.add_argument(
        "--names",
        choices=("prebuilt", "build"),
        default="prebuilt",
        help="use the names store this install ships (default), or make the run build one",
    )
    args = parser.parse_args()
    locks = args.lockfile or list(DEFAULT_LOCKS)

    registry = npm_registry()
    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-cold-"))
    restore: list[tuple[Path, Path]] = []
    try:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NPMGUARD_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        base["npm_config_registry"] = registry
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "npmguard")], env=base, check=True
        )
        try:
            from npmguard.names.store import prebuilt_path
        except ImportError:  # before issue 15: no prebuilt store
            prebuilt = None
        else:
            prebuilt = prebuilt_path()
        names_note = (
            "built by the run (prebuilt hidden)"
            if args.names == "build"
            else f"prebuilt: {prebuilt}"
            if prebuilt is not None
            else "built by the run (this install ships none)"
        )
        print(f"registry: {registry}; names store: {names_note}; pairs: {args.pairs}")
        if args.names == "build" and prebuilt is not None:
            hidden = prebuilt.with_name(prebuilt.name + ".hidden")
            prebuilt.rename(hidden)  # put back in the finally below
            restore.append((hidden, prebuilt))
        summary: list[str] = []
        for name in locks:
            lock = prepare(work, name)
            names = registry_names(lock)
            names_file = work / f"{name}.names.json"
            names_file.write_text(json.dumps(names))
            floors: list[float] = []
            colds: list[float] = []
            verdicts: set[str] = set()
            peaks: list[float] = []
            for i in range(args.pairs):
                floor, size = run_floor(registry, names_file, base)
                cache = work / "cache"
                shutil.rmtree(cache, ignore_errors=True)
                env = dict(
                    base,
                    NPMGUARD_CACHE_DIR=str(cache),
                    NPMGUARD_DATA_DIR=str(work / "data"),
                    NPMGUARD_CONFIG_DIR=str(work / "config"),
                )
                cold, peak, _, verdict = run_check(lock, env)
                floors.append(floor)
                colds.append(cold)
                peaks.append(peak)
                verdicts.add(verdict)
                print(
                    f"{name} pair {i + 1}: floor {floor:.2f} s ({size / 1e6:.0f} MB, "
                    f"{len(names)} documents), cold {cold:.2f} s ({peak:.0f} MB peak), "
                    f"ratio {cold / floor:.2f}",
                    flush=True,
                )
            floor_m = statistics.median(floors)
            cold_m = statistics.median(colds)
            ratios = [c / f for c, f in zip(colds, floors, strict=True)]
            summary.append(
                f"{name}: floor {floor_m:.2f} s, cold {cold_m:.2f} s, cold ÷ floor "
                f"{cold_m / floor_m:.2f} (median of pair ratios {statistics.median(ratios):.2f}), "
                f"peak {max(peaks):.0f} MB, verdicts {'agree' if len(verdicts) == 1 else verdicts}"
            )
        print("\n".join(summary))
        return 0
    finally:
        for hidden, path in restore:
            hidden.rename(path)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
