"""How ``npmguard check`` scales: 1k, 2k, 4k and 8k packages, cold and warm, with peak memory.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000,2000,4000,8000] [--rounds 3]

Offline: a loopback registry (HTTP/1.1 keep-alive, bodies serialised once beforehand, so the
server costs as little CPU as it can) serves real-shaped packages: names sampled across the
whole popularity range of ``../shared/data/npm-names-downloads.tsv.gz`` (so popular and
obscure packages mix as in a real tree, and the popularity rules see real names), each with
1 to 160 versions (about 40 on average) published weekly, packuments shaped as the mirror
serves them (``name``, ``dist-tags``, ``versions``, ``time``), up to three dependencies on
packages earlier in the list, 2% with a ``postinstall`` script and its file, and a real
tarball for the locked version. The lockfile of size N (npm v3, ``packages`` only) takes
the first N packages, so each size holds the smaller ones.

Each round, for each size: a *cold* check (empty facts cache; the popular-names index is the
one the install built, or built once beforehand, as a user's cache has it) and then a *warm*
one on that cache; figures are medians over ``--rounds``. Every check is a fresh ``python -m
npmguard check`` child started by a small launcher process (``bench_hostile.py``'s), so its
peak RSS (``ru_maxrss``, parser workers included) is its own and not this process's, which
holds the registry's documents.
Printed: wall seconds, microseconds per package, peak MB, and the growth per doubling
(time at 2N / time at N: 2.0 is linear). Targets (issue 15): growth <= 2.0 per doubling, cold
and warm, and peak <= 250 MB at 8,000. Wrap it in ``flock /tmp/npmguard-bench.lock``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data"))

from bench_hostile import LAUNCHER  # noqa: E402
from bench_warm import use_code  # noqa: E402
from fakeregistry import build_tarball, sha1_hex, sri_sha512  # noqa: E402

TARGET_GROWTH = 2.0
TARGET_PEAK_MB = 250.0
LAST_PUBLISH = datetime(2024, 6, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Package:
    """One generated package and its locked version."""

    name: str
    versions: tuple[str, ...]
    locked: str
    dependencies: tuple[int, ...]  # indexes of earlier packages
    install_script: bool


@dataclass(frozen=True)
class Figure:
    wall: float
    peak_mb: float
    code: int
    outcome: str  # verdict and finding counts, which cold and warm must agree on


def sample_names(count: int, rng: random.Random) -> list[str]:
    """``count`` real package names spread over the popularity list, in random order."""
    with gzip.open(SHARED / "npm-names-downloads.tsv.gz", "rt", encoding="utf-8") as fh:
        names = [line.split("\t", 1)[0] for line in fh.read().splitlines()[1:]]
    step = max(1, len(names) // count)
    picked = names[::step][:count]
    rng.shuffle(picked)
    return picked


def generate(count: int, seed: int = 15) -> list[Package]:
    rng = random.Random(seed)
    out: list[Package] = []
    for index, name in enumerate(sample_names(count, rng)):
        n = min(160, max(1, int(rng.expovariate(1 / 40))))
        versions = tuple(f"{1 + i // 20}.{(i // 5) % 4}.{i % 5}" for i in range(n))
        deps = tuple(sorted(rng.sample(range(index), min(index, rng.randint(0, 3)))))
        locked = versions[rng.randrange(max(1, n // 2), n)] if n > 1 else versions[0]
        out.append(Package(name, versions, locked, deps, rng.random() < 0.02))
    return out


def _files(name: str) -> dict[str, str]:
    """A package's own files: a README, an entry point and 0-4 modules of varied sizes (so
    no two packages look made from one template, as in a real tree)."""
    rng = random.Random(name)
    seed = hashlib.sha256(name.encode()).hexdigest()
    files = {
        "package/README.md": f"# {name}\n\n" + "Some words about it.\n" * rng.randint(2, 150),
        "package/index.js": f"module.exports = require('./lib/main');  // build {seed[:12]}\n",
    }
    for i in range(rng.randint(0, 4)):
        lines = rng.randint(5, 600)
        body = "".join(f"exports.f{j} = '{seed[j % 48 :][:16]}';\n" for j in range(lines))
        files[f"package/lib/m{i}.js"] = body
    return files


def tarball_path(name: str, version: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return f"/{name}/-/{base}-{version}.tgz"


def build_registry(packages: list[Package], url: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """(URL path -> body, name -> integrity of its locked version's tarball)."""
    files: dict[str, bytes] = {}
    integrity: dict[str, str] = {}
    for pkg in packages:
        deps = {packages[d].name: f"^{packages[d].locked}" for d in pkg.dependencies}
        about = f"utilities, build {hashlib.sha256(pkg.name.encode()).hexdigest()[:12]}"
        man: dict[str, Any] = {"name": pkg.name, "version": pkg.locked, "description": about}
        man["license"] = "MIT"
        contents = _files(pkg.name)
        if deps:
            man["dependencies"] = deps
        if pkg.install_script:
            man["scripts"] = {"postinstall": "node install.js"}
            contents["package/install.js"] = "console.log('building native parts');\n"
        contents["package/package.json"] = json.dumps(man, indent=2)
        tgz = build_tarball(contents, gzip_level=1)
        path = tarball_path(pkg.name, pkg.locked)
        files[path] = tgz
        integrity[pkg.name] = sri_sha512(tgz)
        versions: dict[str, Any] = {}
        times: dict[str, str] = {}
        start = LAST_PUBLISH - timedelta(weeks=len(pkg.versions))
        for i, version in enumerate(pkg.versions):
            doc: dict[str, Any] = {"name": pkg.name, "version": version, "description": about}
            doc["license"] = "MIT"
            if deps:
                doc["dependencies"] = deps
            if pkg.install_script:
                doc["scripts"] = {"postinstall": "node install.js"}
            digest = tgz if version == pkg.locked else hashlib.sha512(path.encode()).digest()
            doc["dist"] = {
                "integrity": integrity[pkg.name] if version == pkg.locked else sri_sha512(digest),
                "shasum": sha1_hex(digest),
                "tarball": url.rstrip("/") + tarball_path(pkg.name, version),
            }
            versions[version] = doc
            times[version] = (start + timedelta(weeks=i)).isoformat().replace("+00:00", "Z")
        times["created"] = times[pkg.versions[0]]
        times["modified"] = times[pkg.versions[-1]]
        packument = {
            "name": pkg.name,
            "dist-tags": {"latest": pkg.versions[-1]},
            "versions": versions,
            "time": times,
        }
        body = json.dumps(packument).encode()
        files["/" + pkg.name] = body
        if pkg.name.startswith("@"):
            files["/" + quote(pkg.name, safe="@")] = body
    return files, integrity


def lockfile(packages: list[Package], size: int, url: str, integrity: dict[str, str]) -> str:
    subset = packages[:size]
    depended = {d for p in subset for d in p.dependencies}
    root_deps = {p.name: f"^{p.locked}" for i, p in enumerate(subset) if i not in depended}
    entries: dict[str, Any] = {
        "": {"name": "scale-bench", "version": "1.0.0", "dependencies": root_deps}
    }
    for pkg in subset:
        entry: dict[str, Any] = {
            "version": pkg.locked,
            "resolved": url.rstrip("/") + tarball_path(pkg.name, pkg.locked),
            "integrity": integrity[pkg.name],
            "license": "MIT",
        }
        if pkg.dependencies:
            entry["dependencies"] = {
                packages[d].name: f"^{packages[d].locked}" for d in pkg.dependencies
            }
        if pkg.install_script:
            entry["hasInstallScript"] = True
        entries[f"node_modules/{pkg.name}"] = entry
    doc = {"name": "scale-bench", "version": "1.0.0", "lockfileVersion": 3, "requires": True}
    doc["packages"] = entries
    return json.dumps(doc, indent=2) + "\n"


class Registry:
    """Pre-serialised bodies on 127.0.0.1, HTTP/1.1 keep-alive; counts requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests = 0
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                registry.requests += 1
                path = self.path.split("?", 1)[0]
                body = registry.files.get(path) or registry.files.get(unquote(path))
                if body is None:
                    body = b'{"error":"Not found"}'
                    self.send_response(404)
                else:
                    self.send_response(200)
                kind = "application/octet-stream" if path.endswith(".tgz") else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Registry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_check(project: Path, env: dict[str, str]) -> Figure:
    figures = project / "figures.txt"
    cmd = [sys.executable, "-m", "npmguard", "check", str(project / "package-lock.json")]
    cmd += ["-q", "--format", "json", "-o", str(project / "report.json")]
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(figures), *cmd],
        env=env,
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall, maxrss, code = figures.read_text().split()
    if int(code) not in (0, 1):
        raise SystemExit(f"npmguard check failed ({code}):\n{done.stderr[-3000:]}")
    report = json.loads((project / "report.json").read_text(encoding="utf-8"))
    summary = report["summary"]
    outcome = f"{report['verdict']}: {summary['findings']} findings, {summary['block']} block"
    return Figure(float(wall), int(maxrss) / 1024, int(code), outcome)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,2000,4000,8000")
    ap.add_argument("--rounds", type=int, default=3, help="cold + warm per size, per round")
    ap.add_argument("--rev", help="time this git revision's npmguard instead (a baseline)")
    ap.add_argument(
        "--keep", action="store_true", help="keep the projects and the last round's caches"
    )
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-scale-"))
    try:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NPMGUARD_") and k.lower() != "npm_config_registry"
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("PYTHONPATH", None)
        (work / "npmrc").write_text("")
        env.update(
            NPMGUARD_DATA_DIR=str(work / "data"),
            NPMGUARD_CONFIG_DIR=str(work / "config"),
            NPM_CONFIG_USERCONFIG=str(work / "npmrc"),
            NO_COLOR="1",
        )
        print("npmguard:", use_code(env, args.rev, work / "rev"))
        subprocess.run(  # the popular-names store, built once as a user's cache has it
            [sys.executable, "-c", "from npmguard.names.store import open_store; open_store()"],
            env={**env, "NPMGUARD_CACHE_DIR": str(work / "names-cache")},
            check=True,
        )
        packages = generate(max(sizes))
        with Registry() as registry:
            registry.files, integrity = build_registry(packages, registry.url)
            env["npm_config_registry"] = registry.url
            projects = {}
            for size in sizes:
                project = work / f"p{size}"
                project.mkdir()
                (project / "package-lock.json").write_text(
                    lockfile(packages, size, registry.url, integrity), encoding="utf-8"
                )
                projects[size] = project
            cold: dict[int, list[Figure]] = {s: [] for s in sizes}
            warm: dict[int, list[Figure]] = {s: [] for s in sizes}
            for round_ in range(args.rounds):
                for size in sizes:
                    cache = work / f"cache-{size}-{round_}"
                    run_env = {**env, "NPMGUARD_CACHE_DIR": str(cache)}
                    if (work / "names-cache").is_dir():  # none when the wheel's index is used
                        shutil.copytree(work / "names-cache", cache, dirs_exist_ok=True)
                    cold[size].append(run_check(projects[size], run_env))
                    warm[size].append(run_check(projects[size], run_env))
                    if not (args.keep and round_ == args.rounds - 1):
                        shutil.rmtree(cache, ignore_errors=True)
            print(f"{len(packages)} packages generated; {registry.requests} requests served")
        ok = report(sizes, cold, warm, args.rounds)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(
    sizes: list[int], cold: dict[int, list[Figure]], warm: dict[int, list[Figure]], rounds: int
) -> bool:
    ok = True
    for size in sizes:
        outcomes = {f.outcome for f in (*cold[size], *warm[size])}
        print(f"{size} packages: " + " | ".join(sorted(outcomes)))
        if len(outcomes) != 1:
            print("  cold and warm runs disagree")
            ok = False
    print(f"medians of {rounds} rounds")
    print(
        f"{'packages':>8} {'cold s':>8} {'us/pkg':>7} {'peak MB':>8}   {'warm s':>7} {'us/pkg':>7} "
        f"{'peak MB':>8}"
    )
    med: dict[tuple[str, int], float] = {}
    for size in sizes:
        row = []
        for kind, figs in (("cold", cold[size]), ("warm", warm[size])):
            wall = statistics.median(f.wall for f in figs)
            peak = max(f.peak_mb for f in figs)
            med[kind, size] = wall
            row.append(f"{wall:>8.2f} {wall / size * 1e6:>7.0f} {peak:>8.0f}")
            if size >= 8000 and peak > TARGET_PEAK_MB:
                ok = False
        print(f"{size:>8} " + "   ".join(row))
    for kind in ("cold", "warm"):
        steps = []
        for small, big in itertools.pairwise(sizes):
            growth = (med[kind, big] / med[kind, small]) ** (1 / math.log2(big / small))
            steps.append(f"{small}->{big}: {growth:.2f}")
            ok = ok and growth <= TARGET_GROWTH
        print(f"{kind} growth per doubling ({TARGET_GROWTH} = linear): " + ", ".join(steps))
    print(f"peak at the largest size: target <= {TARGET_PEAK_MB:.0f} MB")
    return ok


if __name__ == "__main__":
    sys.exit(main())
