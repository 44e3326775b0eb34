"""Finding and loading policy files, as ruff finds its config.

``--policy FILE`` wins; else the nearest ``npmguard.toml`` / ``.npmguard.toml`` walking up from
the lockfile's folder; else ``npmguard.toml`` in the user config dir; else the built-in
``npmguard:default``. ``extends`` chains resolve relative to the file that names them; the file
that extends wins for single values, allow/deny entries accumulate (base first). Whatever no
file sets keeps the rule registry's default.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from npmguard.errors import PolicyError
from npmguard.limits import POLICY_BYTES
from npmguard.policy.model import Policy, PolicyCopy
from npmguard.policy.parse import Layer, combine_errors, parse_layer
from npmguard.urls import redact

log = logging.getLogger(__name__)

POLICY_NAMES = ("npmguard.toml", ".npmguard.toml")
BUILTIN_PREFIX = "npmguard:"
PRESETS = ("default", "strict", "ci")


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a policy file lives: a path, an https URL, or a preset shipped in the package."""

    kind: Literal["path", "url", "builtin"]
    location: str  # absolute path, URL, or preset name

    @property
    def display(self) -> str:
        if self.kind == "builtin":
            return f"{BUILTIN_PREFIX}{self.location}"
        if self.kind == "url":
            return redact(self.location)
        return _show_path(Path(self.location))


def _show_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def user_policy_path() -> Path:
    from npmguard.paths import config_dir

    return config_dir() / "npmguard.toml"


def find_policy(explicit: Path | str | None, start_dir: Path) -> PolicySource:
    """Which policy applies: see the module docstring for the order. ``explicit`` (``--policy``)
    may be a path, ``npmguard:PRESET`` or an https URL (pass URLs as ``str``: ``Path``
    would fold their ``//``)."""
    if explicit is not None and str(explicit).startswith(BUILTIN_PREFIX):
        check_builtin(str(explicit)[len(BUILTIN_PREFIX) :])
        return PolicySource("builtin", str(explicit)[len(BUILTIN_PREFIX) :])
    if isinstance(explicit, str) and "://" in explicit:
        from npmguard.policy.fetch import check_url

        check_url(explicit, "")
        return PolicySource("url", explicit)
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise PolicyError(f"{path}: no such policy file", hint="check the policy file's path")
        return PolicySource("path", str(path.resolve()))
    start = Path(start_dir).expanduser().resolve()
    for folder in (start, *start.parents):
        found = [folder / name for name in POLICY_NAMES if (folder / name).is_file()]
        if found:
            if len(found) > 1:
                log.warning("%s: ignored, %s in the same folder wins", found[1], found[0].name)
            return PolicySource("path", str(found[0]))
    user = user_policy_path()
    if user.is_file():
        return PolicySource("path", str(user.resolve()))
    return PolicySource("builtin", "default")


def load_policy(
    explicit: Path | str | None,
    start_dir: Path,
    *,
    cache_dir: Path | None = None,
    refresh: bool = False,
) -> Policy:
    """The effective policy for a project in ``start_dir`` (``--policy`` wins). Policies named
    by URL are cached under ``cache_dir`` (default: :func:`npmguard.paths.cache_dir`);
    ``refresh`` fetches them again. Where no policy file sets the ``too-new`` age, the one the
    project declares to npm, pnpm or yarn applies (:mod:`npmguard.policy.cooldown`)."""
    from npmguard.policy.cooldown import with_project_cooldown

    source = find_policy(explicit, start_dir)
    log.info("policy: %s", source.display)
    policy = load_source(source, cache_dir=cache_dir, refresh=refresh)
    return with_project_cooldown(policy, start_dir)


def load_policy_file(path: Path | str, *, cache_dir: Path | None = None) -> Policy:
    """Load one named file (and what it extends), as ``npmguard policy validate`` does."""
    return load_policy(path, Path.cwd(), cache_dir=cache_dir)


def load_source(
    source: PolicySource, *, cache_dir: Path | None = None, refresh: bool = False
) -> Policy:
    """The policy ``source`` names, merged with what it extends. Every error in every file
    is collected; raises one :class:`PolicyError` (or :class:`PolicyErrors`) with all of
    them. ``refresh`` fetches policies named by URL again, whatever their cached age."""
    run = _Run([], [], set(), cache_dir, refresh)
    _collect(source, (), "", run)
    if run.errors:
        raise combine_errors(run.errors)
    return replace(merge(run.layers), copies=tuple(run.copies))


def builtin_text(name: str, where: str = "") -> str:
    from npmguard.fsutil import package_data

    check_builtin(name, where)
    return package_data(f"policies/{name}.toml").decode("utf-8")


def check_builtin(name: str, where: str = "") -> None:
    """Refuse a preset name npmguard does not ship (``where``: the extends line)."""
    if name in PRESETS:
        return
    import difflib

    close = difflib.get_close_matches(name, PRESETS, n=1, cutoff=0.6)
    guess = f'; did you mean "{BUILTIN_PREFIX}{close[0]}"?' if close else ""
    prefix = f"{where}: extends: " if where else ""
    raise PolicyError(
        f"{prefix}{BUILTIN_PREFIX}{name}: no such built-in policy{guess}",
        hint="built-in policies: " + ", ".join(BUILTIN_PREFIX + p for p in PRESETS),
    )


