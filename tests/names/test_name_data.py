"""Data checks: the grammar against the campaign list and the ~227k npm names (shared data).

Measured figures (docs/measurements.md): 90.5% of the campaign half flagged, 0.040% of the
npm names. The issue's targets are >= 90% and <= 0.05%.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from providers import shipped_names

from npmguard.names import classify

pytestmark = pytest.mark.slow


def _flagged(name: str) -> bool:
    verdict = classify(name, shipped_names())
    return verdict is not None and verdict.score >= 0.6


def test_campaign_hit_rate(shared_data: Path) -> None:
    lines = (shared_data / "campaign" / "indonesianfoods-names.tsv").read_text().splitlines()
    names = [line.split("\t")[0] for line in lines[1:]]
    hit = sum(1 for n in names if _flagged(n)) / len(names)
    assert hit >= 0.90, f"hit rate {hit:.3f}"


def test_false_positive_rate_on_npm_names(shared_data: Path) -> None:
    with gzip.open(shared_data / "npm-names-downloads.tsv.gz", "rt") as fh:
        names = [line.split("\t")[0] for line in fh.read().splitlines()[1:]]
    flagged = [n for n in names if _flagged(n)]
    assert len(flagged) / len(names) <= 0.0005, flagged[:20]
    top = set(names[:10_000])
    assert not [n for n in flagged if n in top]
