"""Replay real release histories through the takeover rules, as of an hour after each release.

    .venv/bin/python benchmarks/replay_history.py              # all 814 packages, ~1 min
    .venv/bin/python benchmarks/replay_history.py --limit 50 --cli-sample 5   # a quick look
    .venv/bin/python benchmarks/replay_history.py --show 40    # also list what warned

The 814 full packuments of ``../shared/data/histories/`` (real publish dates, ``_npmUser``
and ``maintainers`` per version, 2010-2022; see its README) are served as they are on a
loopback registry. The facts are built by the real code: npmguard's reputation source fetches
every document from that registry, reduces it with the real extractor into the real facts
store (cold, then timed again warm). Then every release is judged **as of one hour after it
was published**, the way ``npmguard check --as-of`` judges: the package pictures cut back with
:func:`npmguard.asof.facts_as_of` (through the same :class:`~npmguard.asof.AsOfProvider` the
flag installs) and the rules' clock set to that moment.

Each release is judged in a tree of its own: the release, plus each of its ``dependencies``
that the histories hold, resolved as npm would have then (the highest version in the range
published by that moment), so that ``new-dependency`` sees a new dependency's creation date
and ``publisher-change`` sees the packages the publisher published in the same scope or
repository. That is less than a real lockfile shows (a real tree holds far more of an
account's packages), so the publisher figures here are an upper bound.

Why in-process and not one ``npmguard check`` per release: 21,926 subprocesses at ~0.5 s each
would take three hours. The engine is called with the facts the real source produced, with
the real rules and the default policy; ``--cli-sample`` then runs the real CLI
(``npmguard check --as-of ...``) on a sample of those trees, written as lockfiles, against the
same loopback registry and cache, and checks that it reports the same findings.

Only rules that read the package document and nothing else are run (no tarballs are served,
and lockfile rules would judge the synthetic lockfile). Nothing in the histories is known to
be malicious: every warning is counted as a false positive.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import gzip
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from npmguard.asof import AsOfProvider  # noqa: E402
from npmguard.engine import Engine  # noqa: E402
from npmguard.facts import Facts, FactsStatus, Need, PackageFacts  # noqa: E402
from npmguard.model import Level, LockedPackage, Lockfile, Occurrence, SourceKind  # noqa: E402
from npmguard.policy.model import Policy  # noqa: E402
from npmguard.rules.base import Rule, all_rules  # noqa: E402
from npmguard.rules.handover import PublisherKind, publisher_history  # noqa: E402
from npmguard.rules.history import last_release_before, previous_version  # noqa: E402
from npmguard.semver import satisfies, version_key  # noqa: E402

HISTORY_RULES = (
    "dormant-wake",
    "publisher-change",
    "new-install-script",
    "new-bin",
    "new-dependency",
    "provenance-lost",
)
AFTER = timedelta(hours=1)
CHECK = (sys.executable, "-m", "npmguard", "check", "-q")
GAP_BUCKETS = ((1, "< 1 day"), (7, "1-7 days"), (30, "1-4 weeks"), (90, "1-3 months"),
               (180, "3-6 months"), (365, "6-12 months"), (730, "1-2 years"),
               (1095, "2-3 years"), (10**6, "3 years or more"))  # fmt: skip
AGE_BUCKETS = ((1, "< 1 day"), (7, "1-7 days"), (30, "8-30 days"), (90, "31-90 days"),
               (365, "91-365 days"), (10**6, "over a year"))  # fmt: skip


def default_histories() -> Path:
    shared = os.environ.get("NPMGUARD_SHARED_DATA")
    base = Path(shared) if shared else ROOT.parent / "shared" / "data"
    return base / "histories"


# --- the loopback registry ---------------------------------------------------------------------


@contextmanager
def serve(documents: Mapping[str, bytes]) -> Iterator[str]:
    """Serve each packument as is at ``/name`` (``/@scope%2fname`` for scoped names)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(unquote(self.path.lstrip("/").split("?", 1)[0]))
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- facts through the real reputation source --------------------------------------------------


def locked(name: str, version: str, registry: str, **kw: Any) -> LockedPackage:
    base = name.rsplit("/", 1)[-1]
    url = f"{registry}{name}/-/{base}-{version}.tgz"
    occurrence = Occurrence(f"node_modules/{name}", name, url, None)
    return LockedPackage(name, version, SourceKind.REGISTRY, (occurrence,), **kw)


