"""Reading a package document (packument) fast: only the fields the extractor reads.

A cold check of a big tree reads ~190 MB of package documents, most of it fields no rule
looks at (readmes, ``devDependencies``, ``engines``, every version's ``contributors`` ...).
:func:`read_packument` decodes a document with ``msgspec`` into a *trimmed* document: the
same nested dicts and lists ``json.loads`` would give, holding exactly the keys
:func:`~npmguard.reputation.extract.extract_package` reads and nothing else; the skipped
fields are checked for well-formedness but never turned into objects. The extractor then
runs unchanged on the trimmed document, so the facts are the same by construction, as long
as every value it reads decodes to the same Python value. Where that could differ, the fast
reader gives up and the document is read by :func:`npmguard.jsontext.loads`, as Node reads
it:

- a body with a lone UTF-16 surrogate escape (``"\\ud800"``): msgspec refuses it, Node's
  reading (U+FFFD here) is jsontext's; a UTF-8 byte order mark (jsontext skips it);
- a number msgspec will not hold (an integer over 4,300 digits, ``1e400``: jsontext reads
  them as Node's doubles), ``NaN``/``Infinity`` (refused either way, with jsontext's message);
- nesting deeper than the interpreter recurses (jsontext's error names the limit);
- a field the extractor reads holding a shape the trimmed types do not describe (a version
  that is not an object, ``versions`` that is a list): jsontext's dicts, and the extractor's
  own handling of the odd shape.

Duplicate keys keep the last value in both readers, as Node's ``JSON.parse`` does.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from npmguard.jsontext import loads

_MISSING: Any = msgspec.UNSET


class _Version(msgspec.Struct, omit_defaults=True):
    """One version's package.json as listed in the packument: the fields the extractor reads
    (:func:`~npmguard.reputation.extract.manifest_facts`, ``_version_info``,
    ``is_full_document``), each as whatever JSON value it holds."""

    dist: Any = _MISSING
    scripts: Any = _MISSING
    gypfile: Any = _MISSING
    hasInstallScript: Any = _MISSING
    bin: Any = _MISSING
    dependencies: Any = _MISSING
    optionalDependencies: Any = _MISSING
    npm_user: Any = msgspec.field(default=_MISSING, name="_npmUser")
    maintainers: Any = _MISSING
    deprecated: Any = _MISSING
    description: Any = _MISSING
    keywords: Any = _MISSING
    tea: Any = _MISSING
    main: Any = _MISSING
    repository: Any = _MISSING
    homepage: Any = _MISSING
    license: Any = _MISSING
    bundleDependencies: Any = _MISSING
    bundledDependencies: Any = _MISSING


class _Packument(msgspec.Struct, omit_defaults=True):
    versions: dict[str, _Version] = _MISSING
    time: Any = _MISSING
    dist_tags: Any = msgspec.field(default=_MISSING, name="dist-tags")
    maintainers: Any = _MISSING


_VERSION_KEYS = tuple(
    (field, msgspec.structs.fields(_Version)[i].encode_name)
    for i, field in enumerate(_Version.__struct_fields__)
)
_DECODER = msgspec.json.Decoder(_Packument)
# a surrogate escape, lone or paired (or a false match after an escaped backslash): those
# rare bodies take jsontext's path, which decides exactly
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def read_packument(body: bytes | bytearray) -> Any:
    """``body`` parsed as :func:`npmguard.jsontext.loads` parses it, keeping only what the
    extractor reads when the document is an object (any other value, and every body the
    fast reader cannot vouch for, comes from jsontext whole).

    Raises what ``jsontext.loads`` raises (``ValueError`` subclasses) for what it refuses.
    """
    if not _fast_safe(body):
        return loads(body)
    try:
        doc = _DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return loads(body)
    out: dict[str, Any] = {}
    versions = doc.versions
    if isinstance(versions, dict):
        out["versions"] = {
            v: {
                key: value
                for field, key in _VERSION_KEYS
                if (value := getattr(doc_v, field)) is not _MISSING
            }
            for v, doc_v in versions.items()
        }
    if doc.time is not _MISSING:
        out["time"] = doc.time
    if doc.dist_tags is not _MISSING:
        out["dist-tags"] = doc.dist_tags
    if doc.maintainers is not _MISSING:
        out["maintainers"] = doc.maintainers
    return out


def _fast_safe(body: bytes | bytearray) -> bool:
    """Whether nothing in ``body`` needs jsontext's reading: no byte order mark, no
    surrogate escape."""
    return body[:3] != b"\xef\xbb\xbf" and _SURROGATE.search(body) is None
