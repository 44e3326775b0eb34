"""OSV records, as the OpenSSF malicious-packages project and osv.dev publish them.

Only what matching needs is kept: the npm ``affected`` entries (name, explicit versions,
SEMVER/ECOSYSTEM ranges, integrity hashes from ``database_specific.indicators``) and the
record's id, dates, aliases and summary. ``compact_osv`` trims a record for storage (no
``credits``, no per-origin copies of the ranges) so that re-parsing it gives the same record.

Range evaluation follows the OSV spec: events ordered by version, ``introduced`` opens,
``fixed`` closes at the version, ``last_affected`` closes after it, ``limit`` caps the range;
versions are ordered as npm orders them (``npmguard.semver.compare``).

Integrity hashes are normalised to ``algo:hex``: ``sha512_sri`` values are SSRI (base64),
``sha1``/``sha256``/``sha512`` values are hex. The ``sha256`` in
``malicious-packages-origins`` is the hash of the *report*, not of a tarball: never used.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from npmguard.errors import FeedError
from npmguard.facts import OSV_LINK, FeedMatch
from npmguard.integrity import Integrity
from npmguard.semver import compare, valid_version

ECOSYSTEM = "npm"
_RANGE_TYPES = ("SEMVER", "ECOSYSTEM")
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_FEED_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
_DETAILS_MAX = 600  # the full text is one click away (the osv.dev link)
_BOILERPLATE = ("---", "_-= Per source details. Do not edit below this line.=-_")


@dataclass(frozen=True, slots=True)
class OsvEvent:
    kind: str  # introduced | fixed | last_affected | limit
    version: str


@dataclass(frozen=True, slots=True)
class OsvRange:
    type: str  # SEMVER | ECOSYSTEM
    events: tuple[OsvEvent, ...]

    @property
    def catch_all(self) -> bool:
        """Only ``introduced: 0``: every version, past and future."""
        return bool(self.events) and all(
            e.kind == "introduced" and _is_zero(e.version) for e in self.events
        )

    def contains(self, version: str) -> bool:
        if self.catch_all:
            return True
        if not valid_version(version):
            return False
        try:
            return _in_range(version, self.events)
        except (ValueError, TypeError):  # an event version npm cannot order
            return False

    def text(self) -> str:
        """``>=4.1.1 <=4.1.2``, ``<2.0.0``, ``all versions (introduced: 0)``."""
        if self.catch_all:
            return "all versions (introduced: 0)"
        parts = []
        for e in self.events:
            if e.kind == "introduced":
                if not _is_zero(e.version):
                    parts.append(f">={e.version}")
            elif e.kind == "last_affected":
                parts.append(f"<={e.version}")
            else:
                parts.append(f"<{e.version}")
        return " ".join(parts) or "all versions"


@dataclass(frozen=True, slots=True)
class OsvAffected:
    name: str
    versions: tuple[str, ...] = ()
    ranges: tuple[OsvRange, ...] = ()
    hashes: tuple[str, ...] = ()  # "sha512:<hex>", "sha1:<hex>"


@dataclass(frozen=True, slots=True)
class OsvRecord:
    id: str
    modified: str
    published: str | None = None
    withdrawn: str | None = None
    aliases: tuple[str, ...] = ()
    summary: str = ""
    affected: tuple[OsvAffected, ...] = ()  # npm entries only
    origins: tuple[str, ...] = ()  # malicious-packages-origins sources ("ghsa-malware", ...)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.name for a in self.affected))

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h for a in self.affected for h in a.hashes))

    @property
    def malicious(self) -> bool:
        """A malicious-package record (``MAL-`` id or alias), not an ordinary advisory."""
        return self.id.startswith("MAL-") or any(a.startswith("MAL-") for a in self.aliases)

    @property
    def link(self) -> str:
        return OSV_LINK.format(id=self.id)


# -- parsing --------------------------------------------------------------------------------


def parse_record(data: Any, where: str) -> OsvRecord:
    """An ``OsvRecord`` from decoded JSON; ``FeedError`` naming ``where`` if it is not OSV."""
    if not isinstance(data, dict):
        raise FeedError(f"{where}: not an OSV record (expected a JSON object)")
    rid = data.get("id")
    modified = data.get("modified")
    if not isinstance(rid, str) or not rid:
        raise FeedError(f'{where}: not an OSV record (missing "id")')
    if not isinstance(modified, str) or not modified:
        raise FeedError(f'{where}: {rid}: missing "modified"')
    affected = data.get("affected")
    affected = [] if affected is None else affected
    if not isinstance(affected, list):
        raise FeedError(f'{where}: {rid}: "affected" is not a list')
    entries = tuple(
        entry
        for i, raw in enumerate(affected)
        if (entry := _parse_affected(raw, f"{where}: {rid}: affected[{i}]")) is not None
    )
    extra = data.get("database_specific")
    top_hashes = tuple(_hashes(extra))
    if top_hashes and len(entries) == 1:  # record-level indicators belong to its one package
        e = entries[0]
        entries = (OsvAffected(e.name, e.versions, e.ranges, (*e.hashes, *top_hashes)),)
    aliases = data.get("aliases") or []
    return OsvRecord(
        id=rid,
        modified=modified,
        published=_str_or_none(data.get("published")),
        withdrawn=_str_or_none(data.get("withdrawn")),
        aliases=tuple(a for a in aliases if isinstance(a, str))
        if isinstance(aliases, list)
        else (),
        summary=_str_or_none(data.get("summary")) or "",
        affected=entries,
        origins=tuple(_origins(extra)),
    )


def _parse_affected(raw: Any, where: str) -> OsvAffected | None:
    if not isinstance(raw, dict):
        raise FeedError(f"{where}: not an object")
    package = raw.get("package")
    if not isinstance(package, dict):
        return None  # affected entries without a package (e.g. git-only) are not ours
    if str(package.get("ecosystem", "")).split(":", 1)[0] != ECOSYSTEM:
        return None
    name = package.get("name")
    if not isinstance(name, str) or not name:
        raise FeedError(f'{where}: npm package without a "name"')
    versions = raw.get("versions", []) if raw.get("versions") is not None else []
    ranges = raw.get("ranges", []) if raw.get("ranges") is not None else []
    if not isinstance(versions, list) or not isinstance(ranges, list):
        raise FeedError(f'{where}: "versions" and "ranges" must be lists')
    return OsvAffected(
        name=name,
        versions=tuple(v for v in versions if isinstance(v, str)),
        ranges=tuple(
            r for i, x in enumerate(ranges) if (r := _parse_range(x, f"{where}.ranges[{i}]"))
        ),
        hashes=tuple(_hashes(raw.get("database_specific"))),
    )


def _parse_range(raw: Any, where: str) -> OsvRange | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        raise FeedError(f'{where}: a range needs a list of "events"')
    if raw.get("type") not in _RANGE_TYPES:
        return None  # GIT ranges say nothing about npm versions
    events = []
    for event in raw["events"]:
        if not isinstance(event, dict) or len(event) != 1:
            raise FeedError(f"{where}: an event must have exactly one of {', '.join(_EVENT_KINDS)}")
        ((kind, version),) = event.items()
        if kind not in _EVENT_KINDS or not isinstance(version, str):
            raise FeedError(f"{where}: unknown event {event!r}")
        events.append(OsvEvent(kind, version))
    return OsvRange(str(raw["type"]), tuple(events))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _origins(extra: Any) -> Iterator[str]:
    if not isinstance(extra, dict):
        return
    origins = extra.get("malicious-packages-origins")
    if isinstance(origins, list):
        seen: set[str] = set()
        for origin in origins:
            source = origin.get("source") if isinstance(origin, dict) else None
            if isinstance(source, str) and source not in seen:
                seen.add(source)
                yield source


def _hashes(extra: Any) -> Iterator[str]:
    """Tarball hashes from ``database_specific.indicators.package_integrity``, as algo:hex."""
    if not isinstance(extra, dict):
        return
    indicators = extra.get("indicators")
    items = indicators.get("package_integrity") if isinstance(indicators, dict) else None
    if not isinstance(items, list):
        return
    for item in items:
        hashes = item.get("hashes") if isinstance(item, dict) else None
        if not isinstance(hashes, dict):
            continue
        for key, value in hashes.items():
            if not isinstance(value, str):
                continue
            if key.endswith("_sri"):
                yield from normalise_hashes(value)
            else:
                yield from _hex_hash(key.lower(), value)


def _hex_hash(algo: str, value: str) -> Iterator[str]:
    guessed = Integrity.from_hex_guess(value)
    if guessed.algorithms == {algo}:
        yield from guessed.hex_digests()


def normalise_hashes(text: str | None) -> tuple[str, ...]:
    """``algo:hex`` for each hash in an SSRI string (``sha512-<b64> sha1-<b64>``) or hex digest.

    Lockfile ``integrity`` values are SSRI; a registry ``dist.shasum`` is a bare sha1 hex.
    Anything unreadable is ignored (unknown, never bad).
    """
    out: list[str] = []
    for token in (text or "").split():
        ssri = Integrity.parse(token)
        if ssri:
            out.extend(d for d in ssri.hex_digests() if d.split(":", 1)[0] in _FEED_ALGORITHMS)
        else:
            out.extend(Integrity.from_hex_guess(token).hex_digests())
    return tuple(dict.fromkeys(out))


def hash_to_ssri(value: str) -> str:
    """``sha512:<hex>`` back to ``sha512-<base64>``, as lockfiles write it."""
    algo, _, digest = value.partition(":")
    return str(Integrity.from_hex(algo, digest))


def compact_osv(data: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a (valid) OSV record worth storing: parses back to the same record."""
    keep = ("id", "modified", "published", "withdrawn", "aliases", "summary")
    out: dict[str, Any] = {k: data[k] for k in keep if data.get(k)}
    details = _short_details(data.get("details"))
    if details:
        out["details"] = details
    affected = []
    for raw in data.get("affected") or []:
        package = raw.get("package") if isinstance(raw, dict) else None
        if not isinstance(package, dict):
            continue
        if str(package.get("ecosystem", "")).split(":", 1)[0] != ECOSYSTEM:
            continue
        entry: dict[str, Any] = {"package": {"ecosystem": ECOSYSTEM, "name": package.get("name")}}
        for key in ("ranges", "versions"):
            if raw.get(key):
                entry[key] = raw[key]
        indicators = _indicators(raw.get("database_specific"))
        if indicators:
            entry["database_specific"] = {"indicators": indicators}
        affected.append(entry)
    out["affected"] = affected
    extra = data.get("database_specific")
    top: dict[str, Any] = {}
    origins = list(_origins(extra))
    if origins:
        top["malicious-packages-origins"] = [{"source": s} for s in origins]
    indicators = _indicators(extra)
    if indicators:
        top["indicators"] = indicators
    if top:
        out["database_specific"] = top
    return out


