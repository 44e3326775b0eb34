"""The team cache (Redis) on a big lockfile: cold CI runners against a warm Redis, eight cold
runners at once, Redis stopped mid-run, and what Redis holds per 1,000 packages.

    .venv/bin/python benchmarks/bench_team.py                  # fullstack-1122, every rule
    .venv/bin/python benchmarks/bench_team.py --runners 8 --runs 5

By hand: it talks to the registry npm is configured for (``npm config get registry``) and
starts its own ``redis-server`` (Debian package) on a free loopback port, with a password.
Package documents go through a counting loopback proxy in front of that registry, so each
GET of a package document is counted (tarballs are fetched from the lockfile's URLs, not
counted). Every run is a fresh ``python -m npmguard check`` child, as in ``bench_check.py``.

Phases:

1. *seed*: one cold run (empty local cache, empty Redis) fills Redis.
2. *warm local*: runs on that machine's now-warm local cache (the baseline).
3. *empty local, warm Redis*: each run on a new, empty cache folder; target <= 1.5x (2).
4. *N concurrent cold runners*: Redis emptied, N runners with empty caches started at once;
   the proxy counts GETs per package document: target about one per document in total.
5. *Redis stopped mid-run*: a cold run whose Redis is stopped a second in: one warning on
   stderr, and the same verdict and findings as the seed run.

Every run's verdict and findings must agree with the seed run's. Phases 2 and 3 also give
each child's CPU seconds (user + system): on a machine others load, wall time swings by 2x
from run to run while CPU time does not.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCK = ROOT.parent / "shared" / "data" / "bench" / "fullstack-1122.package-lock.json.gz"
PASSWORD = "bench-secret"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import npm_registry  # noqa: E402


class CountingProxy:
    """A reverse proxy on 127.0.0.1 in front of ``upstream``, counting GETs per path."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.counts: collections.Counter[str] = collections.Counter()
        self.failed = 0  # GETs that never reached the registry (DNS, connection)
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                request = urllib.request.Request(
                    proxy.upstream + self.path,
                    headers={"Accept": self.headers.get("Accept", "application/json")},
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        status, body = answer.status, answer.read()
                        kind = answer.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as e:
                    status, body, kind = e.code, e.read(), "application/json"
                except OSError:  # the registry was not reached: not a fetch from it
                    with proxy.lock:
                        proxy.failed += 1
                    status, body, kind = 502, b"{}", "application/json"
                else:
                    with proxy.lock:  # a GET the registry answered
                        proxy.counts[self.path] += 1
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def take(self) -> collections.Counter[str]:
        with self.lock:
            out, self.counts = self.counts, collections.Counter()
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Redis:
    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--requirepass", PASSWORD, "--save", "", "--appendonly", "no"),
                *("--dir", str(self.folder)),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.02)
        raise SystemExit("redis-server did not start")

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


def run_check(lock: Path, env: dict[str, str], cache: Path) -> tuple[float, str, list[str], str]:
    """(seconds, verdict, findings, stderr) of one ``npmguard check`` child; its CPU seconds
    (user + system, from ``os.wait4``) are appended to ``CPU``."""
    out = cache.with_suffix(".report.json")
    cmd = [sys.executable, "-m", "npmguard", "check", str(lock), "--format", "json"]
    cmd += ["-o", str(out), "--cache-dir", str(cache)]
    err = cache.with_suffix(".stderr")
    start = time.perf_counter()
    with err.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stderr=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    CPU.append(usage.ru_utime + usage.ru_stime)
    said = err.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"npmguard check failed:\n{said}")
    report = json.loads(out.read_text())
    found = sorted(f"{f['package']}@{f['version']}:{f['rule']}" for f in report["findings"])
    return elapsed, report["verdict"], found, said


CPU: list[float] = []


def forget_facts(client: Any) -> None:
    """Empty the team cache's facts (the shared names index stays)."""
    for key in client.scan_iter(match="npmguard:facts:*", count=1000):
        client.delete(key)


