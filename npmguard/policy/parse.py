"""One policy file's text -> a validated ``Layer``. Merging layers lives in ``policy.load``.

Every error names the file, the line (where TOML or a scan of the text gives one), the key
path, and what is allowed instead. A file is read to the end: every error in it is reported
(:class:`~npmguard.errors.PolicyErrors`), not only the first. Setting keys and rule options
may be written with hyphens or underscores (``fail-on`` / ``fail_on``), as rule options
always could.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TypeVar

from npmguard.errors import PolicyError, PolicyErrors
from npmguard.model import Level
from npmguard.policy.lines import key_lines, line_of, syntax_position
from npmguard.policy.model import AllowEntry, DenyEntry, PackageMatcher
from npmguard.policy.settings import BY_KEY, Setting

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Layer", "parse_layer", "parse_text", "tomllib"]

T = TypeVar("T")

TOP_KEYS = ("requires-npmguard", "extends", "settings", "rules", "allow", "deny")
ALLOW_KEYS = ("package", "version", "rules", "reason", "expires")
DENY_KEYS = ("package", "version", "reason")
LEVELS = ("block", "warn", "info", "off")


@dataclass(frozen=True)
class Layer:
    """What one file sets, each value with the ``file:line`` it came from."""

    origin: str  # the file as shown to people
    extends: tuple[tuple[str, str], ...] = ()  # (target as written, "file:line")
    levels: Mapping[str, tuple[Level, str]] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, tuple[Any, str]]] = field(default_factory=dict)
    settings: Mapping[str, tuple[Any, str]] = field(default_factory=dict)  # Policy field name
    allow: tuple[AllowEntry, ...] = ()
    deny: tuple[DenyEntry, ...] = ()


class _Doc:
    """A parsed file plus what is needed to point at a line in it."""

    def __init__(self, origin: str, text: str) -> None:
        self.origin = origin
        self.lines = key_lines(text)
        self.errors: list[PolicyError] = []  # every problem found so far, in file order

    def where(self, path: str) -> str:
        line = line_of(self.lines, path)
        return f"{self.origin}:{line}" if line else self.origin

    def error(self, path: str, problem: str, allowed: str = "") -> PolicyError:
        err = PolicyError(f"{self.where(path)}: {path}: {problem}", hint=allowed)
        err.line = line_of(self.lines, path)
        return err

    def attempt(self, default: T, parse: Callable[..., T], *args: Any) -> T:
        """``parse(*args)``, or ``default`` with its error kept, so the rest of the file is
        still read and every error is reported at once."""
        try:
            return parse(*args)
        except PolicyError as err:
            self.errors.append(err)
            return default


def _suggest(word: str, choices: Sequence[str]) -> str:
    import difflib  # only for a policy with a mistake in it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def _unknown_keys(doc: _Doc, table: Mapping[str, Any], allowed: Sequence[str], at: str) -> None:
    """Keep an error for every key of ``table`` not in ``allowed``."""
    for key in table:
        if key not in allowed:
            path = f"{at}.{key}" if at else key
            doc.errors.append(
                doc.error(
                    path,
                    f"unknown key{_suggest(key, allowed)}",
                    "allowed keys: " + ", ".join(allowed),
                )
            )


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (date, datetime)):
        return "a date"
    return type(value).__name__


def _fits(value: Any, default: Any) -> bool:
    """Whether ``value`` has the type of an option whose default is ``default``."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, list)
    if default is None:
        return True
    return isinstance(value, type(default))


def parse_text(text: str, origin: str, *, version: str) -> Layer:
    """Validate one policy file. ``version`` is the running npmguard's, for requires-npmguard.

    Raises :class:`PolicyError` for the one problem of a file with one, else
    :class:`PolicyErrors` with all of them in file order."""
    layer, errors = parse_layer(text, origin, version=version)
    if errors:
        raise combine_errors(errors)
    return layer


def combine_errors(errors: Sequence[PolicyError]) -> PolicyError:
    """One error to raise for ``errors`` (at least one): itself when alone."""
    return errors[0] if len(errors) == 1 else PolicyErrors(errors)


