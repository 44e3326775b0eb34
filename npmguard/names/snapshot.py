"""The shipped popular-names snapshot: ``npmguard/data/popular-names.txt.gz``.

Every npm name with at least ``FLOOR`` (:mod:`npmguard.names.popularity`) downloads a month
in a snapshot, as ``name<TAB>decibels`` lines, decibels = round(10 * log10(downloads));
regenerate it with ``benchmarks/build_popular_names.py``.
"""

from __future__ import annotations

from pathlib import Path

_SNAPSHOT = "data/popular-names.txt.gz"


def shipped_snapshot() -> bytes:
    from npmguard.fsutil import package_data

    return package_data(_SNAPSHOT)


def snapshot_key() -> bytes:
    """What identifies the shipped snapshot: its size and mtime when it is a plain file (a
    stat, no read: regenerating or reinstalling it changes them), else its content."""
    import npmguard

    path = Path(npmguard.__file__).parent / _SNAPSHOT
    try:
        st = path.stat()
    except OSError:
        return shipped_snapshot()
    return f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode()


def parse_snapshot(raw: bytes) -> dict[str, int]:
    """name -> approximate monthly downloads from the gzipped ``name<TAB>decibels`` lines."""
    import gzip

    out: dict[str, int] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        name, _, db = line.partition("\t")
        out[name] = round(10 ** (int(db) / 10))
    return out
