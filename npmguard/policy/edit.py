"""Recording ``[[allow]]`` entries in a policy file, as the npm wrapper's prompt does.

The entries are written by tomlkit (quoting, escapes, TOML dates) and added after the file's
last line: an ``[[allow]]`` table may follow any other table, so the file's comments, order
and layout stay byte for byte as they were. (tomlkit's own document editing moves the
members of an ``[[allow]]`` array that other tables interrupt, and can glue a new header
onto a trailing comment.) Before the file is replaced, atomically, the result must parse
with npmguard's own policy parser and hold exactly the old entries plus the new ones;
otherwise nothing is written and :class:`~npmguard.errors.PolicyError` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from npmguard.errors import PolicyError

ALLOW_DAYS = 90  # an exception recorded at the prompt expires after this, unless renewed


@dataclass(frozen=True, slots=True)
class NewAllow:
    """One exception to record: ``package@version`` for ``rules``, why, and until when."""

    package: str
    version: str
    rules: tuple[str, ...]
    reason: str
    expires: date


def allow_target(explicit: str | None, project_dir: Path) -> Path | None:
    """The policy file exceptions for this project go to: the one in effect when it is a file
    (``--policy``/``NPMGUARD_POLICY`` naming one, the nearest ``npmguard.toml``, or the
    user-level file), else a new ``npmguard.toml`` in ``project_dir`` when no file applies;
    None when the policy comes from a URL or a preset named explicitly (nothing to write)."""
    from npmguard.policy.load import find_policy

    source = find_policy(explicit, project_dir)
    if source.kind == "path":
        return Path(source.location)
    if source.kind == "builtin" and explicit is None:
        return project_dir / "npmguard.toml"
    return None


def render_entries(entries: Sequence[NewAllow], note: str = "") -> str:
    """The entries as TOML ``[[allow]]`` tables, after a ``note`` comment line if given."""
    import tomlkit

    doc = tomlkit.document()
    tables = tomlkit.aot()
    for entry in entries:
        table = tomlkit.table()
        table["package"] = entry.package
        table["version"] = entry.version
        table["rules"] = list(entry.rules)
        table["reason"] = entry.reason
        table["expires"] = entry.expires
        tables.append(table)
    doc.append("allow", tables)
    comment = f"# {' '.join(note.split())}\n" if note else ""  # our own words: one line
    return comment + tomlkit.dumps(doc)


def with_allows(text: str, entries: Sequence[NewAllow], origin: str, note: str = "") -> str:
    """``text`` (a policy file's content, "" for a new file) with ``entries`` added.

    Raises PolicyError when ``text`` is not TOML, or the result would not be the same policy
    plus these entries (checked with tomllib and npmguard's policy parser)."""
    import tomlkit

    from npmguard import __version__
    from npmguard.policy.parse import parse_text, tomllib

    try:
        before = tomllib.loads(text)
        tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError) as e:
        raise PolicyError(f"{origin}: not valid TOML, so not edited: {e}") from e
    newline = "\r\n" if "\r\n" in text else "\n"  # keep the file's line endings
    body = text if not text or text.endswith("\n") else text + newline
    added = render_entries(entries, note).replace("\n", newline)
    new = f"{body}{newline}{added}" if body else added
    try:
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(
            f"{origin}: the [[allow]] entries cannot be added after its last line ({e})",
            hint="add them by hand: " + " ".join(added.split()),
        ) from e
    if not _only_added(before, after, len(entries)):
        raise PolicyError(f"{origin}: adding the entries would change more than [[allow]]")
    parse_text(new, origin, version=__version__)  # npmguard's own rules, line numbers and all
    return new


def _only_added(before: Mapping[str, Any], after: Mapping[str, Any], count: int) -> bool:
    old = list(before.get("allow", []))
    new = list(after.get("allow", []))
    rest_before = {k: v for k, v in before.items() if k != "allow"}
    rest_after = {k: v for k, v in after.items() if k != "allow"}
    return rest_before == rest_after and new[: len(old)] == old and len(new) == len(old) + count


def add_allows(path: Path, entries: Sequence[NewAllow], note: str = "") -> None:
    """Add ``entries`` to the policy file at ``path`` (created when missing), atomically: the
    file is either as it was or has every entry. Raises PolicyError (nothing written) when
    the result would not be a valid policy, or the file cannot be read or written."""
    from npmguard.fsutil import write_atomic

    origin = str(path)
    try:
        # bytes, decoded: read_text() would turn CRLF line endings into LF
        text = path.read_bytes().decode("utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{origin}: cannot read the policy: {e}") from e
    new = with_allows(text, entries, origin, note)
    try:
        write_atomic(path, new)
    except OSError as e:
        raise PolicyError(f"{origin}: cannot write the policy: {e.strerror}") from e
