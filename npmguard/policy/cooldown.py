"""The cool-down (minimum release age) a project already declares to its package manager.

When no policy file sets ``[rules.too-new] days``, the ``too-new`` rule takes the age the
project gives its package manager, so a team keeps one setting instead of two that drift:

- npm 11: ``min-release-age`` (days) and ``min-release-age-exclude`` (names or globs), read
  from the same ``.npmrc`` files and ``npm_config_*`` variables npm reads;
- pnpm 10.16+: ``minimumReleaseAge`` (minutes) and ``minimumReleaseAgeExclude`` (names,
  globs, ``name@1.0.0||1.0.1``) in the nearest ``pnpm-workspace.yaml`` above the lockfile;
- Yarn 4.10+: ``npmMinimalAgeGate`` (a duration: a bare number is minutes, or ``3d``, ``12h``,
  ``1w``…) and ``npmPreapprovedPackages`` (descriptors or name globs) in the nearest
  ``.yarnrc.yml`` that sets it.

When several declare one, the longest wait wins (the strictest setting the team has written
down); its exclusions become the rule's ``exclude`` unless the policy sets that too. Every
value keeps its origin (file:line) for ``npmguard policy show``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npmguard.policy.model import Policy

RULE = "too-new"
_DURATION = re.compile(r"^(?P<num>\d*\.?\d+)(?P<unit>ms|s|m|h|d|w)?$")
_MINUTES = {"ms": 1 / 60000, "s": 1 / 60, "m": 1, "h": 60, "d": 1440, "w": 10080}


@dataclass(frozen=True, slots=True)
class ProjectCooldown:
    """A minimum release age a package manager's config declares, and where."""

    days: float
    exclude: tuple[str, ...]  # package names, globs, or name@range
    source: str  # "pnpm-workspace.yaml:3 (minimumReleaseAge: 1440 minutes)"
    exclude_source: str = ""


def with_project_cooldown(policy: Policy, start_dir: Path) -> Policy:
    """``policy`` with the project's cool-down for ``too-new`` where no policy file sets one."""
    if f"rules.{RULE}.days" in policy.sources:
        return policy
    found = project_cooldown(start_dir)
    if found is None:
        return policy
    options: dict[str, Mapping[str, Any]] = dict(policy.options)
    values = dict(options.get(RULE, {}))
    sources = dict(policy.sources)
    values["days"] = found.days
    sources[f"rules.{RULE}.days"] = found.source
    if found.exclude and f"rules.{RULE}.exclude" not in policy.sources:
        values["exclude"] = found.exclude
        sources[f"rules.{RULE}.exclude"] = found.exclude_source
    options[RULE] = values
    return dataclasses.replace(policy, options=options, sources=sources)


def project_cooldown(
    start_dir: Path, env: Mapping[str, str] | None = None
) -> ProjectCooldown | None:
    """The strictest cool-down the project declares to npm, pnpm or yarn, if any."""
    start = Path(start_dir).resolve()
    found = [c for c in (_pnpm(start), _yarn(start), _npm(start, env)) if c is not None]
    return max(found, key=lambda c: c.days, default=None)


# -- pnpm ---------------------------------------------------------------------------------------


def _pnpm(start: Path) -> ProjectCooldown | None:
    path = _nearest(start, "pnpm-workspace.yaml")
    doc = _yaml_mapping(path) if path is not None else None
    if path is None or doc is None:
        return None
    minutes = _number(doc.get("minimumReleaseAge"))
    if minutes is None or minutes <= 0:
        return None
    exclude = _strings(doc.get("minimumReleaseAgeExclude"))
    return ProjectCooldown(
        days=minutes / 1440,
        exclude=tuple(exclude),
        source=f"{_at(path, 'minimumReleaseAge')} (minimumReleaseAge: {minutes:g} minutes)",
        exclude_source=f"{_at(path, 'minimumReleaseAgeExclude')} (minimumReleaseAgeExclude)",
    )


# -- yarn ---------------------------------------------------------------------------------------


def _yarn(start: Path) -> ProjectCooldown | None:
    """yarn merges every ``.yarnrc.yml`` from the filesystem root down to the project (and the
    home folder's): the nearest that sets a value wins."""
    for folder in (start, *start.parents, Path.home()):
        path = folder / ".yarnrc.yml"
        doc = _yaml_mapping(path) if path.is_file() else None
        if doc is None or "npmMinimalAgeGate" not in doc:
            continue
        raw = doc["npmMinimalAgeGate"]
        minutes = _duration_minutes(raw)
        if minutes is None or minutes <= 0:
            return None
        return ProjectCooldown(
            days=minutes / 1440,
            exclude=tuple(
                p.replace("@npm:", "@", 1) for p in _strings(doc.get("npmPreapprovedPackages"))
            ),
            source=f"{_at(path, 'npmMinimalAgeGate')} (npmMinimalAgeGate: {raw})",
            exclude_source=f"{_at(path, 'npmPreapprovedPackages')} (npmPreapprovedPackages)",
        )
    return None


def _duration_minutes(value: Any) -> float | None:
    """Yarn's DURATION setting in minutes: a bare number is minutes; else ``<n><unit>``."""
    m = _DURATION.match(str(value).strip())
    if m is None:
        return None
    return float(m.group("num")) * _MINUTES[m.group("unit") or "m"]


# -- npm ----------------------------------------------------------------------------------------


def _npm(start: Path, env: Mapping[str, str] | None) -> ProjectCooldown | None:
    from npmguard.registry.npmrc import env_settings, load_npm_config, parse_npmrc

    env = dict(os.environ if env is None else env)
    config = load_npm_config(start, env)
    days = _number(config.get("min-release-age"))
    if days is None or days <= 0:
        return None
    raw_exclude = config.get("min-release-age-exclude")
    exclude = [
        part.strip()
        for item in (raw_exclude if isinstance(raw_exclude, list) else [raw_exclude])
        if isinstance(item, str)
        for part in item.split(",")
        if part.strip()
    ]

    def where(key: str) -> str:
        if key in env_settings(env):
            return f"environment npm_config_{key.replace('-', '_')}"
        for path in reversed(config.sources):  # later files win, as npm layers them
            try:
                text = path.read_text(encoding="utf-8")
            except OSError:
                continue
            if key in parse_npmrc(text, env):
                return _at(path, key, npmrc=True)
        return ".npmrc"

    return ProjectCooldown(
        days=days,
        exclude=tuple(exclude),
        source=f"{where('min-release-age')} (min-release-age: {days:g} days)",
        exclude_source=f"{where('min-release-age-exclude')} (min-release-age-exclude)",
    )


# -- helpers ------------------------------------------------------------------------------------


def _nearest(start: Path, name: str) -> Path | None:
    return next((f / name for f in (start, *start.parents) if (f / name).is_file()), None)


def _yaml_mapping(path: Path) -> dict[str, Any] | None:
    """A YAML file's top-level mapping, or None when it cannot be read (a broken config is
    the package manager's to report; here it only means no cool-down is declared)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return doc if isinstance(doc, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _at(path: Path, key: str, *, npmrc: bool = False) -> str:
    """``file:line`` of ``key`` in a YAML or .npmrc file (the file alone if not found)."""
    pattern = (
        re.compile(rf"^\s*{re.escape(key)}(\[\])?\s*=")
        if npmrc
        else re.compile(rf"^['\"]?{re.escape(key)}['\"]?\s*:")
    )
    shown = _display(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return shown
    number = next((i for i, line in enumerate(lines, 1) if pattern.match(line)), None)
    return f"{shown}:{number}" if number else shown


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)
