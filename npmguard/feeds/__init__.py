"""Known-bad feeds: OSV records imported into a local store (:mod:`npmguard.feeds.store`)."""

from __future__ import annotations

from pathlib import Path

FEED_FILE = "feeds.sqlite"


def default_path() -> Path:
    """Where ``npmguard db update`` keeps the feed store: ``<data dir>/feeds.sqlite``."""
    from npmguard.paths import data_dir

    return data_dir() / FEED_FILE
