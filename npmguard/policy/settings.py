"""The ``[settings]`` table of a policy file, described once.

Each :class:`Setting` names its TOML key, the :class:`~npmguard.policy.model.Policy` field it
sets, its kind, its default and a description. The parser (:mod:`npmguard.policy.parse`),
the ``Policy`` defaults, the JSON schema (:mod:`npmguard.policy.schema`), ``policy show``
and the ``policy init`` template all read this table; none lists the settings again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from npmguard.model import Level

Kind = Literal["level", "choice", "bool", "registries", "cache-url"]


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # under [settings]: fail-on
    field: str  # the Policy attribute: fail_on
    kind: Kind
    default: Any
    description: str
    choices: tuple[str, ...] = ()  # for "level" and "choice"
    example: str = ""  # a value to show in the template, when not the default

    @property
    def toml_default(self) -> str:
        """The default as it would be written in TOML."""
        value = self.example or self.default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Level):
            return f'"{value}"'
        if isinstance(value, str) and not value.startswith("["):
            return f'"{value}"'
        return str(value) if not isinstance(value, tuple) else "[]"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "fail-on",
        "fail_on",
        "level",
        Level.BLOCK,
        "The lowest finding level that fails `npmguard check` (exit 1).",
        ("block", "warn", "info"),
    ),
    Setting(
        "prompt-on",
        "prompt_on",
        "level",
        Level.WARN,
        "The lowest level the npm wrapper asks about on a terminal.",
        ("block", "warn", "info"),
    ),
    Setting(
        "on-unreachable",
        "on_unreachable",
        "choice",
        "fail",
        "Registry unreachable or failing (docs/limits.md) and nothing cached: fail (exit 3) "
        "or warn.",
        ("fail", "warn"),
    ),
    Setting(
        "noninteractive-warn",
        "noninteractive_warn",
        "choice",
        "proceed",
        "What warnings do under the npm wrapper when there is no terminal: proceed or block.",
        ("proceed", "block"),
    ),
    Setting(
        "allowed-registries",
        "allowed_registries",
        "registries",
        (),
        "Registries lockfile entries may resolve from, besides .npmrc's.",
        example='["https://npm.example.com/"]',
    ),
    Setting(
        "cache-url",
        "cache_url",
        "cache-url",
        "",
        "The team cache (redis:// or rediss://) every developer and CI runner shares; no "
        "password here: it comes from NPMGUARD_CACHE_PASSWORD.",
        example="rediss://npmguard-cache.example.com:6380/0",
    ),
    Setting("include-dev", "include_dev", "bool", True, "Check devDependencies too."),
    Setting("include-optional", "include_optional", "bool", True, "Check optional dependencies."),
    Setting("include-peer", "include_peer", "bool", True, "Check peer dependencies."),
)

BY_KEY = {s.key: s for s in SETTINGS}
BY_FIELD = {s.field: s for s in SETTINGS}
DEFAULTS: dict[str, Any] = {s.field: s.default for s in SETTINGS}  # Policy field -> default