def build_facts(
    documents: Mapping[str, bytes], registry: str, cache: Path
) -> tuple[dict[str, PackageFacts], dict[str, float]]:
    """Facts for every name@version, gathered the way ``npmguard check`` gathers them
    (:func:`npmguard.app.build`: the reputation source over the facts store), cold and then
    warm, with the times."""
    from npmguard.app import Options, build

    os.environ["NPM_CONFIG_REGISTRY"] = registry  # as npm reads it (the CLI sample too)
    os.environ["NPM_CONFIG_USERCONFIG"] = str(cache / "no-npmrc")
    options = Options(cache_dir=cache, progress=False)
    packages = [
        locked(name, version, registry)
        for name, body in documents.items()
        for version in json.loads(body).get("versions", {})
    ]
    times = {}
    for run in ("cold", "warm"):
        with build(options, cache) as checker:
            started = time.perf_counter()
            facts = dict(checker.gather(packages, frozenset({Need.PACKUMENT})).packages)
            times[f"facts_{run}_s"] = time.perf_counter() - started
    return facts, times


# --- one release, one tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    published: datetime

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


class Resolver:
    """``name@range`` -> the highest version in range published by a moment (as npm would
    have resolved it then), for the packages the histories hold."""

    def __init__(self, facts: Mapping[str, PackageFacts]) -> None:
        self.versions: dict[str, list[tuple[str, datetime]]] = collections.defaultdict(list)
        for f in facts.values():
            info = f.version_info()
            if info is not None and info.published is not None:
                self.versions[f.name].append((f.version, info.published))
        self._ranges: dict[tuple[str, str], list[tuple[datetime, Any, str]]] = {}

    def resolve(self, name: str, spec: str, when: datetime) -> str | None:
        cands = self._ranges.get((name, spec))
        if cands is None:
            cands = sorted(
                (t, version_key(v), v)
                for v, t in self.versions.get(name, ())
                if version_key(v) is not None and satisfies(v, spec)
            )
            self._ranges[(name, spec)] = cands
        upto = bisect.bisect_right([c[0] for c in cands], when)
        best = max(cands[:upto], key=lambda c: c[1], default=None)
        return None if best is None else best[2]


class Prepared:
    """A facts provider handing out the facts the real source produced."""

    serves = frozenset({Need.PACKUMENT})

    def __init__(self, facts: Mapping[str, PackageFacts]) -> None:
        self.facts = facts

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        return Facts(packages={p.key: self.facts[p.key] for p in packages if p.key in self.facts})

    def close(self) -> None:
        pass


def release_tree(
    release: Release, facts: Mapping[str, PackageFacts], resolver: Resolver, registry: str
) -> Lockfile:
    me = facts[release.key]
    when = release.published + AFTER
    deps: list[LockedPackage] = []
    specs = dict(me.manifest.dependencies) if me.manifest else {}
    for dep_name, spec in sorted(specs.items()):
        version = resolver.resolve(dep_name, spec, when)
        if version is not None and dep_name != release.name:
            deps.append(locked(dep_name, version, registry, dependents=(release.key,)))
    root = locked(
        release.name,
        release.version,
        registry,
        dependencies=specs,
        requires=tuple(d.key for d in deps),
    )
    return Lockfile(Path("package-lock.json"), "npm-v3", 3, (root, *deps), root_name="replay")


# --- the replay --------------------------------------------------------------------------------


@dataclass
class Tally:
    releases: int = 0
    first_releases: int = 0
    per_rule: dict[str, collections.Counter[str]] = field(default_factory=dict)
    together: collections.Counter[str] = field(default_factory=collections.Counter)
    gaps: collections.Counter[str] = field(default_factory=collections.Counter)
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    dep_ages: collections.Counter[str] = field(default_factory=collections.Counter)
    additions: collections.Counter[str] = field(default_factory=collections.Counter)
    warned: list[tuple[str, str, str]] = field(default_factory=list)  # key, rule, message
    findings: dict[str, set[tuple[str, str]]] = field(default_factory=dict)


