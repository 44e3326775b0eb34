"""The lockfile-integrity rules on real lockfiles, and what reading a lockfile costs (offline).

    .venv/bin/python benchmarks/lockfile_rates.py

``NPMGUARD_SHARED_DATA`` points at the shared data when it is not at ``../shared/data``.

- **False positives**: every npm lockfile in ``../shared/data/lockfiles`` and the two
  reference lockfiles in ``../shared/data/bench`` are read and checked with the lockfile rules
  alone (as ``npmguard check --lockfile-only`` does), with npm's default configuration (no
  ``.npmrc``): these are real projects' lockfiles, so a host, URL, name or version finding is a
  false positive. Source and integrity findings are listed for a person to judge.
- **Speed**: the median time to read each reference lockfile (``parse``), and the cost of
  parsing a URL as Node does (``ada-url``) against ``urllib.parse.urlsplit``, on every
  ``resolved`` URL of the 1,122-entry reference lockfile.
"""

from __future__ import annotations

import gzip
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from npmguard.lockfile import sources
from npmguard.lockfile.npm import parse
from npmguard.policy.model import Policy
from npmguard.registry.npmrc import Registries
from npmguard.rules.base import CheckContext, all_rules
from npmguard.urls import parse_url

DATA = Path(
    os.environ.get("NPMGUARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
MUST_BE_QUIET = ("lock-host", "lock-insecure-url", "lock-name-mismatch", "lock-version-mismatch")


def lockfiles() -> list[Path]:
    found = sorted((DATA / "lockfiles").glob("npm-v*/*.json.gz"))
    found += sorted((DATA / "lockfiles" / "shrinkwrap").glob("*.json.gz"))
    found += sorted((DATA / "bench").glob("*.package-lock.json.gz"))
    return [p for p in found if ".npm-ls" not in p.name]


def check(path: Path) -> tuple[int, Counter[str]]:
    name = "npm-shrinkwrap.json" if "shrinkwrap" in path.name else "package-lock.json"
    lockfile = parse(gzip.decompress(path.read_bytes()), Path(name))
    rules = [cls() for cls in all_rules().values() if cls.family == "lockfile integrity"]
    ctx = CheckContext(
        lockfile=lockfile,
        facts={},
        options=Policy().options,
        allowed_registries=(),
        registries=Registries(),
    )
    found: Counter[str] = Counter(f.rule for rule in rules for f in rule.check(ctx))
    return len(lockfile.packages), found


def median_ms(fn: object, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        sources.classify.cache_clear()
        parse_url.cache_clear()
        start = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def main() -> None:
    total: Counter[str] = Counter()
    packages = 0
    print(f"{'lockfile':60} {'packages':>8}  findings")
    for path in lockfiles():
        count, found = check(path)
        packages += count
        total += found
        print(f"{path.name[:60]:60} {count:8}  {dict(found) or '-'}")
    print(f"{'all':60} {packages:8}  {dict(total)}")
    loud = {rule: total[rule] for rule in MUST_BE_QUIET if total[rule]}
    print(f"host/URL/name/version findings (false positives): {loud or 'none'}")

    print()
    for name in ("webapp-456", "fullstack-1122"):
        raw = gzip.decompress((DATA / "bench" / f"{name}.package-lock.json.gz").read_bytes())
        ms = median_ms(lambda raw=raw: parse(raw, Path("package-lock.json")))
        print(f"parse {name}: median {ms:.1f} ms (CPU)")
    raw = gzip.decompress((DATA / "bench" / "fullstack-1122.package-lock.json.gz").read_bytes())
    lock = parse(raw, Path("package-lock.json"))
    urls = [o.resolved for p in lock.packages for o in p.occurrences if o.resolved]
    ada = median_ms(lambda: [parse_url(u) for u in urls])
    rfc = median_ms(lambda: [urlsplit(u).hostname for u in urls])
    n = len(urls)
    print(f"{n} resolved URLs: ada-url {ada / n * 1000:.1f} us/URL, urlsplit {rfc / n * 1000:.1f}")


if __name__ == "__main__":
    main()