def _read(source: PolicySource, where: str, run: _Run) -> str:
    if source.kind == "builtin":
        return builtin_text(source.location, where)
    if source.kind == "url":
        from npmguard.policy.fetch import fetch_policy_text

        text, copy = fetch_policy_text(
            source.location, where, cache_dir=run.cache_dir, refresh=run.refresh
        )
        run.copies.append(copy)
        return text
    path = Path(source.location)
    prefix = f"{where}: extends: " if where else ""
    try:
        with path.open("rb") as fh:
            data = fh.read(POLICY_BYTES + 1)
        if len(data) > POLICY_BYTES:
            raise PolicyError(
                f"{prefix}{source.display}: larger than {POLICY_BYTES >> 20} MB; not a policy "
                "npmguard will read"
            )
        return data.decode("utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{prefix}{source.display}: no such policy file") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{prefix}{source.display}: not UTF-8 text") from None
    except OSError as e:
        raise PolicyError(f"{prefix}{source.display}: cannot read: {e.strerror}") from e


def resolve_extends(target: str, parent: PolicySource, where: str) -> PolicySource:
    """The source ``target`` (as written in ``extends``) names, relative to ``parent``."""
    if target.startswith(BUILTIN_PREFIX):
        check_builtin(target[len(BUILTIN_PREFIX) :], where)
        return PolicySource("builtin", target[len(BUILTIN_PREFIX) :])
    if "://" in target:
        from npmguard.policy.fetch import check_url

        check_url(target, where)
        return PolicySource("url", target)
    if parent.kind == "url":
        from npmguard.urls import parse_url

        joined = parse_url(target, parent.location)
        return PolicySource("url", joined.href if joined is not None else target)
    if parent.kind == "builtin":
        raise PolicyError(f"{where}: extends: {target}: built-in policies extend only npmguard:*")
    base = Path(parent.location).parent
    try:
        return PolicySource("path", str((base / Path(target).expanduser()).resolve()))
    except (ValueError, OSError, RuntimeError) as e:  # a NUL byte, a symlink loop
        raise PolicyError(
            f"{where}: extends: {target!r}: not a policy file path ({e})",
            hint="name a policy file, npmguard:PRESET or an https URL",
        ) from None


def _identity(source: PolicySource) -> str:
    return f"{source.kind}:{source.location}"


@dataclass
class _Run:
    """One load: the layers read (bases first), the errors found, the files done."""

    layers: list[Layer]
    errors: list[PolicyError]
    done: set[str]
    cache_dir: Path | None
    refresh: bool
    copies: list[PolicyCopy] = field(default_factory=list)


def _collect(source: PolicySource, chain: tuple[PolicySource, ...], where: str, run: _Run) -> None:
    """Depth first, bases before the file that extends them; each file once. Errors are
    kept in ``run.errors`` and the other files still read, so all are reported at once."""
    ident = _identity(source)
    if any(_identity(s) == ident for s in chain):
        names = " -> ".join(s.display for s in (*chain, source))
        run.errors.append(
            PolicyError(f"{where}: extends loop: {names}", hint="remove one of the extends entries")
        )
        return
    if ident in run.done:
        return
    run.done.add(ident)
    from npmguard import __version__

    try:
        text = _read(source, where, run)
        layer, errors = parse_layer(text, source.display, version=__version__)
    except PolicyError as err:
        run.errors.append(err)
        return
    for target, target_where in layer.extends:
        try:
            base = resolve_extends(target, source, target_where)
        except PolicyError as err:
            err.line = _line(target_where)
            errors.append(err)
            continue
        _collect(base, (*chain, source), target_where, run)
    run.errors += sorted(errors, key=lambda e: e.line or 0)  # this file's, in line order
    run.layers.append(layer)


def _line(where: str) -> int | None:
    """The line of a ``file:line`` location."""
    tail = where.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def merge(layers: Iterable[Layer]) -> Policy:
    """Layers base first -> one ``Policy``; later layers win for single values."""
    levels: dict[str, Any] = {}
    options: dict[str, dict[str, Any]] = {}
    settings: dict[str, Any] = {}
    sources: dict[str, str] = {}
    allow: list[Any] = []
    deny: list[Any] = []
    files: list[str] = []
    from npmguard.policy.settings import BY_FIELD

    for layer in layers:
        files.append(layer.origin)
        for rule_id, (level, src) in layer.levels.items():
            levels[rule_id] = level
            sources[f"rules.{rule_id}.level"] = src
        for rule_id, values in layer.options.items():
            for name, (value, src) in values.items():
                options.setdefault(rule_id, {})[name] = value
                sources[f"rules.{rule_id}.{name.replace('_', '-')}"] = src
        for field_name, (value, src) in layer.settings.items():
            settings[field_name] = value
            sources[f"settings.{BY_FIELD[field_name].key}"] = src
        allow += layer.allow
        deny += layer.deny
    return Policy(
        levels=levels,
        options=options,
        allow=tuple(allow),
        deny=tuple(deny),
        sources=sources,
        files=tuple(reversed(files)),
        **settings,
    )