def bucket(days: float, buckets: tuple[tuple[int, str], ...]) -> str:
    for limit, label in buckets:
        if days < limit:
            return label
    return buckets[-1][1]


def replay(
    releases: Sequence[Release],
    facts: Mapping[str, PackageFacts],
    rules: Sequence[Rule],
    registry: str,
) -> Tally:
    tally = Tally()
    resolver = Resolver(facts)
    inner = Prepared(facts)
    policy = Policy()
    for release in releases:
        when = release.published + AFTER
        tree = release_tree(release, facts, resolver, registry)
        source = AsOfProvider(inner, when)  # what --as-of installs (npmguard.app)
        # every package of the tree gets facts (as `check` without --changed-since): the
        # rules look at the dependencies' facts; findings are counted for the release alone
        engine = Engine(policy, rules=rules, providers=(source,), now=when)
        report = engine.run([tree])
        tally.releases += 1
        mine = [f for f in report.findings if f.key == release.key]
        tally.findings[release.key] = {(f.rule, str(f.effective_level)) for f in mine}
        for f in mine:
            tally.per_rule.setdefault(f.rule, collections.Counter())[str(f.effective_level)] += 1
        history = [f for f in mine if f.rule in HISTORY_RULES]
        top = max((f.effective_level for f in history), default=Level.OFF)
        tally.together[str(top)] += 1
        for f in history:
            if f.effective_level >= Level.WARN:
                tally.warned.append((release.key, f"{f.rule} ({f.effective_level})", f.message))
        describe(release, tree, source, tally)
    return tally


def merge(parts: Sequence[Tally]) -> Tally:
    out = Tally()
    for part in parts:
        out.releases += part.releases
        out.first_releases += part.first_releases
        for rule, counts in part.per_rule.items():
            out.per_rule.setdefault(rule, collections.Counter()).update(counts)
        for name in ("together", "gaps", "kinds", "dep_ages", "additions"):
            getattr(out, name).update(getattr(part, name))
        out.warned += part.warned
        out.findings.update(part.findings)
    out.warned.sort()
    return out


_SHARED: dict[str, Any] = {}  # what forked workers inherit (facts hold lazy columns)


def _replay_part(index: int) -> Tally:
    jobs = _SHARED["jobs"]
    releases = _SHARED["releases"][index::jobs]  # interleaved: every part spans the years
    return replay(releases, _SHARED["facts"], _SHARED["rules"], _SHARED["registry"])


def replay_parallel(
    releases: Sequence[Release],
    facts: Mapping[str, PackageFacts],
    rules: Sequence[Rule],
    registry: str,
    jobs: int,
) -> Tally:
    """``replay`` split over ``jobs`` forked processes (one: in this process)."""
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return replay(releases, facts, rules, registry)
    _SHARED.update(releases=releases, facts=facts, rules=rules, registry=registry, jobs=jobs)
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return merge(pool.map(_replay_part, range(jobs)))


def describe(release: Release, tree: Lockfile, source: AsOfProvider, tally: Tally) -> None:
    """The distributions behind the thresholds, from the same as-of facts the rules saw."""
    seen = source.gather(tree.packages, frozenset({Need.PACKUMENT})).packages
    me = seen[release.key]
    last = last_release_before(me)
    if last is None or last.published is None:
        tally.first_releases += 1
        return
    gap = (release.published - last.published).total_seconds() / 86400
    tally.gaps[bucket(gap, GAP_BUCKETS)] += 1
    tally.kinds[str(publisher_history(me, seen).kind)] += 1
    info, prev = me.version_info(), previous_version(me)
    if info is None or prev is None:
        return
    if info.has_install_script and prev.has_install_script is False:
        tally.additions["install script added"] += 1
    if set(info.bin_names or ()) - set(prev.bin_names or ()):
        tally.additions["bin added"] += 1
    added = set(info.dependency_names or ()) - set(prev.dependency_names or ())
    if added:
        tally.additions["dependency added"] += 1
    by_name = {f.name: f for f in seen.values() if f.status is FactsStatus.KNOWN}
    for name in added:
        dep = by_name.get(name)
        if dep is None or dep.created is None:
            tally.dep_ages["not in the histories"] += 1
        else:
            age = (release.published - dep.created).total_seconds() / 86400
            tally.dep_ages[bucket(age, AGE_BUCKETS)] += 1


