"""Speed of reading lockfiles: every pnpm, yarn and npm lockfile in the shared data.

    .venv/bin/python benchmarks/bench_lockfiles.py [--runs 15] [--only yarn]

Each file is read ``--runs`` times in this process (bytes already in memory, as ``check``
has them) through ``parse_lockfile_text``, the path every command takes; the table gives the
median and fastest wall-clock time and the median CPU time (``time.process_time``: what the
read costs when other work shares the machine). Target (issue 17): the largest pnpm/yarn
file reads in under 0.2 s.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data"))
TARGET_S = 0.2


def main() -> int:
    from npmguard.lockfile import parse_lockfile_text

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default="", help="only files whose path contains this")
    args = parser.parse_args()
    with (SHARED / "lockfiles" / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if args.only in r["path"]]
    print(f"{'lockfile':<78} {'KB':>5} {'entries':>7} {'median':>8} {'best':>8} {'cpu':>8}")
    worst: dict[str, float] = {}
    for row in rows:
        data = gzip.decompress((SHARED / "lockfiles" / row["path"]).read_bytes())
        name = Path(Path(row["path"]).name.removesuffix(".gz").split("__")[-1])
        walls, cpus = [], []
        for _ in range(args.runs):
            wall, cpu = time.perf_counter(), time.process_time()
            lockfile = parse_lockfile_text(data, name)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        entries = sum(len(p.occurrences) for p in lockfile.packages)
        median = statistics.median(walls)
        kind = row["format"].split("-")[0]
        worst[kind] = max(worst.get(kind, 0.0), median)
        print(
            f"{row['path']:<78} {len(data) // 1024:>5} {entries:>7} {median * 1000:>6.0f}ms "
            f"{min(walls) * 1000:>6.0f}ms {statistics.median(cpus) * 1000:>6.0f}ms"
        )
    for kind, seconds in sorted(worst.items()):
        mark = "ok" if seconds < TARGET_S else "OVER"
        print(f"slowest {kind}: {seconds * 1000:.0f} ms median ({mark}, target {TARGET_S}s)")
    return 0 if all(s < TARGET_S for k, s in worst.items() if k in ("pnpm", "yarn")) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
