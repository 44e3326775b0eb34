"""The spam rules on a live flood: campaign packages that still install, served on loopback.

    NPMGUARD_SHARED_DATA=../shared/data .venv/bin/python benchmarks/live_shapes.py
    .venv/bin/python benchmarks/live_shapes.py --per-account 6 --variants full   # quicker

Builds live-shaped campaign packages (``live_corpus.py``) from the campaign names in
``../shared/data/campaign/`` -- every account of the list, split as ``campaign_split.py``
splits them, so some accounts are ones the word lists were never designed on -- and ordinary
packages as controls; publishes them, with real packuments and tarballs, on a loopback registry
(``tests/fakeregistry.py``); lets the real npm resolve one project per tree
(``npm install --package-lock-only``); and runs ``npmguard check --format json`` on each, with
the default policy and a fresh cache. Prints blocked / warned / ok per shape, per planted
signal count, per number of spam signals found, for seen and unseen accounts, and every control
that is not ok.

Two variants: ``full`` serves the public registry's document (publishers, publish times);
``mirror`` strips them as the mirror reachable here does, so those signals are unknown.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from campaign_split import campaign_names, legit_names  # noqa: E402
from fakeregistry import FakeRegistry  # noqa: E402
from live_corpus import (  # noqa: E402
    FLAGGED_LOOKALIKES,
    MODULAR_FAMILY,
    MONOREPO,
    NEW_SCOPED_FAMILY,
    NOW,
    Planned,
    campaign_package,
    control_package,
    profile,
)

SPAM_RULES = (
    "spam-name", "tea-yaml", "no-code", "autopublish-script", "version-flood",
    "spam-ring", "clone-cluster", "spam-cluster",
)  # fmt: skip


@dataclass
class Tree:
    name: str
    roots: list[str]  # package names the project depends on
    packages: list[Planned] = field(default_factory=list)


class MirrorRegistry(FakeRegistry):
    """Serves packuments as the stripped mirror does: name, dist-tags, versions, and ``time``
    with first-seen dates only (no created/modified); no publishers, no maintainers."""

    def packument(self, name: str) -> dict[str, Any] | None:
        doc = super().packument(name)
        if doc is None or "versions" not in doc:
            return doc
        for version in doc["versions"].values():
            for key in ("_npmUser", "maintainers", "_hasShrinkwrap", "_npmVersion"):
                version.pop(key, None)
            version.get("dist", {}).pop("signatures", None)
        times = {k: v for k, v in doc.get("time", {}).items() if k not in ("created", "modified")}
        return {
            "name": name,
            "dist-tags": doc["dist-tags"],
            "versions": doc["versions"],
            "time": times,
        }


# --- the world ---------------------------------------------------------------------------------


def campaign_trees(per_account: int, seed: str) -> list[Tree]:
    by_account: dict[str, list[str]] = defaultdict(list)
    seen: dict[str, bool] = {}
    for c in campaign_names():
        by_account[c.account].append(c.name)
        seen[c.account] = c.part != "holdout-accounts"
    trees: list[Tree] = []
    pending: Tree | None = None
    for account in sorted(by_account):
        rnd = random.Random(f"{seed}:{account}")
        prof = profile(account, seen[account])
        names = rnd.sample(by_account[account], min(per_account + 1, len(by_account[account])))
        words = sorted({w for n in by_account[account][:200] for w in n.split("/")[-1].split("-")})
        when = NOW - timedelta(hours=rnd.uniform(2, 96))
        made = []
        for name in names:
            made.append(campaign_package(name, prof, rnd, when, words))
            when += timedelta(seconds=rnd.uniform(*prof.burst_seconds))
        chain, lone = made[:-1], made[-1:]
        for i, child in enumerate(chain[1:], 1):  # a random tree from the entry down
            parent = chain[rnd.randrange(i)]
            parent.dependencies[child.name] = f"^{child.version}"
            parent.manifest.setdefault("dependencies", {})[child.name] = f"^{child.version}"  # type: ignore[index]
        for p in chain:
            p.shape += "+chain" if len(chain) > 1 else ""
            p.planted += ("chain",) if len(chain) > 1 else ()
        for p in lone:
            p.shape += "+lone"
        trees.append(Tree(f"lone-{account}", [lone[0].name], list(lone)))
        # two accounts' chains share a tree now and then (one project, two floods)
        if pending is not None and rnd.random() < 0.5:
            pending.roots.append(chain[0].name)
            pending.packages += chain
            pending = None
        else:
            pending = Tree(f"chain-{account}", [chain[0].name], list(chain))
            trees.append(pending)
    return trees


def control_trees(seed: str) -> tuple[list[Tree], list[Planned]]:
    """Trees of ordinary packages, and the shared pool of ordinary libraries (and the react /
    next packages the app templates depend on) every tree may draw from."""
    rnd = random.Random(f"{seed}:controls")
    legit = [n for n, _ in legit_names()[20_000:200_000]]
    picked = [n for n in rnd.sample(legit, 400) if n.isascii()][:40]
    pool = [control_package(n, rnd) for n in picked]
    for name, version in (("react", "19.0.0"), ("react-dom", "19.0.0"), ("next", "15.0.0")):
        pool.append(control_package(name, rnd, shape="popular", version=version))
    for i, p in enumerate(pool[:30]):  # ordinary dependency edges among libraries
        if i % 3 == 0:
            dep = pool[i + 1]
            p.dependencies[dep.name] = f"^{dep.version}"
            p.manifest["dependencies"] = dict(p.dependencies)
    trees = [Tree("ctl-app-libs", [p.name for p in pool[:12]])]

    release = NOW - timedelta(days=3)

    def family(names: Iterable[str], shape: str, years: float, linked: bool) -> list[Planned]:
        out = []
        for i, name in enumerate(names):
            out.append(
                control_package(
                    name, rnd, shape=shape, publisher="release-bot",
                    latest_at=release + timedelta(seconds=2 * i), history_years=years,
                )
            )  # fmt: skip
        if linked:
            for a, b in itertools.pairwise(out):
                a.dependencies[b.name] = f"^{b.version}"
                a.manifest["dependencies"] = dict(a.dependencies)
        return out

    modular = family(MODULAR_FAMILY, "modular-family", 5, False)
    trees.append(Tree("ctl-modular", [p.name for p in modular] + [pool[12].name], modular))
    mono = family([f"@northwind/{n}" for n in MONOREPO], "monorepo", 2, True)
    trees.append(Tree("ctl-monorepo", [mono[0].name, pool[13].name], mono))
    looks: list[Planned] = []
    for group in FLAGGED_LOOKALIKES:
        looks += family(group, "flagged-name lookalike", 3, len(group) > 1)
    trees.append(Tree("ctl-lookalikes", [p.name for p in looks], looks))
    fresh = family(NEW_SCOPED_FAMILY, "new scoped family", 0, True)
    trees.append(Tree("ctl-new-scoped-family", [fresh[0].name, pool[14].name], fresh))
    odd = [
        control_package("northwind-tea-claimed", rnd, shape="tea.yaml on a real library"),
        control_package(
            "northwind-workspace-tools", rnd, shape="ships a release loop",
            files={
                "index.js": "module.exports = require('./lib/run');\n",
                "lib/run.js": "module.exports = () => 0;\n",
                "release.sh": "#!/bin/sh\nfor dir in packages/*; do\n"
                "  (cd \"$dir\" && npm publish --access public)\ndone\n",
            },
        ),
        control_package(
            "create-northwind-starter", rnd, shape="starter template",
            files={
                "index.html": "<div id=app></div>", "vite.config.js": "export default {}\n",
                "src/main.js": "import './style.css'\n", "src/App.vue": "<template/>\n",
                "README.md": "# starter\n",
            },
        ),
        control_package(
            "northwind-fonts", rnd, shape="fonts only",
            files={"fonts/nw.woff2": "wOF2", "fonts.css": "@font-face{}\n", "README.md": "#\n"},
        ),
    ]  # fmt: skip
    odd[0].files["tea.yaml"] = "---\nversion: 1.0.0\ncodeOwners:\n  - '0x" + "ab" * 20 + "'\n"
    trees.append(Tree("ctl-odd", [p.name for p in odd] + [pool[15].name], odd))
    return trees, pool


# --- serving and checking ----------------------------------------------------------------------


def publish(reg: FakeRegistry, p: Planned) -> None:
    for version, when in p.history:
        _add(reg, p, version, when)
    _add(reg, p, p.version, p.published)


def _add(reg: FakeRegistry, p: Planned, version: str, when: Any) -> None:
    manifest = {**p.manifest, "version": version}
    files = {"package.json": json.dumps(manifest, indent=2), **p.files}
    entry = reg.add_version(
        p.name, version, files=files, published=when, publisher=p.publisher,
        manifest=manifest, dependencies=p.dependencies or None,
    )  # fmt: skip
    if "main" not in p.manifest:
        entry.manifest.pop("main", None)


def closure(tree: Tree, index: dict[str, Planned]) -> list[Planned]:
    out: dict[str, Planned] = {}
    todo = list(tree.roots)
    while todo:
        name = todo.pop()
        if name in out or name not in index:
            continue
        out[name] = index[name]
        todo += list(index[name].dependencies)
    return list(out.values())


def check_tree(tree: Tree, index: dict[str, Planned], url: str, work: Path, cache: Path) -> Any:
    project = work / tree.name
    project.mkdir(parents=True)
    deps = {name: f"^{index[name].version}" for name in tree.roots}
    (project / "package.json").write_text(json.dumps({"name": tree.name, "version": "1.0.0",
                                                      "dependencies": deps}))  # fmt: skip
    env = {
        **os.environ,
        "npm_config_registry": url,
        "npm_config_cache": str(work / "npm-cache"),
        "NPM_CONFIG_USERCONFIG": str(work / "no-user-npmrc"),
        "npm_config_update_notifier": "false",
    }
    npm = subprocess.run(
        ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=project, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if npm.returncode != 0:
        raise RuntimeError(f"{tree.name}: npm could not resolve the tree: {npm.stderr[-2000:]}")
    out = subprocess.run(
        [sys.executable, "-m", "npmguard", "check", "--format", "json", "-q",
         "--cache-dir", str(cache), str(project / "package-lock.json")],
        cwd=project, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode not in (0, 1):
        raise RuntimeError(f"{tree.name}: npmguard check exited {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


@dataclass
class Outcome:
    planned: Planned
    tree: str
    verdict: str
    spam_signals: tuple[str, ...]
    blockers: tuple[str, ...]
    evidence_ok: bool  # every blocking finding carries evidence
    findings: list[dict[str, Any]]


def run_variant(
    variant: str, trees: list[Tree], pool: list[Planned], workdir: Path
) -> list[Outcome]:
    reg = MirrorRegistry() if variant == "mirror" else FakeRegistry()
    index = {p.name: p for p in pool}
    for tree in trees:
        for p in tree.packages:
            index[p.name] = p
    for p in index.values():
        publish(reg, p)
    outcomes: list[Outcome] = []
    with reg.serve() as url:
        for tree in trees:
            report = check_tree(tree, index, url, workdir / variant, workdir / f"cache-{variant}")
            findings: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for f in report["findings"]:
                findings[f["package"]].append(f)
            for row in report["packages"]:
                planned = index.get(row["name"])
                if planned is None:
                    continue
                mine = findings[row["name"]]
                blocking = [f for f in mine if f["level"] == "block" and not f["allowed"]]
                spam = {f["rule"] for f in mine if f["rule"] in SPAM_RULES and f["level"] != "info"}
                outcomes.append(
                    Outcome(
                        planned, tree.name, row["verdict"], tuple(sorted(spam)),
                        tuple(sorted({f["rule"] for f in blocking})),
                        all(f["evidence"] for f in blocking), mine,
                    )
                )  # fmt: skip
    return outcomes


# --- the table -----------------------------------------------------------------------------------


def _row(label: str, rows: list[Outcome]) -> str:
    count = Counter(o.verdict for o in rows)
    n = len(rows)
    pct = 100 * count["block"] / n if n else 0.0
    return f"| {label} | {n} | {count['block']} ({pct:.1f}%) | {count['warn']} | {count['ok']} |"


def table(title: str, groups: dict[str, list[Outcome]]) -> str:
    lines = [f"| {title} | packages | blocked | warned | ok |", "|---|---|---|---|---|"]
    lines += [_row(k, v) for k, v in groups.items()]
    return "\n".join(lines)


def report(variant: str, outcomes: list[Outcome]) -> None:
    camp = [o for o in outcomes if o.planned.kind == "campaign"]
    # a control may sit in several trees: count it once, with its worst verdict
    rank = {"ok": 0, "warn": 1, "block": 2}
    worst: dict[str, Outcome] = {}
    for o in outcomes:
        if o.planned.kind == "control":
            seen = worst.get(o.planned.name)
            if seen is None or rank[o.verdict] > rank[seen.verdict]:
                worst[o.planned.name] = o
    ctl = list(worst.values())
    print(f"\n## variant: {variant}\n")
    print(table("campaign packages", {
        "all": camp,
        "accounts the word lists were designed on": [o for o in camp if o.planned.seen],
        "unseen accounts": [o for o in camp if not o.planned.seen],
    }))  # fmt: skip
    by_shape: dict[str, list[Outcome]] = defaultdict(list)
    by_planted: dict[str, list[Outcome]] = defaultdict(list)
    by_found: dict[str, list[Outcome]] = defaultdict(list)
    for o in sorted(camp, key=lambda o: o.planned.shape):
        by_shape[o.planned.shape].append(o)
    for o in sorted(camp, key=lambda o: len(o.planned.planted)):
        by_planted[f"{len(o.planned.planted)} planted"].append(o)
    for o in sorted(camp, key=lambda o: len(o.spam_signals)):
        by_found[f"{len(o.spam_signals)} found"].append(o)
    print()
    print(table("shape (what the package carries)", by_shape))
    print()
    print(
        table(
            "planted content/graph signals (tea.yaml, autopublish, no code/app, chain)", by_planted
        )
    )
    print()
    print(table("spam signals found (rules at warn)", by_found))
    blockers = Counter(r for o in camp for r in o.blockers)
    print(f"\nblocking rules on campaign packages: {dict(blockers)}")
    bad = [o for o in camp if o.verdict == "block" and not o.evidence_ok]
    print(f"blocked campaign packages whose blocking finding has no evidence: {len(bad)}")
    print()
    print(table("controls (ordinary packages)", {"all": ctl, **{
        s: [o for o in ctl if o.planned.shape == s] for s in sorted({o.planned.shape for o in ctl})
    }}))  # fmt: skip
    for o in ctl:
        if o.verdict != "ok":
            rules = sorted({f"{f['rule']}:{f['level']}" for f in o.findings})
            print(f"- control {o.planned.name} ({o.tree}): {o.verdict}: {', '.join(rules)}")
    misses = [o for o in camp if o.verdict != "block"]
    print(f"\ncampaign packages not blocked: {len(misses)}")
    for o in misses[:40]:
        print(f"- {o.planned.name} [{o.planned.account}, {o.planned.shape}] {o.verdict}: "
              f"{', '.join(o.spam_signals) or 'no spam signal'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-account", type=int, default=10, help="chain packages per account")
    parser.add_argument("--seed", default="live-1")
    parser.add_argument("--variants", default="full,mirror")
    parser.add_argument("--json", type=Path, help="also write the per-package outcomes here")
    args = parser.parse_args(argv)
    trees = campaign_trees(args.per_account, args.seed)
    ctl, pool = control_trees(args.seed)
    trees += ctl
    rnd = random.Random(f"{args.seed}:mix")
    for tree in trees:  # every project also has a few ordinary libraries
        tree.roots += [p.name for p in rnd.sample(pool[16:40], 3)]
    dump: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="live-shapes-") as tmp:
        for variant in args.variants.split(","):
            start = time.monotonic()
            outcomes = run_variant(variant, trees, pool, Path(tmp))
            print(f"\n{variant}: {len(trees)} trees checked in {time.monotonic() - start:.0f} s")
            report(variant, outcomes)
            dump[variant] = [
                {"name": o.planned.name, "kind": o.planned.kind, "account": o.planned.account,
                 "seen": o.planned.seen, "shape": o.planned.shape, "verdict": o.verdict,
                 "signals": o.spam_signals, "blockers": o.blockers, "tree": o.tree}
                for o in outcomes
            ]  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