# --- the real CLI on a sample ------------------------------------------------------------------


def cli_sample(
    sample: Sequence[Release],
    facts: Mapping[str, PackageFacts],
    tally: Tally,
    rules: Sequence[Rule],
    registry: str,
    cache: Path,
) -> tuple[int, list[str]]:
    """Run ``npmguard check --as-of`` on each sampled release's tree; (agreeing, differences)."""
    resolver = Resolver(facts)
    run_ids = {r.id for r in rules}
    off = sorted(set(all_rules()) - run_ids)
    agree, differ = 0, []
    with tempfile.TemporaryDirectory(prefix="npmguard-replay-cli-") as tmp:
        work = Path(tmp)
        policy = "[rules]\n" + "".join(f'{rid} = "off"\n' for rid in off)
        (work / "npmguard.toml").write_text(policy)
        (work / "package.json").write_text('{"name": "replay", "version": "1.0.0"}')
        env = {
            **os.environ,
            "npm_config_registry": registry,
            "NPM_CONFIG_USERCONFIG": str(work / "no-npmrc"),
            "NPMGUARD_CACHE_DIR": str(cache),
        }
        for release in sample:
            tree = release_tree(release, facts, resolver, registry)
            (work / "package-lock.json").write_text(json.dumps(lockfile_json(tree)))
            when = (release.published + AFTER).isoformat()
            out = subprocess.run(
                [*CHECK, "--as-of", when, "--format", "json", str(work / "package-lock.json")],
                capture_output=True,
                text=True,
                env=env,
                cwd=work,
                check=False,
            )
            try:
                report = json.loads(out.stdout)
            except ValueError:
                differ.append(f"{release.key}: no report (exit {out.returncode}): {out.stderr}")
                continue
            got = {
                (f["rule"], f["level"])
                for f in report["findings"]
                if f"{f['package']}@{f['version']}" == release.key
            }
            if got == tally.findings[release.key]:
                agree += 1
            else:
                replayed = sorted(tally.findings[release.key])
                differ.append(f"{release.key}: cli {sorted(got)} replay {replayed}")
    return agree, differ


def lockfile_json(tree: Lockfile) -> dict[str, Any]:
    root, *deps = tree.packages
    packages: dict[str, Any] = {
        "": {"name": "replay", "version": "1.0.0", "dependencies": {root.name: root.version}},
        f"node_modules/{root.name}": {
            "version": root.version,
            "resolved": root.resolved,
            "dependencies": dict(root.dependencies),
        },
    }
    for dep in deps:
        packages[f"node_modules/{dep.name}"] = {"version": dep.version, "resolved": dep.resolved}
    return {"name": "replay", "version": "1.0.0", "lockfileVersion": 3, "packages": packages}


# --- output ------------------------------------------------------------------------------------


def pct(n: int, d: int) -> str:
    return f"{n:,}/{d:,} ({100 * n / d:.2f}%)" if d else "0/0"


