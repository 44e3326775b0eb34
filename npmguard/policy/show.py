"""The effective policy as people read it: every value with the file and line it came from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from npmguard.model import Level
from npmguard.policy.model import AllowEntry, DenyEntry, Policy

DEFAULT_SOURCE = "default"


@dataclass(frozen=True, slots=True)
class ShownValue:
    key: str  # TOML key path: settings.fail-on, rules.too-new.days
    value: Any  # as it would be written in TOML
    source: str  # "file:line", or "default" (the rule registry / built-in)


def _plain(value: Any) -> Any:
    if isinstance(value, Level):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def effective_values(policy: Policy) -> list[ShownValue]:
    """Settings, then every registered rule's level and options, in registry order."""
    from npmguard.policy.settings import SETTINGS
    from npmguard.rules.base import all_rules

    out = []
    for setting in SETTINGS:
        path = f"settings.{setting.key}"
        out.append(
            ShownValue(
                path,
                _plain(getattr(policy, setting.field)),
                policy.sources.get(path, DEFAULT_SOURCE),
            )
        )
    for rule_id, cls in all_rules().items():
        path = f"rules.{rule_id}.level"
        level = policy.level_for(rule_id, cls.level)
        out.append(ShownValue(path, str(level), policy.sources.get(path, DEFAULT_SOURCE)))
        for name, option in cls.options.items():
            path = f"rules.{rule_id}.{name.replace('_', '-')}"
            value = policy.options.get(rule_id, {}).get(name, option.default)
            out.append(ShownValue(path, _plain(value), policy.sources.get(path, DEFAULT_SOURCE)))
    return out


def _entry_dict(entry: AllowEntry | DenyEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"package": entry.matcher.package}
    if entry.matcher.version is not None:
        data["version"] = entry.matcher.version
    if isinstance(entry, AllowEntry):
        if entry.rules is not None:
            data["rules"] = list(entry.rules)
        if entry.expires is not None:
            data["expires"] = entry.expires
    data["reason"] = entry.reason
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def _entry_lines(header: str, entries: Sequence[AllowEntry | DenyEntry], width: int) -> list[str]:
    out = []
    for entry in entries:
        out += ["", f"[[{header}]]".ljust(width) + f"  # {entry.source}"]
        out += [f"{k} = {_toml_value(v)}" for k, v in _entry_dict(entry).items()]
    return out


def render_toml(policy: Policy, *, with_sources: bool = True) -> str:
    """The effective policy as one TOML file (it loads back to the same policy)."""
    values = effective_values(policy)
    rows: list[tuple[str, str]] = []
    table = ""
    for v in values:
        section, _, rest = v.key.rpartition(".")
        if section != table:
            rows.append(("", ""))
            rows.append((f"[{section}]", ""))
            table = section
        rows.append((f"{rest} = {_toml_value(v.value)}", v.source))
    width = max(len(text) for text, _ in rows)
    lines = ["# npmguard effective policy; files read, most specific first:"]
    lines += [f"#   {name}" for name in policy.files or ("(none: built-in defaults)",)]
    if policy.copies:
        lines.append("# policies named by URL, as this run got them:")
        lines += [f"#   {copy.describe()}" for copy in policy.copies]
    for text, source in rows:
        lines.append(f"{text.ljust(width)}  # {source}" if with_sources and source else text)
    lines += _entry_lines("allow", policy.allow, width)
    lines += _entry_lines("deny", policy.deny, width)
    return "\n".join(lines).rstrip() + "\n"


def render_json(policy: Policy) -> str:
    data = {
        "files": list(policy.files),
        "values": [
            {"key": v.key, "value": v.value, "source": v.source} for v in effective_values(policy)
        ],
        "allow": [
            {**_entry_dict(e), "source": e.source}
            | ({"expires": e.expires.isoformat()} if e.expires else {})
            for e in policy.allow
        ],
        "deny": [{**_entry_dict(e), "source": e.source} for e in policy.deny],
        "copies": [
            {
                "url": c.url,
                "state": c.state,
                "fetched_at": c.fetched_at.isoformat(timespec="seconds"),
                "description": c.describe(),
            }
            for c in policy.copies
        ],
    }
    return json.dumps(data, indent=2) + "\n"