def _short_details(details: Any) -> str:
    """``details`` without the malicious-packages per-source headers, capped in length."""
    if not isinstance(details, str):
        return ""
    lines = [
        line
        for line in details.strip().splitlines()
        if line.strip() and line.strip() not in _BOILERPLATE and not line.startswith("## Source:")
    ]
    text = "\n".join(lines)
    return text if len(text) <= _DETAILS_MAX else text[: _DETAILS_MAX - 1] + "…"


def _indicators(extra: Any) -> dict[str, Any] | None:
    if isinstance(extra, dict) and isinstance(extra.get("indicators"), dict):
        pi = extra["indicators"].get("package_integrity")
        if pi:
            return {"package_integrity": pi}
    return None


# -- matching -------------------------------------------------------------------------------


def match_record(
    record: OsvRecord, name: str, version: str, hashes: Iterable[str] = (), source: str = ""
) -> FeedMatch | None:
    """Whether ``record`` marks ``name@version`` (or a tarball with one of ``hashes``).

    Precedence: an integrity hash, an explicitly listed version, a narrow range, then a bare
    ``introduced: 0`` range. When only the last matches and the record also gives narrower
    ranges, the match is ``catch_all_only``: osv.dev enumerates ``versions`` from the ranges,
    so a listed version inherits the catch-all and does not count as narrower evidence.
    """
    wanted = set(hashes)
    entries = [a for a in record.affected if a.name == name]
    found = [(a.name, h) for a in record.affected for h in a.hashes if h in wanted]

    def make(
        how: str, matched: str, catch_all_only: bool = False, narrower: str = "", of: str = name
    ) -> FeedMatch:
        return FeedMatch(
            record_id=record.id,
            name=of,
            summary=record.summary,
            how=how,
            matched=matched,
            catch_all_only=catch_all_only,
            narrower=narrower,
            published=record.published,
            modified=record.modified,
            withdrawn=record.withdrawn,
            aliases=record.aliases,
            source=source,
        )

    if found:
        return make("integrity", hash_to_ssri(found[0][1]), of=found[0][0])
    if not entries:
        return None
    ranges = [r for a in entries for r in a.ranges]
    narrow = [r for r in ranges if not r.catch_all]
    catch_all = any(r.catch_all for r in ranges)
    for r in narrow:
        if r.contains(version):
            return make("range", r.text())
    listed = any(version in a.versions for a in entries)
    if catch_all and narrow:
        return make(
            "range",
            "all versions (introduced: 0)",
            catch_all_only=True,
            narrower=", ".join(r.text() for r in narrow),
        )
    if listed:
        return make("version", version)
    if catch_all:
        return make("range", "all versions (introduced: 0)")
    return None


def _is_zero(version: str) -> bool:
    return version in ("0", "0.0.0")


def _cmp_events(a: OsvEvent, b: OsvEvent) -> int:
    za, zb = _is_zero(a.version), _is_zero(b.version)
    if za or zb:
        return (0 if za else 1) - (0 if zb else 1)
    return compare(a.version, b.version)


def _in_range(version: str, events: tuple[OsvEvent, ...]) -> bool:
    for e in events:
        if e.kind == "limit" and e.version != "*" and compare(version, e.version) >= 0:
            return False
    affected = False
    for e in sorted(events, key=functools.cmp_to_key(_cmp_events)):
        if e.kind == "introduced":
            if _is_zero(e.version) or compare(version, e.version) >= 0:
                affected = True
        elif e.kind == "fixed":
            if compare(version, e.version) >= 0:
                affected = False
        elif e.kind == "last_affected" and compare(version, e.version) > 0:
            affected = False
    return affected