def print_report(tally: Tally, rules: Sequence[Rule], times: Mapping[str, float]) -> None:
    n = tally.releases
    names = len({k.rsplit("@", 1)[0] for k in tally.findings})
    firsts = tally.first_releases
    print(f"\n{n:,} releases of {names:,} packages ({firsts:,} first releases), judged")
    print("an hour after each was published\n")
    print("| rule | info | warned | blocked |")
    print("|---|---|---|---|")
    for rule in rules:
        c = tally.per_rule.get(rule.id, collections.Counter())
        print(f"| {rule.id} | {pct(c['info'], n)} | {pct(c['warn'], n)} | {pct(c['block'], n)} |")
    t = tally.together
    together = f"**publish-history rules together** ({', '.join(HISTORY_RULES)})"
    warned, blocked = pct(t["warn"], n), pct(t["block"], n)
    print(f"| {together} | {pct(t['info'], n)} | **{warned}** | **{blocked}** |")
    later = n - tally.first_releases
    print(f"\nGap since the release before (the {later:,} releases that had one):\n")
    print("| gap | releases |")
    print("|---|---|")
    for _, label in GAP_BUCKETS:
        print(f"| {label} | {pct(tally.gaps[label], later)} |")
    print("\nWho published each of those releases (`npmguard.rules.handover`):\n")
    print("| publisher | releases |")
    print("|---|---|")
    for kind in PublisherKind:
        print(f"| {kind} | {pct(tally.kinds[str(kind)], later)} |")
    print("\nWhat the releases added over the version they are compared with:\n")
    print("| addition | releases |")
    print("|---|---|")
    for label in ("install script added", "bin added", "dependency added"):
        print(f"| {label} | {pct(tally.additions[label], later)} |")
    total = sum(tally.dep_ages.values())
    print("\nAge of each newly added dependency's package when the release came out:\n")
    print("| package age | new dependencies |")
    print("|---|---|")
    for label in [label for _, label in AGE_BUCKETS] + ["not in the histories"]:
        print(f"| {label} | {pct(tally.dep_ages[label], total)} |")
    print("\n" + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--histories", type=Path, default=default_histories())
    parser.add_argument("--limit", type=int, help="only the first N packages (by file name)")
    parser.add_argument("--cli-sample", type=int, default=20, help="releases to recheck via CLI")
    parser.add_argument("--show", type=int, default=0, help="list up to N warned releases")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="replay processes"
    )
    args = parser.parse_args(argv)

    files = sorted(args.histories.glob("*.json.gz"))[: args.limit]
    if not files:
        parser.error(f"{args.histories}: no *.json.gz packuments (see its README)")
    started = time.perf_counter()
    documents = {}
    for path in files:
        body = gzip.decompress(path.read_bytes())
        documents[json.loads(body)["name"]] = body
    registry_rules = all_rules()
    rules = [
        cls()
        for cls in registry_rules.values()
        if Need.PACKUMENT in cls.needs and not cls.needs & {Need.TARBALL, Need.FEED}
    ]
    with tempfile.TemporaryDirectory(prefix="npmguard-replay-") as tmp, serve(documents) as url:
        cache = Path(tmp)
        facts, times = build_facts(documents, url, cache)
        releases = sorted(
            (
                Release(f.name, f.version, info.published)
                for f in facts.values()
                if (info := f.version_info()) is not None and info.published is not None
            ),
            key=lambda r: (r.published, r.key),
        )
        begun = time.perf_counter()
        tally = replay_parallel(releases, facts, rules, url, args.jobs)
        times["replay_s"] = time.perf_counter() - begun
        times["per_release_ms"] = 1000 * times["replay_s"] / max(1, len(releases))
        agree, differ = 0, []
        if args.cli_sample:
            warned = sorted({k for k, _, _ in tally.warned})
            pool = [r for r in releases if r.key in warned][: args.cli_sample // 2]
            rest = [r for r in releases if r.key not in warned]
            pool += random.Random(18).sample(rest, min(len(rest), args.cli_sample - len(pool)))
            begun = time.perf_counter()
            agree, differ = cli_sample(pool, facts, tally, rules, url, cache)
            times["cli_sample_s"] = time.perf_counter() - begun
    times["total_s"] = time.perf_counter() - started
    print_report(tally, rules, times)
    if args.cli_sample:
        sampled = agree + len(differ)
        print(f"\n`npmguard check --as-of` on {sampled} sampled trees: {agree} report the same")
        print("findings for the release as the in-process replay")
        for line in differ:
            print("  differs:", line)
    if args.show:
        print("\nWarned releases (history rules):")
        for key, rule, message in tally.warned[: args.show]:
            print(f"  {key}: {rule}: {message}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "releases": tally.releases,
                    "per_rule": {k: dict(v) for k, v in sorted(tally.per_rule.items())},
                    "history_rules_together": dict(tally.together),
                    "gaps": dict(tally.gaps),
                    "publisher_kinds": dict(tally.kinds),
                    "additions": dict(tally.additions),
                    "new_dependency_ages": dict(tally.dep_ages),
                    "warned": tally.warned,
                    "cli_agree": agree,
                    "cli_differ": differ,
                    "times": times,
                },
                indent=2,
            )
        )
    ok = tally.together["block"] == 0 and tally.together["warn"] <= 0.01 * tally.releases
    return 0 if ok and not differ else 1


if __name__ == "__main__":
    sys.exit(main())
