"""False-positive rates of the content rules on the most-downloaded npm packages (online, by hand).

    .venv/bin/python benchmarks/content_rates.py --top 500 --threads 16

Takes the first ``--top`` names of ``../shared/data/npm-names-downloads.tsv.gz`` (most
downloaded first), fetches each one's package document and the ``latest`` version's tarball
from the registry npm is configured for (``npm config get registry``), verifies the tarball's
integrity, reads it in memory with ``npmguard.registry.tarball.read_tarball``, and runs the
content, script and tree rules on all of them as if they were one tree. These packages are
treated as legitimate, so every finding counts as a false positive; the report lists them so a
person can judge. Downloads are cached under ``--cache`` so reruns are offline and fast.

Time, publisher and provenance rules are not measured: the registry reachable here serves
packuments without real publish times, publishers or attestations (they are tested on
fixtures instead).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from npmguard.facts import FactsStatus, ManifestFacts, PackageFacts, VersionInfo
from npmguard.model import Finding, Level, LockedPackage, Lockfile, Occurrence, SourceKind
from npmguard.registry.tarball import read_tarball
from npmguard.rules.base import CheckContext, all_rules
from npmguard.rules.scripts import scan_text

RULES = (
    "tea-yaml",
    "no-code",
    "autopublish-script",
    "clone-cluster",
    "spam-cluster",
    "spam-ring",
    "spam-score",
    "install-script",
    "install-script-suspicious",
    "deprecated",
)
# legitimate packages with install scripts (native builds, binary downloads, banners): the
# top 1,000 of the registry here holds only a few, so these are measured as well
INSTALL_SCRIPT_PACKAGES = [
    "esbuild",
    "sharp",
    "bcrypt",
    "node-sass",
    "fsevents",
    "core-js",
    "husky",
    "@swc/core",
    "protobufjs",
    "puppeteer",
    "cypress",
    "electron",
    "nodemon",
    "better-sqlite3",
    "sqlite3",
    "canvas",
    "node-pty",
    "cpu-features",
    "ssh2",
    "re2",
    "argon2",
    "bufferutil",
    "utf-8-validate",
    "deasync",
    "msgpackr-extract",
    "@parcel/watcher",
    "unrs-resolver",
    "es5-ext",
    "ngrok",
    "prisma",
    "@prisma/client",
    "@prisma/engines",
    "playwright-chromium",
    "chromedriver",
    "geckodriver",
    "node-gyp",
    "leveldown",
    "keytar",
    "iltorb",
    "zeromq",
    "kerberos",
    "@sentry/cli",
    "lefthook",
    "@biomejs/biome",
    "nx",
    "ffi-napi",
    "ref-napi",
    "node-expat",
    "libxmljs",
    "usb",
    "serialport",
    "@serialport/bindings-cpp",
    "dtrace-provider",
    "ursa",
    "microtime",
    "heapdump",
]
NAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "npm-names-downloads.tsv.gz"


def top_names(path: Path, count: int) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        next(fh)
        return [line.split("\t", 1)[0] for _, line in zip(range(count), fh, strict=False)]


def registry_url() -> str:
    out = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True)
    url = out.stdout.strip() or "https://registry.npmjs.org/"
    return url if url.endswith("/") else url + "/"


def _get(session: Any, url: str, cache: Path, binary: bool) -> bytes:
    path = cache / hashlib.sha256(url.encode()).hexdigest()
    if path.exists():
        return path.read_bytes()
    for attempt in range(3):
        try:
            resp = session.get(url, timeout=60, headers={"Accept": "application/json"})
            resp.raise_for_status()
            path.write_bytes(resp.content)
            return bytes(resp.content)
        except Exception:
            if attempt == 2:
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")


def _manifest(doc: dict[str, Any]) -> ManifestFacts:
    def strmap(value: Any) -> dict[str, str]:
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    bins = doc.get("bin")
    if isinstance(bins, str):
        bins = {str(doc.get("name", "")).split("/")[-1]: bins}
    dist = doc.get("dist") or {}
    return ManifestFacts(
        description=doc.get("description") if isinstance(doc.get("description"), str) else None,
        scripts=strmap(doc.get("scripts")),
        bin=strmap(bins),
        dependencies=strmap(doc.get("dependencies")),
        main=doc.get("main") if isinstance(doc.get("main"), str) else None,
        deprecated=doc.get("deprecated") if isinstance(doc.get("deprecated"), str) else None,
        gyp_file=bool(doc.get("gypfile")) or None,
        dist_integrity=dist.get("integrity"),
        dist_tarball=dist.get("tarball"),
    )


def fetch(
    name: str, registry: str, cache: Path, session: Any, version: str | None = None
) -> PackageFacts | str:
    """Facts for ``name@version`` (default: the latest version), or an error message."""
    try:
        raw = _get(session, registry + quote(name, safe="@").replace("/", "%2f"), cache, False)
        packument = json.loads(raw)
        latest = version or (packument.get("dist-tags") or {}).get("latest")
        doc = (packument.get("versions") or {}).get(latest)
        if not doc:
            return f"{name}: no latest version"
        manifest = _manifest(doc)
        if not manifest.dist_tarball:
            return f"{name}@{latest}: no tarball"
        data = _get(session, manifest.dist_tarball, cache, True)
        integrity = manifest.dist_integrity or (
            "sha1-" + __import__("base64").b64encode(bytes.fromhex(doc["dist"]["shasum"])).decode()
        )
        tarball = read_tarball(data, name=f"{name}@{latest}", integrity=integrity)
    except Exception as e:  # a benchmark: report and go on
        return f"{name}: {type(e).__name__}: {e}"
    versions = tuple(VersionInfo(version=v) for v in packument.get("versions") or {})
    return PackageFacts(
        name=name,
        version=str(latest),
        status=FactsStatus.KNOWN,
        registry=registry,
        versions=versions,
        dist_tags=packument.get("dist-tags"),
        version_present=True,
        manifest=manifest,
        tarball=tarball,
    )


def as_tree(facts: list[PackageFacts]) -> Lockfile:
    """All packages as one flat tree, with the dependency edges among them."""
    present = {f.name: f.key for f in facts}
    dependents: dict[str, list[str]] = defaultdict(list)
    requires: dict[str, list[str]] = {}
    for f in facts:
        deps = f.manifest.dependencies if f.manifest else {}
        requires[f.key] = [present[d] for d in deps if d in present]
        for key in requires[f.key]:
            dependents[key].append(f.key)
    packages = tuple(
        LockedPackage(
            name=f.name,
            version=f.version,
            source=SourceKind.REGISTRY,
            occurrences=(Occurrence(f"node_modules/{f.name}", f.name, None, None),),
            has_install_script=bool(
                f.manifest and {"preinstall", "install", "postinstall"} & f.manifest.scripts.keys()
            ),
            requires=tuple(requires[f.key]),
            dependents=tuple(dependents[f.key]),
        )
        for f in facts
    )
    return Lockfile(Path("top-packages"), "benchmark", 3, packages, root_name="(top packages)")


def run_rules(lockfile: Lockfile, facts: dict[str, PackageFacts]) -> dict[str, list[Finding]]:
    from npmguard.names.store import open_store
    from npmguard.paths import cache_dir

    registry = all_rules()
    earlier: dict[str, tuple[Finding, ...]] = {}
    ctx = CheckContext(
        lockfile=lockfile,
        facts=facts,
        options={},
        allowed_registries=(),
        now=datetime.now(timezone.utc),
        earlier=earlier,
        names=open_store(cache_dir()),
    )
    out: dict[str, list[Finding]] = {}
    order = ["spam-name", *RULES]  # spam-name first when it exists: the tree rules read it
    for rid in order:
        if rid not in registry:
            continue
        found = tuple(registry[rid]().check(ctx))
        earlier[rid] = found
        out[rid] = list(found)
    return out


def measure_lockfile(path: Path, registry: str, cache: Path, session: Any, threads: int) -> int:
    """Every rule of this module on a real tree: its own versions, its own edges."""
    from npmguard.lockfile import parse_lockfile_text

    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    lockfile = parse_lockfile_text(raw, path.with_suffix("") if path.suffix == ".gz" else path)
    wanted = [p for p in lockfile.packages if p.on_registry]
    with ThreadPoolExecutor(threads) as pool:
        results = list(
            pool.map(lambda p: fetch(p.name, registry, cache, session, p.version), wanted)
        )
    facts = {r.key: r for r in results if isinstance(r, PackageFacts)}
    errors = [r for r in results if isinstance(r, str)]
    findings = run_rules(lockfile, facts)
    print(f"{path.name}: {len(facts)} of {len(wanted)} registry packages read")
    for err in errors[:10]:
        print(f"  skipped: {err}")
    print(f"{'rule':28} {'flagged':>7} {'rate':>7} {'blocked':>7}")
    for rid, found in findings.items():
        keys = {f.key for f in found}
        blocked = {f.key for f in found if f.level >= Level.BLOCK}
        print(f"{rid:28} {len(keys):7} {len(keys) / max(len(facts), 1):7.2%} {len(blocked):7}")
    for rid, found in findings.items():
        for finding in found[:15]:
            print(f"  {rid}: {finding.key} [{finding.level}] {finding.message[:110]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--names", type=Path, default=NAMES)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "npmguard-bench")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--lockfile",
        type=Path,
        help="measure the packages of this lockfile (gzip allowed) as one real tree instead",
    )
    parser.add_argument(
        "--no-install-script-set",
        action="store_true",
        help="do not add the known install-script packages to the measured set",
    )
    args = parser.parse_args(argv)
    import requests

    args.cache.mkdir(parents=True, exist_ok=True)
    registry = registry_url()
    names = top_names(args.names, args.top)
    if not args.no_install_script_set:
        names += [n for n in INSTALL_SCRIPT_PACKAGES if n not in names]
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=args.threads)
    session.mount("https://", adapter)
    started = time.monotonic()
    if args.lockfile is not None:
        return measure_lockfile(args.lockfile, registry, args.cache, session, args.threads)
    with ThreadPoolExecutor(args.threads) as pool:
        results = list(pool.map(lambda n: fetch(n, registry, args.cache, session), names))
    fetched = [r for r in results if isinstance(r, PackageFacts)]
    errors = [r for r in results if isinstance(r, str)]
    elapsed = time.monotonic() - started
    facts = {f.key: f for f in fetched}
    findings = run_rules(as_tree(fetched), facts)
    top = set(names[: args.top])
    subsets = {
        f"top {args.top}": {f.key for f in fetched if f.name in top},
        "install-script set": {f.key for f in fetched if f.name not in top},
    }
    print(f"registry {registry}: {len(fetched)} of {len(names)} packages read in {elapsed:.0f} s")
    for err in errors:
        print(f"  skipped: {err}")
    figures: dict[str, Any] = {"registry": registry, "subsets": {}}
    registry_rules = all_rules()
    for label, keys in subsets.items():
        if not keys:
            continue
        print(f"\n{label} ({len(keys)} packages)")
        print(f"{'rule':28} {'default':8} {'flagged':>7} {'rate':>7} {'blocked':>7} {'rate':>7}")
        figures["subsets"][label] = {"packages": len(keys), "rules": {}}
        for rid, found in findings.items():
            flagged = sorted({f.key for f in found if f.key in keys})
            blocked = sorted({f.key for f in found if f.key in keys and f.level >= Level.BLOCK})
            default = str(registry_rules[rid].level)
            rate, block_rate = len(flagged) / len(keys), len(blocked) / len(keys)
            print(
                f"{rid:28} {default:8} {len(flagged):7} {rate:7.2%} {len(blocked):7} "
                f"{block_rate:7.2%}"
            )
            figures["subsets"][label]["rules"][rid] = {
                "default": default,
                "flagged": flagged,
                "blocked": blocked,
                "rate": rate,
                "block_rate": block_rate,
            }
    # stress: the suspicious-script patterns on every file text kept, install-time or not
    stressed: Counter[str] = Counter()
    hits: list[str] = []
    for f in fetched:
        for path, text in (f.tarball.texts if f.tarball else {}).items():
            for pattern, excerpt in scan_text(text):
                stressed[pattern.id] += 1
                hits.append(f"{f.key} {path}: {pattern.id}: {excerpt[:90]}")
    total_texts = sum(len(f.tarball.texts) for f in fetched if f.tarball)
    print(f"\nstress: suspicious patterns over all {total_texts} kept file texts: {dict(stressed)}")
    for line in hits[:30]:
        print(f"  {line}")
    figures["stress"] = {"texts": total_texts, "hits": hits}
    print()
    for rid, found in findings.items():
        for finding in found[:25]:
            print(f"  {rid}: {finding.key} [{finding.level}] {finding.message[:110]}")
        if len(found) > 25:
            print(f"  {rid}: ... {len(found) - 25} more")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