def fresh_cache(work: Path, label: str, names: Path | None) -> Path:
    """An empty cache folder; ``names``: the popular-names index to put in it (see --names)."""
    cache = work / "caches" / label
    cache.mkdir(parents=True)
    if names is not None:
        shutil.copy(names, cache / names.name)
    return cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lockfile", type=Path, default=DEFAULT_LOCK)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runners", type=int, default=8)
    parser.add_argument(
        "--names",
        choices=("team", "local"),
        default="team",
        help="where an empty runner gets the popular-names index: from the team cache "
        "(default), or given in its cache folder (to time the facts alone)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-team-"))
    upstream = npm_registry()
    proxy = CountingProxy(upstream)
    redis = Redis(work)
    redis.start()
    try:
        project = work / "project"
        project.mkdir()
        lock = project / "package-lock.json"
        with gzip.open(args.lockfile, "rb") as fh:
            lock.write_bytes(fh.read())
        manifest = args.lockfile.with_name(
            args.lockfile.name.replace(".package-lock.json.gz", ".package.json")
        )
        if manifest.exists():
            shutil.copy(manifest, project / "package.json")
        # the lockfile resolves from the real registry; the proxy stands in front of it
        (project / "npmguard.toml").write_text(f'[settings]\nallowed-registries = ["{upstream}"]\n')
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NPMGUARD_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(
            NPMGUARD_DATA_DIR=str(work / "data"),
            NPMGUARD_CONFIG_DIR=str(work / "config"),
            NPMGUARD_CACHE_DIR=str(work / "default-cache"),
            NPMGUARD_CACHE_URL=redis.url,
            NPMGUARD_CACHE_PASSWORD=PASSWORD,
            npm_config_registry=proxy.url,
        )
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "npmguard")], env=env, check=True
        )
        figures: dict[str, Any] = {"lockfile": args.lockfile.name, "registry": upstream}

        # 1. seed
        seed_cache = fresh_cache(work, "seed", None)
        seconds, verdict, found, _ = run_check(lock, env, seed_cache)
        seeded = proxy.take()
        figures["seed_cold_s"] = round(seconds, 2)
        figures["seed_documents_fetched"] = sum(seeded.values())
        names_files = sorted(seed_cache.glob("names-*.sqlite"))
        names = names_files[0] if args.names == "local" and names_files else None
        agree = True

        def same(result: tuple[float, str, list[str], str]) -> bool:
            return result[1] == verdict and result[2] == found

        # the team cache's size: the facts, and the shared popular-names index apart
        client = redis.client()

        def memory(pattern: str) -> int:
            return sum(int(client.memory_usage(k) or 0) for k in client.scan_iter(match=pattern))

        packages = sum(1 for _ in client.scan_iter(match="npmguard:facts:*:pkg:*"))
        facts = memory("npmguard:facts:*")
        figures["redis_packages"] = packages
        figures["redis_versions"] = sum(
            int(client.hlen(k)) for k in client.scan_iter(match="npmguard:facts:*:ver:*")
        )
        figures["redis_tarballs"] = sum(1 for _ in client.scan_iter(match="npmguard:facts:*:tar:*"))
        figures["redis_facts_bytes"] = facts
        figures["redis_facts_mb_per_1000_packages"] = round(
            facts / max(packages, 1) * 1000 / 2**20, 2
        )
        figures["redis_names_index_bytes"] = memory("npmguard:files:*")

        # 2. and 3.: warm local (the baseline) and empty local with a warm Redis, taken in
        # turns so that load from elsewhere on the machine weighs on both alike
        warm: list[tuple[float, str, list[str], str]] = []
        team: list[tuple[float, str, list[str], str]] = []
        warm_cpu: list[float] = []
        team_cpu: list[float] = []
        for i in range(args.runs):
            warm.append(run_check(lock, env, seed_cache))
            warm_cpu.append(CPU[-1])
            team.append(run_check(lock, env, fresh_cache(work, f"ci-{i}", names)))
            team_cpu.append(CPU[-1])
        agree &= all(same(r) for r in warm + team)
        figures["warm_local_s"] = round(statistics.median(w[0] for w in warm), 3)
        figures["empty_local_warm_redis_s"] = round(statistics.median(t[0] for t in team), 3)
        figures["ratio_to_warm_local"] = round(
            figures["empty_local_warm_redis_s"] / figures["warm_local_s"], 2
        )
        figures["warm_local_cpu_s"] = round(statistics.median(warm_cpu), 3)
        figures["empty_local_warm_redis_cpu_s"] = round(statistics.median(team_cpu), 3)
        figures["cpu_ratio_to_warm_local"] = round(
            figures["empty_local_warm_redis_cpu_s"] / figures["warm_local_cpu_s"], 2
        )
        figures["pairwise_ratio_median"] = round(
            statistics.median(t[0] / w[0] for w, t in zip(warm, team, strict=True)), 2
        )
        figures["documents_fetched_with_warm_redis"] = sum(proxy.take().values())

        # 4. N concurrent cold runners
        forget_facts(client)
        caches = [fresh_cache(work, f"cold-{i}", names) for i in range(args.runners)]
        results: list[tuple[float, str, list[str], str]] = [None] * args.runners  # type: ignore[list-item]

        def runner(i: int) -> None:
            results[i] = run_check(lock, env, caches[i])

        started = time.perf_counter()
        threads = [threading.Thread(target=runner, args=(i,)) for i in range(args.runners)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        figures["concurrent_wall_s"] = round(time.perf_counter() - started, 2)
        counts = proxy.take()
        agree &= all(same(r) for r in results)
        figures["concurrent_runners"] = args.runners
        figures["concurrent_documents"] = len(counts)
        figures["concurrent_gets"] = sum(counts.values())
        figures["concurrent_gets_per_document"] = round(
            sum(counts.values()) / max(len(counts), 1), 3
        )
        figures["concurrent_max_gets_one_document"] = max(counts.values(), default=0)
        figures["upstream_failures"] = proxy.failed

        # 5. Redis stopped mid-run
        forget_facts(client)
        cache = fresh_cache(work, "stopped", names)
        stopper = threading.Timer(1.0, redis.stop)
        stopper.start()
        stopped = run_check(lock, env, cache)
        stopper.join()
        warnings = [line for line in stopped[3].splitlines() if "team cache" in line]
        figures["stopped_mid_run_s"] = round(stopped[0], 2)
        figures["stopped_mid_run_warnings"] = len(warnings)
        figures["stopped_mid_run_same_verdict"] = same(stopped)
        agree &= same(stopped)
        figures["verdicts_agree"] = agree
        figures["verdict"] = verdict

        for key, value in figures.items():
            print(f"{key:>36}: {value}")
        for line in warnings:
            print(f"{'warning':>36}: {line}")
        ok = (
            agree
            and figures["ratio_to_warm_local"] <= 1.5
            and figures["concurrent_gets_per_document"] <= 1.1
            and figures["stopped_mid_run_warnings"] == 1
        )
        return 0 if ok else 1
    finally:
        redis.stop()
        proxy.close()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
