"""The fixed train / holdout split of the campaign names, shared by the build and the benchmark.

Holdout accounts are chosen by hashing the account name (sha1 % 5 == 2): whole accounts the
grammar and word lists were not designed on, to estimate how the rule does on unseen accounts.
The remaining accounts' names are split by hashing the name (sha1 % 5 == 0 -> holdout-names).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

# ../shared/data beside the repository, or NPMGUARD_SHARED_DATA (as the tests read it)
SHARED = Path(
    os.environ.get("NPMGUARD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CAMPAIGN_TSV = SHARED / "campaign" / "indonesianfoods-names.tsv"
NAMES_TSV = SHARED / "npm-names-downloads.tsv.gz"


def _bucket(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % 5


@dataclass(frozen=True, slots=True)
class CampaignName:
    name: str
    account: str
    part: str  # "train", "holdout-names", "holdout-accounts"


def campaign_names(path: Path = CAMPAIGN_TSV) -> list[CampaignName]:
    out = []
    for line in path.read_text("utf-8").splitlines()[1:]:
        name, account = line.split("\t")[:2]
        if _bucket(account) == 2:
            part = "holdout-accounts"
        elif _bucket(name) == 0:
            part = "holdout-names"
        else:
            part = "train"
        out.append(CampaignName(name, account, part))
    return out


def legit_names(path: Path = NAMES_TSV) -> list[tuple[str, int | None]]:
    """The ~227k npm names with monthly downloads (None where the snapshot has none)."""
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()[1:]
    out: list[tuple[str, int | None]] = []
    for line in lines:
        name, _, dl = line.partition("\t")
        out.append((name, int(dl) if dl.strip() else None))
    return out
