"""Hit and false-positive rates of the name rules, as a Markdown table on stdout.

    .venv/bin/python benchmarks/rule_rates.py            # offline, ~30 s
    .venv/bin/python benchmarks/rule_rates.py --online-top 1000  # by hand, online: all rules
    .venv/bin/python benchmarks/rule_rates.py --part train --show-fp 200  # while designing

Hit rate: share of the campaign names in ``../shared/data/campaign/`` the rule flags, on the
fixed train / holdout split of ``campaign_split.py`` (train: what the grammar and word lists
were designed on; holdout-names: unseen names of the same accounts; holdout-accounts: whole
accounts never looked at while designing). False positives: share of the ~227k npm names in
``npm-names-downloads.tsv.gz`` flagged (nearly all legitimate), overall and among the 1,000 /
10,000 most downloaded. Each rule is run through its real ``check`` with default options.

Dictionary words (``--words PATH`` or env ``NPMGUARD_WORDS_LIST``; the column is left out
without it): share of an English word list flagged, one word a line; legitimate packages
are often named by one ordinary word. The list used in docs/measurements.md is the 218k
words of the ``english-words`` npm package (``npm pack english-words``, then ``words.txt``
from the tarball); it is not shipped.

Other rules plug in with ``@measurer("rule-id")``: a function from the ``Corpus`` to
``RuleRates``. ``name_rule_rates`` measures any name-only rule.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from campaign_split import CampaignName, campaign_names, legit_names

from npmguard.model import LockedPackage, Lockfile, Occurrence, SourceKind
from npmguard.rules.base import CheckContext, PackageRule, get_rule

PARTS = ("train", "holdout-names", "holdout-accounts")
HIT_COLUMNS = (*PARTS, "all", "known typosquats")
TYPOSQUATS = Path(__file__).resolve().parents[1] / "tests/fixtures/names/known-typosquats.txt"


def known_typosquats(path: Path = TYPOSQUATS) -> list[str]:
    """Names from public typosquatting write-ups (first column of the fixture)."""
    lines = path.read_text("utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if line.strip() and not line.startswith("#")]


def dictionary_words(path: Path) -> list[str]:
    """The words of a word list, one a line (blank lines and ``#`` comments skipped)."""
    lines = Path(path).read_text("utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.startswith("#")]


@dataclass(frozen=True)
class Corpus:
    campaign: list[CampaignName]
    legit: list[tuple[str, int | None]]  # most downloaded first
    typosquats: list[str] = field(default_factory=list)
    dictionary: list[str] = field(default_factory=list)  # English words; empty: not measured
    only: str | None = None  # one part of the split (``--part train``): the others are not read

    def campaign_parts(self) -> dict[str, list[str]]:
        if self.only is not None:
            return {self.only: [c.name for c in self.campaign if c.part == self.only]}
        parts = {p: [c.name for c in self.campaign if c.part == p] for p in PARTS}
        return {**parts, "all": [c.name for c in self.campaign]}


@dataclass(frozen=True)
class RuleRates:
    rule: str
    hits: Mapping[str, tuple[int, int]]  # part -> (flagged, total); "all" included
    false_positives: Mapping[str, tuple[int, int]]  # "all", "top 1,000", "top 10,000", "words"
    seconds: float
    per_name_us: float
    flagged_legit: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


MEASURERS: dict[str, Callable[[Corpus], RuleRates]] = {}


def measurer(
    rule_id: str,
) -> Callable[[Callable[[Corpus], RuleRates]], Callable[[Corpus], RuleRates]]:
    def add(fn: Callable[[Corpus], RuleRates]) -> Callable[[Corpus], RuleRates]:
        MEASURERS[rule_id] = fn
        return fn

    return add


def _package(name: str, version: str = "1.0.0") -> LockedPackage:
    occ = Occurrence(path=f"node_modules/{name}", installed_as=name, resolved=None, integrity=None)
    return LockedPackage(name=name, version=version, source=SourceKind.REGISTRY, occurrences=(occ,))


def name_flagger(rule_id: str, options: Mapping[str, Any] | None = None) -> Callable[[str], bool]:
    """``name -> flagged?`` through the rule's real ``check_package`` with default options."""
    rule = get_rule(rule_id)()
    assert isinstance(rule, PackageRule)
    from npmguard.names.store import open_store
    from npmguard.paths import cache_dir

    ctx = CheckContext(
        lockfile=Lockfile(path=Path("names"), format="names", lockfile_version=0, packages=()),
        facts={},
        options={rule_id: dict(options or {})},
        allowed_registries=(),
        names=open_store(cache_dir()),
    )
    return lambda name: any(True for _ in rule.check_package(_package(name), ctx))


def name_rule_rates(
    rule_id: str,
    corpus: Corpus,
    options: Mapping[str, Any] | None = None,
    label: str = "",
    positives: Mapping[str, list[str]] | None = None,
) -> RuleRates:
    """Rates of a name-only rule: hits on ``positives`` (default: the campaign parts)."""
    flagged = name_flagger(rule_id, options)
    flagged("warm-up-name")  # load word lists and data outside the timing
    start = time.perf_counter()
    hits: dict[str, tuple[int, int]] = {}
    sets = corpus.campaign_parts() if positives is None else positives
    for part, names in sets.items():
        hits[part] = (sum(1 for n in names if flagged(n)), len(names))
    bad = [n for n, _ in corpus.legit if flagged(n)]
    seconds = time.perf_counter() - start
    total = sum(len(v) for v in sets.values()) + len(corpus.legit)
    rank = {n: i for i, (n, _) in enumerate(corpus.legit)}
    fps = {
        "all": (len(bad), len(corpus.legit)),
        "top 1,000": (sum(1 for n in bad if rank[n] < 1000), 1000),
        "top 10,000": (sum(1 for n in bad if rank[n] < 10_000), 10_000),
    }
    if corpus.dictionary:  # not timed: the per-name time stays comparable without it
        fps["words"] = (sum(1 for w in corpus.dictionary if flagged(w)), len(corpus.dictionary))
    return RuleRates(label or rule_id, hits, fps, seconds, seconds / total * 1e6, tuple(bad))


@measurer("spam-name")
def _spam_name(corpus: Corpus) -> RuleRates:
    return name_rule_rates("spam-name", corpus)


@measurer("spam-name (no popularity guard)")
def _spam_name_unguarded(corpus: Corpus) -> RuleRates:
    return name_rule_rates("spam-name", corpus, {"popular-downloads": 0}, "spam-name (no guard)")


@measurer("typosquat")
def _typosquat(corpus: Corpus) -> RuleRates:
    return name_rule_rates("typosquat", corpus, positives={"known typosquats": corpus.typosquats})


def _pct(pair: tuple[int, int]) -> str:
    n, total = pair
    return f"{n:,}/{total:,} ({100 * n / total:.3f}%)" if total else "-"


def markdown(rates: Iterable[RuleRates]) -> str:
    rates = list(rates)
    fp_keys = ["all", "top 1,000", "top 10,000"]
    fp_heads = ["FP all names", "FP top 1,000", "FP top 10,000"]
    if any("words" in r.false_positives for r in rates):
        fp_keys.append("words")
        fp_heads.append("FP dictionary words")
    rows = [
        "| rule | "
        + "".join(f"hit {c} | " for c in HIT_COLUMNS)
        + "".join(f"{h} | " for h in fp_heads)
        + "time |",
        "|---|" + "---|" * (len(HIT_COLUMNS) + len(fp_heads) + 1),
    ]
    for r in rates:
        hit = [_pct(r.hits[p]) if p in r.hits else "-" for p in HIT_COLUMNS]
        fp = [_pct(r.false_positives[k]) if k in r.false_positives else "-" for k in fp_keys]
        rows.append(
            f"| {r.rule} | "
            + " | ".join(hit + fp)
            + f" | {r.seconds:.1f} s ({r.per_name_us:.0f} µs/name) |"
        )
    return "\n".join(rows)


def online_top(n: int) -> int:
    """By hand: every rule on the top ``n`` names' latest versions, fetched through the same
    facts source ``npmguard check`` uses (reputation store + registry from ``.npmrc``)."""
    from npmguard.app import Options, build
    from npmguard.facts import Need
    from npmguard.model import Level

    names = [name for name, _ in legit_names()[:n]]
    # the built-in default policy (an empty folder's policy is npmguard:default)
    with build(Options(policy="npmguard:default"), Path.cwd()) as checker:
        # first the package documents, for each name's latest version; then the real run
        pictures = checker.gather(
            [_package(name) for name in names], frozenset({Need.PACKUMENT})
        ).packages
        latest = {f.name: f.latest for f in pictures.values() if f.latest}
        packages = tuple(_package(name, latest[name]) for name in names if name in latest)
        lockfile = Lockfile(path=Path("top"), format="names", lockfile_version=0, packages=packages)
        start = time.perf_counter()
        # lockfile-integrity rules judge a lockfile's entries, and these are made up: left out
        report = checker.check([lockfile], skip=frozenset({Need.LOCKFILE}))
        seconds = time.perf_counter() - start
    counts: dict[str, list[str]] = {}
    levels: dict[str, Level] = {}
    for f in report.findings:
        counts.setdefault(f.rule, []).append(f.key)
        levels[f.rule] = f.level
    total = len(packages)
    print(f"{total} of the top {n} names resolved to a latest version; run took {seconds:.0f} s\n")
    print("| rule | level | packages flagged | share | examples |\n|---|---|---|---|---|")
    for rule, keys in sorted(counts.items(), key=lambda kv: -len(kv[1])):
        flagged = sorted(set(keys))
        share = 100 * len(flagged) / total if total else 0.0
        print(
            f"| {rule} | {levels[rule]} | {len(flagged)} | {share:.2f}% | "
            + ", ".join(flagged[:5])
            + " |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", action="append", help="only these measurers (repeatable)")
    parser.add_argument("--show-fp", type=int, default=0, help="list this many flagged names")
    parser.add_argument(
        "--part",
        choices=PARTS,
        help="hit rates on this part of the campaign split only (design on `train` without"
        " seeing the holdout figures)",
    )
    parser.add_argument(
        "--words",
        type=Path,
        default=os.environ.get("NPMGUARD_WORDS_LIST") or None,
        help="an English word list, one word a line: adds a false-positive column for it"
        " (default: env NPMGUARD_WORDS_LIST; left out when neither is given)",
    )
    parser.add_argument(
        "--online-top", type=int, default=0, help="by hand, online: run every rule on the top N"
    )
    args = parser.parse_args(argv)
    if args.online_top:
        return online_top(args.online_top)
    dictionary = dictionary_words(args.words) if args.words else []
    corpus = Corpus(campaign_names(), legit_names(), known_typosquats(), dictionary, only=args.part)
    chosen = args.rule or list(MEASURERS)
    results = [MEASURERS[r](corpus) for r in chosen]
    print(markdown(results))
    for r in results:
        if args.show_fp:
            print(f"\nflagged legitimate names, {r.rule} (first {args.show_fp}, by downloads):")
            for name in r.flagged_legit[: args.show_fp]:
                print(f"- {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