def parse_layer(text: str, origin: str, *, version: str) -> tuple[Layer, list[PolicyError]]:
    """The valid part of one policy file and every error in it (in line order).

    A syntax error, and a ``requires-npmguard`` this version does not meet, are the only
    errors reported alone: nothing else in such a file can be read meaningfully."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        pos = syntax_position(str(e))
        where = f"{origin}:{pos[0]}:{pos[1]}" if pos else origin
        raise PolicyError(f"{where}: not valid TOML: {e}") from e
    except RecursionError:
        raise PolicyError(
            f"{origin}: not a policy npmguard will read: arrays or tables nested too deeply"
        ) from None
    except ValueError as e:  # an integer past Python's 4,300-digit limit, and the like
        why = "an integer longer than 4,300 digits" if "digits" in str(e) else str(e)
        raise PolicyError(f"{origin}: not a policy npmguard will read: {why}") from e
    doc = _Doc(origin, text)
    _check_requires(doc, data.get("requires-npmguard"), version)
    _unknown_keys(doc, data, TOP_KEYS, "")
    levels, options = _rules(doc, data.get("rules", {}))
    allow = [
        doc.attempt(None, _allow, doc, i, e) for i, e in enumerate(_tables(doc, data, "allow"))
    ]
    deny = [doc.attempt(None, _deny, doc, i, e) for i, e in enumerate(_tables(doc, data, "deny"))]
    layer = Layer(
        origin=origin,
        extends=doc.attempt((), _extends, doc, data.get("extends", [])),
        levels=levels,
        options=options,
        settings=_settings(doc, data.get("settings", {})),
        allow=tuple(a for a in allow if a is not None),
        deny=tuple(d for d in deny if d is not None),
    )
    errors = sorted(doc.errors, key=lambda e: e.line or 0)  # stable: same line keeps its order
    return layer, errors


def _check_requires(doc: _Doc, spec: Any, version: str) -> None:
    if spec is None:
        return
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not isinstance(spec, str):
        raise doc.error("requires-npmguard", f"must be a string, not {_type_name(spec)}")
    try:
        wanted = SpecifierSet(spec)
    except InvalidSpecifier:
        raise doc.error(
            "requires-npmguard",
            f"{spec!r} is not a version specifier",
            'a PEP 440 specifier such as ">=0.3" or ">=0.3,<1"',
        ) from None
    if not wanted.contains(version, prereleases=True):
        raise doc.error(
            "requires-npmguard",
            f"this policy needs npmguard {spec}, but this is npmguard {version}",
            f"install npmguard {spec} as its README's installation section says (it is not on "
            "PyPI: a package of that name there is not this project)",
        )


def _extends(doc: _Doc, raw: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise doc.error(
            "extends",
            "must be a list of file paths or URLs",
            'e.g. ["../org.toml", "https://example.com/npmguard.toml", "npmguard:strict"]',
        )
    return tuple((x.strip(), doc.where("extends")) for x in raw)


def _level(doc: _Doc, path: str, value: Any, allowed: Sequence[str] = LEVELS) -> Level:
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        shown = repr(value) if isinstance(value, str) else _type_name(value)
        raise doc.error(path, f"{shown} is not a level", "one of: " + ", ".join(allowed))
    return Level.parse(value)


def _rules(
    doc: _Doc, raw: Any
) -> tuple[dict[str, tuple[Level, str]], dict[str, dict[str, tuple[Any, str]]]]:
    from npmguard.rules.base import all_rules

    levels: dict[str, tuple[Level, str]] = {}
    options: dict[str, dict[str, tuple[Any, str]]] = {}
    if not isinstance(raw, dict):
        doc.errors.append(
            doc.error("rules", "must be a table", '[rules] with <rule-id> = "warn" entries')
        )
        return levels, options
    registry = all_rules()
    for rule_id, value in raw.items():
        path = f"rules.{rule_id}"
        if rule_id not in registry:
            doc.errors.append(
                doc.error(
                    path,
                    f"unknown rule id{_suggest(rule_id, list(registry))}",
                    "`npmguard rules` lists every rule id",
                )
            )
            continue
        if isinstance(value, str):
            level = doc.attempt(None, _level, doc, path, value)
            if level is not None:
                levels[rule_id] = (level, doc.where(path))
            continue
        if not isinstance(value, dict):
            doc.errors.append(
                doc.error(
                    path,
                    f"must be a level or a table, not {_type_name(value)}",
                    f'{rule_id} = "warn", or [rules.{rule_id}] with level and options',
                )
            )
            continue
        for key, setting in value.items():
            key_path = f"{path}.{key}"
            if key == "level":
                level = doc.attempt(None, _level, doc, key_path, setting)
                if level is not None:
                    levels[rule_id] = (level, doc.where(key_path))
                continue
            name = doc.attempt("", _option, doc, registry[rule_id], key_path, key, setting)
            if name:
                options.setdefault(rule_id, {})[name] = (setting, doc.where(key_path))
    return levels, options


def _option(doc: _Doc, rule: Any, path: str, key: str, value: Any) -> str:
    """The rule's own name of option ``key`` (written with hyphens or underscores, whichever
    the rule uses), after checking ``value`` has its type."""
    known = rule.options
    by_canon = {name.replace("_", "-"): name for name in known}
    allowed = ["level", *by_canon]
    name = by_canon.get(key.replace("_", "-"), "")
    if not name:
        raise doc.error(
            path,
            f"unknown option for {rule.id}{_suggest(key.replace('_', '-'), allowed)}",
            "allowed keys: " + ", ".join(allowed),
        )
    default = known[name].default
    if not _fits(value, default):
        raise doc.error(
            path,
            f"must be {_type_name(default)}, not {_type_name(value)}",
            f"{known[name].description} (default {default!r})",
        )
    why = known[name].out_of_range(value)
    if why is not None:
        raise doc.error(path, f"{why}, not {value!r}", known[name].description)
    return str(name)


def _choice(choices: Sequence[str]) -> Callable[[_Doc, str, Any], Any]:
    def parse(doc: _Doc, path: str, value: Any) -> Any:
        if value not in choices:
            shown = repr(value) if isinstance(value, str) else _type_name(value)
            raise doc.error(path, f"{shown} is not allowed", "one of: " + ", ".join(choices))
        return value

    return parse


def _bool(doc: _Doc, path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise doc.error(path, f"must be true or false, not {_type_name(value)}")
    return value


def _registries(doc: _Doc, path: str, value: Any) -> tuple[str, ...]:
    from npmguard.urls import is_http_url, normalise_registry, parse_url

    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise doc.error(path, "must be a list of registry URLs", '["https://npm.example.com/"]')
    for url in value:
        if not is_http_url(parse_url(url)):
            raise doc.error(path, f"{url!r} is not an http(s) URL", '["https://npm.example.com/"]')
    return tuple(normalise_registry(x) for x in value)


def _cache_url(doc: _Doc, path: str, value: Any) -> str:
    from urllib.parse import urlsplit

    example = '"rediss://npmguard-cache.example.com:6380/0"'
    if not isinstance(value, str):
        raise doc.error(path, f"must be a redis:// or rediss:// URL, not {_type_name(value)}")
    if not value:
        return value  # no team cache
    try:
        parts = urlsplit(value)
        scheme, host, password = parts.scheme, parts.hostname, parts.password
    except ValueError:  # a bad port or IPv6 literal
        scheme, host, password = "", None, None
    if scheme not in ("redis", "rediss") or not host:
        raise doc.error(path, "must be a redis:// or rediss:// URL with a host", example)
    if password:
        raise doc.error(
            path,
            "the URL carries a password, and a policy file is committed",
            "remove it here and set NPMGUARD_CACHE_PASSWORD (and NPMGUARD_CACHE_USERNAME) in "
            "the environment: CI secrets, or your shell profile",
        )
    return value


def _setting(doc: _Doc, path: str, setting: Setting, value: Any) -> Any:
    if setting.kind == "cache-url":
        return _cache_url(doc, path, value)
    if setting.kind == "level":
        return _level(doc, path, value, setting.choices)
    if setting.kind == "choice":
        return _choice(setting.choices)(doc, path, value)
    if setting.kind == "bool":
        return _bool(doc, path, value)
    return _registries(doc, path, value)


_MISSING = object()


def _settings(doc: _Doc, raw: Any) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    if not isinstance(raw, dict):
        doc.errors.append(
            doc.error("settings", "must be a table", "[settings] with fail-on, prompt-on, ...")
        )
        return out
    # keys are written with hyphens or underscores: fail-on = fail_on
    _unknown_keys(
        doc,
        {k: v for k, v in raw.items() if k.replace("_", "-") not in BY_KEY},
        list(BY_KEY),
        "settings",
    )
    for key, value in raw.items():
        setting = BY_KEY.get(key.replace("_", "-"))
        if setting is None:
            continue
        path = f"settings.{key}"
        if setting.field in out:
            doc.errors.append(
                doc.error(path, f"set twice (as {setting.key} and {setting.field})", setting.key)
            )
            continue
        parsed = doc.attempt(_MISSING, _setting, doc, path, setting, value)
        if parsed is not _MISSING:
            out[setting.field] = (parsed, doc.where(path))
    return out


def _tables(doc: _Doc, data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    raw = data.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        doc.errors.append(doc.error(key, f"must be an array of tables: [[{key}]] entries"))
        return []
    return raw


def _text(doc: _Doc, path: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if value is None else f"must be a non-empty string ({what})"
        raise doc.error(path, f"{problem}", what)
    return value.strip()


def _matcher(doc: _Doc, at: str, entry: Mapping[str, Any]) -> PackageMatcher:
    from npmguard.semver import valid_range

    package = _text(doc, f"{at}.package", entry.get("package"), 'a name or a scope glob: "@acme/*"')
    if any(c.isspace() for c in package):
        raise doc.error(f"{at}.package", f"{package!r} contains spaces", "a package name or glob")
    version = entry.get("version")
    if version is not None and (not isinstance(version, str) or not valid_range(version)):
        shown = repr(version) if isinstance(version, str) else _type_name(version)
        raise doc.error(
            f"{at}.version",
            f"{shown} is not an npm version range",
            'an npm range such as "1.2.3", "^1.2.0", ">=1 <2" or "1.x || 2.x"',
        )
    return PackageMatcher(package, version)


def _reason(doc: _Doc, at: str, entry: Mapping[str, Any]) -> str:
    return _text(
        doc,
        f"{at}.reason",
        entry.get("reason"),
        "why the package is denied, for reviewers"
        if at.startswith("deny")
        else "why the exception is safe, for reviewers",
    )


def _allow(doc: _Doc, index: int, entry: dict[str, Any]) -> AllowEntry | None:
    from npmguard.rules.base import all_rules

    at = f"allow[{index}]"
    _unknown_keys(doc, entry, ALLOW_KEYS, at)
    matcher = doc.attempt(None, _matcher, doc, at, entry)
    reason = doc.attempt(None, _reason, doc, at, entry)
    rules: tuple[str, ...] | None = None
    if "rules" in entry:
        raw = entry["rules"]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw) or not raw:
            doc.errors.append(
                doc.error(f"{at}.rules", "must be a non-empty list of rule ids", '["too-new"]')
            )
            raw = []
        known = list(all_rules())
        for rule_id in raw:
            if rule_id not in known:
                doc.errors.append(
                    doc.error(
                        f"{at}.rules",
                        f"unknown rule id {rule_id!r}{_suggest(rule_id, known)}",
                        "`npmguard rules` lists every rule id",
                    )
                )
        rules = tuple(raw) or None
    expires = doc.attempt(None, _expires, doc, at, entry.get("expires"))
    if matcher is None or reason is None:
        return None  # its errors are kept
    return AllowEntry(matcher, reason, rules, expires, doc.where(at))


def _expires(doc: _Doc, at: str, raw: Any) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, str):  # a quoted date, as JSON-schema-minded editors write it
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    elif isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    raise doc.error(f"{at}.expires", "must be a date", "a TOML date such as expires = 2026-06-30")


def _deny(doc: _Doc, index: int, entry: dict[str, Any]) -> DenyEntry | None:
    at = f"deny[{index}]"
    _unknown_keys(doc, entry, DENY_KEYS, at)
    matcher = doc.attempt(None, _matcher, doc, at, entry)
    reason = doc.attempt(None, _reason, doc, at, entry)
    if matcher is None or reason is None:
        return None  # its errors are kept
    matcher = replace(matcher, include_prerelease=True)
    return DenyEntry(matcher, reason, doc.where(at))
