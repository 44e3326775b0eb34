"""Regenerate the shipped name data from the shared snapshots.

    .venv/bin/python benchmarks/build_popular_names.py

Writes:
- ``npmguard/data/popular-names.txt.gz``: every npm name with at least ``--min-downloads``
  downloads a month in ``npm-names-downloads.tsv.gz``, as ``name<TAB>decibels`` sorted by name,
  where decibels = round(10 * log10(downloads)) (within 12% of the real count; small file).
- ``npmguard/data/names/syllables.tsv``: letter-bigram counts of two vocabularies, for the
  random-syllable shape of ``spam-name``: ``legit`` from the words of the popular names,
  ``campaign`` from the words of the TRAIN part of the campaign names (see campaign_split.py)
  that are not popular words. Only counts are shipped, never campaign names.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from campaign_split import campaign_names, legit_names

ROOT = Path(__file__).resolve().parents[1]
OUT_POPULAR = ROOT / "npmguard" / "data" / "popular-names.txt.gz"
OUT_SYLLABLES = ROOT / "npmguard" / "data" / "names" / "syllables.tsv"


def words_of(name: str) -> list[str]:
    bare = name.lower().rsplit("/", 1)[-1]
    return [w for w in re.split(r"[^a-z]+", bare) if w]


def bigrams(vocabulary: collections.abc.Iterable[str]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for word in vocabulary:
        s = f"^{word}$"
        counts.update(a + b for a, b in itertools.pairwise(s))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-downloads", type=int, default=30_000)
    args = parser.parse_args()
    popular = sorted(
        (name, dl) for name, dl in legit_names() if dl is not None and dl >= args.min_downloads
    )
    body = "".join(f"{name}\t{round(10 * math.log10(dl))}\n" for name, dl in popular)
    OUT_POPULAR.write_bytes(gzip.compress(body.encode("utf-8"), 9, mtime=0))
    vocab = {w for name, _ in popular for w in words_of(name)}
    train = [c.name for c in campaign_names() if c.part == "train"]
    campaign_vocab = {w for name in train for w in words_of(name) if w not in vocab}
    with OUT_SYLLABLES.open("w", encoding="utf-8") as fh:
        fh.write("# letter bigram counts; regenerate with benchmarks/build_popular_names.py\n")
        for label, counts in (("legit", bigrams(vocab)), ("campaign", bigrams(campaign_vocab))):
            for pair, n in sorted(counts.items()):
                fh.write(f"{label}\t{pair}\t{n}\n")
    print(
        f"{OUT_POPULAR.name}: {len(popular)} names, {OUT_POPULAR.stat().st_size} bytes; "
        f"{OUT_SYLLABLES.name}: {len(vocab)} popular words, {len(campaign_vocab)} campaign words",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
