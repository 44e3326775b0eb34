"""Importing OSV records into the feed store: trees, zips, tar.gz, URLs, re-imports, errors."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_helpers import EVIL_SRI, FIXTURES, PLEX_SRI, tar_tree, zip_tree
from staticserver import StaticServer

from npmguard.errors import ExitCode, FeedError
from npmguard.feeds import default_path, osv
from npmguard.feeds.importer import FeedUnreachableError, import_feed
from npmguard.feeds.store import FeedStore, create_feed_store, open_feed_store


@pytest.fixture
def samples(shared_data: Path) -> Path:
    return shared_data / "osv-samples" / "osv"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedStore]:
    s = create_feed_store(tmp_path / "feeds.sqlite")
    yield s
    s.close()


def ids(store: FeedStore, name: str, version: str, integrity: str | None = None) -> list[str]:
    return [m.record_id for m in store.match(name, version, integrity)]


def assert_samples_imported(store: FeedStore) -> None:
    assert ids(store, "@ctrl/tinycolor", "4.1.1") == ["MAL-2025-47141"]
    (catch_all,) = store.match("@ctrl/tinycolor", "4.1.0")
    assert catch_all.catch_all_only
    assert ids(store, "-pem-misa", "1.0.0") == ["MAL-2025-179413"]
    assert ids(store, "@ctrl/plex", "6.0.0") == []  # withdrawn
    assert ids(store, "@ctrl/plex", "6.0.0", PLEX_SRI) == []
    withdrawn = store.match("@ctrl/plex", "6.0.0", include_withdrawn=True)
    assert [m.withdrawn for m in withdrawn] == ["2026-05-26T17:12:48Z"]
    assert ids(store, "left-pad", "1.3.0") == []
    info = store.info()
    assert (info.records, info.withdrawn, info.names, info.hashes) == (3, 1, 3, 2)


def test_import_the_repository_tree(samples: Path, store: FeedStore) -> None:
    result = import_feed(str(samples), store=store)
    assert result.kind == "directory"
    assert (result.counts.seen, result.counts.added, result.counts.withdrawn) == (3, 3, 1)
    assert_samples_imported(store)
    (found,) = store.match("@ctrl/tinycolor", "4.1.1")
    assert found.source.endswith("osv/malicious/npm/@ctrl/tinycolor/MAL-2025-47141.json")


def test_import_a_flat_zip_as_osv_dev_exports(
    samples: Path, store: FeedStore, tmp_path: Path
) -> None:
    archive = zip_tree(samples, tmp_path / "all.zip", flat=True)
    result = import_feed(str(archive), store=store)
    assert result.kind == "zip" and result.counts.seen == 3
    assert_samples_imported(store)
    (found,) = store.match("-pem-misa", "2.0.0")
    assert found.source == f"{archive.resolve()}!MAL-2025-179413.json"


def test_import_a_repository_archive_marks_the_withdrawn_folder(
    samples: Path, store: FeedStore, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(samples, tree / "osv")
    plex = tree / "osv/withdrawn/npm/@ctrl/plex/MAL-2026-4377.json"
    data = json.loads(plex.read_text())
    del data["withdrawn"]  # the folder alone says it is withdrawn
    plex.write_text(json.dumps(data))
    pypi = tree / "osv/malicious/pypi/evilpy/MAL-2099-0003.json"
    pypi.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "others" / "MAL-2099-0003.json", pypi)
    for archive in (
        zip_tree(tree, tmp_path / "main.zip", prefix="malicious-packages-main/"),
        tar_tree(tree, tmp_path / "main.tar.gz", prefix="malicious-packages-main/"),
    ):
        result = import_feed(str(archive), store=store)
        assert result.counts.seen == 3 and result.skipped == 0  # pypi folder never read
        assert_samples_imported(store)
        (plex_match,) = store.match("@ctrl/plex", "6.0.0", include_withdrawn=True)
        assert plex_match.withdrawn == "2026-05-26T17:12:48Z"  # its `modified`


def test_reimport_is_idempotent_and_follows_the_source(
    samples: Path, store: FeedStore, tmp_path: Path
) -> None:
    tree = tmp_path / "osv"
    shutil.copytree(samples, tree)
    first = import_feed(str(tree), store=store)
    again = import_feed(str(tree), store=store)
    assert (again.counts.added, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    assert store.info().records == 3
    assert first.counts.added == 3
    # the record gets corrected upstream: updated in place
    pem = tree / "malicious/npm/-pem-misa/MAL-2025-179413.json"
    data = json.loads(pem.read_text())
    data["modified"] = "2026-01-01T00:00:00Z"
    data["affected"][0]["ranges"] = [{"type": "SEMVER", "events": [{"introduced": "2.0.0"}]}]
    pem.write_text(json.dumps(data))
    # and a record disappears from the source
    (tree / "malicious/npm/@ctrl/tinycolor/MAL-2025-47141.json").unlink()
    third = import_feed(str(tree), store=store)
    assert (third.counts.updated, third.counts.removed, third.counts.unchanged) == (1, 1, 1)
    assert ids(store, "-pem-misa", "1.0.0") == []
    assert ids(store, "-pem-misa", "2.0.0") == ["MAL-2025-179413"]
    assert ids(store, "@ctrl/tinycolor", "4.1.1") == []
    assert store.info().records == 2


def test_an_older_copy_from_another_source_does_not_win(
    samples: Path, store: FeedStore, tmp_path: Path
) -> None:
    import_feed(str(samples), store=store)
    other = tmp_path / "other"
    other.mkdir()
    data = json.loads((samples / "malicious/npm/-pem-misa/MAL-2025-179413.json").read_text())
    data["modified"] = "2020-01-01T00:00:00Z"
    data["affected"][0]["ranges"] = [{"type": "SEMVER", "events": [{"introduced": "5.0.0"}]}]
    (other / "MAL-2025-179413.json").write_text(json.dumps(data))
    result = import_feed(str(other), store=store)
    assert result.counts.older == 1
    assert ids(store, "-pem-misa", "1.0.0") == ["MAL-2025-179413"]
    assert len(store.info().sources) == 2


def test_unreadable_files_are_skipped_counted_and_named(
    store: FeedStore, caplog: pytest.LogCaptureFixture
) -> None:
    tree = FIXTURES / "corrupt" / "osv"
    with caplog.at_level(logging.WARNING, logger="npmguard"):
        result = import_feed(str(tree), store=store)
    assert result.counts.seen == 1
    (error,) = result.errors
    assert "broken-pkg/MAL-2099-0005.json: invalid JSON" in error
    assert any("MAL-2099-0005.json" in r.getMessage() for r in caplog.records)
    assert ids(store, "fine-pkg", "1.0.0") == ["MAL-2099-0004"]
    (source,) = store.info().sources
    assert source.errors == 1


def test_strict_import_fails_on_an_unreadable_file_and_keeps_old_data(
    samples: Path, store: FeedStore
) -> None:
    import_feed(str(samples), store=store)
    with pytest.raises(FeedError, match=r"MAL-2099-0005\.json: invalid JSON"):
        import_feed(str(FIXTURES / "corrupt" / "osv"), store=store, strict=True)
    assert ids(store, "fine-pkg", "1.0.0") == []
    assert store.info().records == 3


def test_a_record_that_becomes_unreadable_keeps_its_stored_copy(
    store: FeedStore, tmp_path: Path
) -> None:
    tree = tmp_path / "osv"
    shutil.copytree(FIXTURES / "corrupt" / "osv", tree)
    import_feed(str(tree), store=store)
    fine = tree / "malicious/npm/fine-pkg/MAL-2099-0004.json"
    fine.write_text("{ not json")
    # fine-pkg's file is broken now, but the import still needs one good record
    shutil.copy(FIXTURES / "integrity" / "MAL-2099-0001.json", tree / "MAL-2099-0001.json")
    result = import_feed(str(tree), store=store)
    assert result.counts.removed == 0 and len(result.errors) == 2
    assert ids(store, "fine-pkg", "1.0.0") == ["MAL-2099-0004"]


def test_ordinary_advisories_and_other_ecosystems_are_skipped(store: FeedStore) -> None:
    with pytest.raises(FeedError, match="no npm malicious-package OSV records found"):
        import_feed(str(FIXTURES / "others"), store=store)
    assert store.info().records == 0


def test_integrity_match_without_a_listed_version(store: FeedStore) -> None:
    import_feed(str(FIXTURES / "integrity" / "MAL-2099-0001.json"), store=store)
    assert ids(store, "evil-hash", "1.0.0") == []
    (found,) = store.match("evil-hash", "1.0.0", f"sha1-AAAA {EVIL_SRI}")
    assert (found.how, found.matched) == ("integrity", EVIL_SRI)


def test_interrupted_import_leaves_the_old_data(
    samples: Path, store: FeedStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import_feed(str(samples), store=store)
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "corrupt", tree)
    shutil.copy(FIXTURES / "integrity" / "MAL-2099-0001.json", tree / "MAL-2099-0001.json")
    calls = 0
    real = osv.parse_record

    def interrupt(raw: object, where: str) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real(raw, where)

    monkeypatch.setattr("npmguard.feeds.importer.parse_record", interrupt)
    with pytest.raises(KeyboardInterrupt):
        import_feed(str(samples), store=store)  # same source: would remove nothing anyway
    with pytest.raises(KeyboardInterrupt):
        calls = 0
        import_feed(str(tree), store=store)
    monkeypatch.undo()
    assert_samples_imported(store)
    assert len(store.info().sources) == 1
    # and the store is usable for a new import afterwards
    assert import_feed(str(tree), store=store).counts.added == 2


def test_missing_source_and_bad_files(tmp_path: Path, store: FeedStore) -> None:
    with pytest.raises(FeedError, match="nope: no such file or folder"):
        import_feed(str(tmp_path / "nope"), store=store)
    junk = tmp_path / "feed.bin"
    junk.write_bytes(b"this is no archive\n" * 40)
    with pytest.raises(FeedError, match=r"feed\.bin: not a folder, a zip"):
        import_feed(str(junk), store=store)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FeedError, match="no npm malicious-package"):
        import_feed(str(empty), store=store)


def test_default_store_location_and_open_without_creating(samples: Path) -> None:
    assert open_feed_store() is None
    assert not default_path().exists()  # opening for reading never creates it
    result = import_feed(str(samples))
    assert result.counts.added == 3
    assert default_path().is_file()
    reader = open_feed_store()
    assert reader is not None
    with reader:
        assert ids(reader, "@ctrl/tinycolor", "4.1.2") == ["MAL-2025-47141"]


@pytest.fixture
def server(samples: Path, tmp_path: Path) -> Iterator[str]:
    served = zip_tree(samples, tmp_path / "served.zip", flat=True).read_bytes()
    with StaticServer({"/all.zip": served}, redirects={"/moved.zip": "/all.zip"}) as static:
        yield static.url


def test_import_from_a_loopback_url(server: str, store: FeedStore) -> None:
    result = import_feed(f"{server}/moved.zip", store=store)
    assert result.kind == "zip" and result.source == f"{server}/moved.zip"
    assert_samples_imported(store)


def test_url_errors(server: str, store: FeedStore) -> None:
    with pytest.raises(FeedUnreachableError, match="HTTP 404") as err:
        import_feed(f"{server}/missing.zip", store=store)
    assert err.value.exit_code is ExitCode.UNREACHABLE
    with pytest.raises(FeedError, match="larger than the 0 MB limit"):
        import_feed(f"{server}/all.zip", store=store, max_bytes=100)
    with pytest.raises(FeedError, match="only https URLs"):
        import_feed("http://feeds.example.com/all.zip", store=store)
    with pytest.raises(FeedUnreachableError, match="download failed"):
        import_feed("http://127.0.0.1:9/all.zip", store=store)
    assert store.info().records == 0


def test_many_generated_records(tmp_path: Path, store: FeedStore) -> None:
    """A generated tree of 2,000 records imports, matches and re-imports cleanly."""
    write_synthetic_tree(tmp_path / "osv", 2000)
    result = import_feed(str(tmp_path / "osv"), store=store)
    assert result.counts.added == 2000
    assert ids(store, "gen-pkg-1999", "1.0.0") == ["MAL-2099-101999"]
    assert import_feed(str(tmp_path / "osv"), store=store).counts.unchanged == 2000
    with sqlite3.connect(store.path) as conn:  # the shared campaign text is stored once
        assert conn.execute("SELECT COUNT(*) FROM details").fetchone() == (1,)


def test_a_stored_record_with_its_details(samples: Path, store: FeedStore) -> None:
    import_feed(str(samples), store=store)
    found = store.record("MAL-2025-179413")
    assert found is not None
    record, data, where = found
    assert record.id == "MAL-2025-179413" and data["id"] == "MAL-2025-179413"
    assert data["details"].startswith("This package appears to be part of the tea.xyz")
    assert "Per source details" not in data["details"]
    assert where == f"{samples.resolve()}/malicious/npm/-pem-misa/MAL-2025-179413.json"
    assert store.record("MAL-0000-0") is None


def write_synthetic_tree(root: Path, count: int) -> None:
    """Records shaped like the tea.xyz spam ones, in the repository layout."""
    for i in range(count):
        name = f"gen-pkg-{i}"
        folder = root / "malicious" / "npm" / name
        folder.mkdir(parents=True)
        record = {
            "modified": "2025-11-12T20:46:07Z",
            "published": "2025-11-12T20:46:07Z",
            "schema_version": "1.5.0",
            "id": f"MAL-2099-{100000 + i}",
            "summary": f"Malicious code in {name} (npm)",
            "details": "This package appears to be part of the tea.xyz token campaign. " * 12,
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": name},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                }
            ],
            "database_specific": {
                "malicious-packages-origins": [
                    {"source": "amazon-inspector", "sha256": "0" * 64, "ranges": []}
                ]
            },
        }
        (folder / f"{record['id']}.json").write_text(json.dumps(record, indent=2))


def test_readers_see_the_old_data_while_an_import_runs(samples: Path, tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    writer = create_feed_store(path)
    import_feed(str(FIXTURES / "integrity"), store=writer)
    reader = open_feed_store(path)
    assert reader is not None
    raw = json.loads((samples / "malicious/npm/-pem-misa/MAL-2025-179413.json").read_text())
    with writer.begin_import("second", "directory") as batch:
        batch.add(osv.parse_record(raw, "x"), osv.compact_osv(raw), "x.json")
        assert ids(reader, "-pem-misa", "1.0.0") == []  # not committed yet
        assert ids(reader, "evil-hash", "9.9.9") == ["MAL-2099-0001"]
    assert ids(reader, "-pem-misa", "1.0.0") == ["MAL-2025-179413"]
    reader.close()
    writer.close()
