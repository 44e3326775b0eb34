"""Feed downloads through the one HTTP session: revalidated with ETag, so an unchanged feed
costs a 304 and no import; redirects are held to https (or http on this machine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from feed_helpers import zip_tree
from staticserver import StaticServer

from npmguard.errors import FeedError
from npmguard.feeds.importer import import_feed
from npmguard.feeds.store import create_feed_store


def test_an_unchanged_feed_is_neither_downloaded_nor_imported_again(
    shared_data: Path, tmp_path: Path
) -> None:
    served = zip_tree(shared_data / "osv-samples" / "osv", tmp_path / "all.zip").read_bytes()
    with StaticServer({"/all.zip": served}, validators=True) as static:
        url = f"{static.url}/all.zip"
        with create_feed_store(tmp_path / "feeds.sqlite") as store:
            first = import_feed(url, store=store)
            again = import_feed(url, store=store)
            assert (first.counts.added, again.counts.unchanged) == (3, 3)
            assert again.counts.added == again.counts.updated == 0
            assert (static.sent, static.not_modified) == (len(served), 1)
            # a changed feed: a new ETag, downloaded and imported
            smaller = zip_tree(
                shared_data / "osv-samples" / "osv" / "malicious", tmp_path / "m.zip"
            )
            static.files["/all.zip"] = smaller.read_bytes()
            changed = import_feed(url, store=store)
            assert changed.counts.removed == 1 and static.not_modified == 1


def test_a_redirect_to_another_host_over_http_is_refused(tmp_path: Path) -> None:
    moved = {"/all.zip": "http://feeds.example/all.zip"}
    store = create_feed_store(tmp_path / "f.sqlite")
    with StaticServer(redirects=moved) as static, pytest.raises(FeedError, match="only https"):
        import_feed(f"{static.url}/all.zip", store=store)
    store.close()
