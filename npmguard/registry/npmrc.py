"""npm configuration as npm reads it: ``.npmrc`` files, ``npm_config_*`` variables, credentials.

Layers, lowest priority first (as ``@npmcli/config`` loads them): built-in defaults, the
builtin file (``npmrc`` in npm's own installation folder), the global file (``globalconfig``,
by default ``<prefix>/etc/npmrc``), the user file (``userconfig``, by default ``~/.npmrc``),
the project file (``.npmrc`` next to the nearest ``package.json``), then ``npm_config_*``
environment variables; where each file is comes from the layers read before it (see
:func:`load_npm_config`). Files are ini as npm's ``ini`` package parses them (``;``/``#``
comments, quoted values, ``key[]`` arrays); ``${VAR}`` expands in keys and values (``${VAR?}``
is empty when unset; an unset ``${VAR}`` stays as written, as npm leaves it).

Credentials are keyed by "nerf dart" (``//host[:port]/path/:_authToken``) and only ever applied
to URLs on that host and under that path, longest path first, exactly as npm-registry-fetch
matches them. Top-level (un-keyed) ``_authToken``/``_auth`` are ignored, as npm 9+ ignores them.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npmguard.jsontext import loads
from npmguard.limits import FETCH_RETRIES_MAX, FETCH_TIMEOUT_MAX_MS, NPMRC_BYTES
from npmguard.urls import host_of, normalise_registry, parse_url, redact, registry_resolved

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
DEFAULT_FETCH_TIMEOUT = 30.0  # seconds; npm's own default (5 minutes) is too long for a check
DEFAULT_FETCH_RETRIES = 2

_ENV_EXPR = re.compile(r"(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}")
_SECRET_SUFFIXES = (":_authToken", ":_auth", ":_password", ":username", ":keyfile", ":certfile")
_SECRET_KEYS = {"_authToken", "_auth", "_password", "password", "otp"}

ConfigValue = Any  # str | bool | None | list[str]


def env_replace(text: str, env: Mapping[str, str]) -> str:
    """Expand ``${VAR}`` and ``${VAR?}`` as npm does; ``\\${VAR}`` stays literal."""

    def sub(m: re.Match[str]) -> str:
        esc, name, optional = m.group(1), m.group(2), m.group(3)
        if len(esc) % 2:
            return m.group(0)[(len(esc) + 1) // 2 :]
        fallback = "" if optional else "${" + name + "}"
        return esc[len(esc) // 2 :] + env.get(name, fallback)

    return _ENV_EXPR.sub(sub, text)


# JavaScript's whitespace (String.prototype.trim, regex \s): not Python's str.strip(), which
# also strips \x1c-\x1f and \x85 and keeps the byte-order mark
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
_JS_SPACE += "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_S = "[" + re.escape(_JS_SPACE) + "]"
# the ini package (npm 11's ini 5), line by line: lines split at runs of \r and \n only;
# comments and blank lines skipped; `[section]` only from the first column; JavaScript's `.`
# stops at \n, \r, U+2028 and U+2029, so a value holding one makes the line match nothing
_INI_LINES = re.compile(r"[\r\n]+")
_INI_SKIP = re.compile(rf"{_JS_S}*[;#]|{_JS_S}*\Z")
_INI_LINE = re.compile(rf"\[([^\]]*)\]{_JS_S}*\Z|([^=]+)(=([^\n\r\u2028\u2029]*))?\Z")


def _js_trim(text: str) -> str:
    return text.strip(_JS_SPACE)


def _unsafe(raw: str) -> str:
    """An ini value or key as the ``ini`` package reads it: quoted, or cut at ``;``/``#``."""
    val = _js_trim(raw)
    if val[:1] in ("'", '"') and val.endswith(val[0]):  # one quote alone counts, as in ini
        if val[0] == "'":
            val = val[1:-1]
        try:
            parsed = loads(val)
        except ValueError:
            return val
        return parsed if isinstance(parsed, str) else val
    out: list[str] = []
    escaped = False
    for ch in val:
        if escaped:
            out.append(ch if ch in "\\;#" else "\\" + ch)
            escaped = False
        elif ch in ";#":
            break
        elif ch == "\\":
            escaped = True
        else:
            out.append(ch)
    if escaped:
        out.append("\\")
    return _js_trim("".join(out))


def parse_npmrc(text: str, env: Mapping[str, str] | None = None) -> dict[str, ConfigValue]:
    """The settings of one ``.npmrc`` file (top level only; ``[sections]`` are ignored), read
    line by line as npm's ``ini`` package reads them (see ``_INI_LINE``)."""
    env = os.environ if env is None else env
    out: dict[str, ConfigValue] = {}
    in_section = False
    for line in _INI_LINES.split(text):
        if not line or _INI_SKIP.match(line):
            continue
        match = _INI_LINE.match(line)
        if match is None:
            continue
        if match.group(1) is not None:
            in_section = True
            continue
        if in_section:
            continue
        key = _unsafe(match.group(2))
        is_array = len(key) > 2 and key.endswith("[]")
        if is_array:
            key = key[:-2]
        if key == "__proto__":  # ini drops it; ${VAR} expands afterwards (@npmcli/config)
            continue
        key = env_replace(key, env)
        value: ConfigValue
        if match.group(3) is None:
            value = True
        else:
            text_value = env_replace(_unsafe(match.group(4)), env)
            value = {"true": True, "false": False, "null": None}.get(text_value, text_value)
        if is_array:
            current = out.get(key)
            if key not in out:
                out[key] = [value]
            elif isinstance(current, list):
                current.append(value)
            else:
                out[key] = [current, value]
        else:
            out[key] = value
    return out


def env_settings(env: Mapping[str, str]) -> dict[str, ConfigValue]:
    """``npm_config_*`` variables (any case) as config keys: ``npm_config_fetch_retries`` ->
    ``fetch-retries``; keys starting with ``//`` are kept as written."""
    out: dict[str, ConfigValue] = {}
    for env_key, env_val in env.items():
        if not env_key.lower().startswith("npm_config_") or env_val == "":
            continue
        key = env_key[len("npm_config_") :]
        if not key.startswith("//"):
            key = (key[:1] + key[1:].replace("_", "-")).lower()
        out[key] = env_replace(env_val, env)
    return out


def nerf_dart(url: str) -> str:
    """``//host[:port]/path/`` of a URL, as npm keys credentials (scheme, auth, query dropped;
    the URL read as Node reads it, so the key is the one for the host npm contacts)."""
    parsed = parse_url(url)
    if parsed is None:
        return "//"
    path = parsed.pathname or "/"
    return f"//{parsed.host}{path[: path.rfind('/') + 1]}"


def _as_bool(value: ConfigValue, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip().lower() not in ("false", "0", "no", "off")
    return default


def _as_str(value: ConfigValue) -> str | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    return value if isinstance(value, str) and value else None


def _expand_path(value: str, base: Path | None) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path)


@dataclass(frozen=True)
class Registries:
    """Which registry npm fetches each package from, and so which hosts a lockfile may name.

    ``registry_for(name)`` is npm's pickRegistry: ``@scope:registry`` for a scoped name
    (the real name, aliases resolved), else the default ``registry``. ``fetched_from`` is the
    URL ``npm ci`` downloads a ``resolved`` URL from (``replace-registry-host``). The policy's
    ``allowed-registries`` (``also_allowed``) are accepted for every name.
    """

    default: str = DEFAULT_REGISTRY
    scopes: Mapping[str, str] = field(default_factory=dict)  # "@scope" -> registry URL
    replace_host: str = "npmjs"  # replace-registry-host: npmjs, never, always, a host or URL
    also_allowed: tuple[str, ...] = ()

    def registry_for(self, package_name: str) -> str:
        if package_name.startswith("@") and "/" in package_name:
            scope = package_name.split("/", 1)[0]  # as written: npm does not fold its case
            if scope in self.scopes:
                return self.scopes[scope]
        return self.default

    def fetched_from(self, resolved: str) -> str | None:
        """The URL npm fetches for ``resolved``; None when Node cannot parse it."""
        return registry_resolved(resolved, self.default, self.replace_host)

    def allowed_hosts(self, package_name: str) -> tuple[str, ...]:
        """``host[:port]`` of every registry a resolved URL for this name may point at."""
        hosts = []
        for url in (self.registry_for(package_name), *self.also_allowed):
            parsed = parse_url(url)
            if parsed is not None and parsed.hostname:
                hosts.append(parsed.host)
        return tuple(dict.fromkeys(hosts))


@dataclass(frozen=True)
class NpmConfig:
    """The merged npm settings npmguard needs. Build it with :func:`load_npm_config`."""

    registry: str = DEFAULT_REGISTRY
    scopes: Mapping[str, str] = field(default_factory=dict)  # "@scope" -> registry URL
    values: Mapping[str, ConfigValue] = field(default_factory=dict, repr=False)
    sources: tuple[Path, ...] = ()  # the .npmrc files that were read
    project_dir: Path | None = None

    def get(self, key: str, default: ConfigValue = None) -> ConfigValue:
        return self.values.get(key, default)

    def registry_for(self, package_name: str) -> str:
        """The registry npm would fetch this package from (``@scope:registry`` first)."""
        return self.registries().registry_for(package_name)

    def fetched_from(self, resolved: str) -> str | None:
        """The URL npm downloads for a lockfile ``resolved`` URL (see :class:`Registries`)."""
        return self.registries().fetched_from(resolved)

    def registries(self, also_allowed: tuple[str, ...] = ()) -> Registries:
        """The per-name registry view rules use (see :class:`Registries`)."""
        replace = _as_str(self.values.get("replace-registry-host")) or "npmjs"
        return Registries(self.registry, self.scopes, replace, tuple(also_allowed))

    def registry_urls(self) -> tuple[str, ...]:
        """The default registry and every scoped one, normalised, without duplicates."""
        return tuple(dict.fromkeys((self.registry, *self.scopes.values())))

    # --- credentials -----------------------------------------------------------------------

    def _auth_key(self, url: str) -> str | None:
        """The key holding credentials for ``url``: ``//host[:port]/path`` walked up one part
        at a time, longest first, as npm-registry-fetch does. Never for a URL Node rejects."""
        parsed = parse_url(url)
        if parsed is None:
            return None
        key = f"//{parsed.host}{parsed.pathname}"
        while len(key) > 2:
            if (
                self.values.get(f"{key}:_authToken")
                or self.values.get(f"{key}:_auth")
                or (self.values.get(f"{key}:username") and self.values.get(f"{key}:_password"))
            ):
                return key
            # the last path segment off, or the trailing "/" (npm's regex, without a regex:
            # /([^/]+|\/)$/ backtracked over a 40,000-character host for hours)
            key = key[:-1] if key.endswith("/") else key[: key.rfind("/") + 1]
        return None

    def auth_for(self, url: str, registry: str | None = None) -> dict[str, str] | None:
        """The Authorization header for ``url``, or None.

        Only credentials keyed to ``url``'s own host (and a path prefix of it) are used; a URL
        with no key of its own borrows the credentials of a registry on the very same host and
        port (npm does this for tarballs served beside the registry). Never across hosts.
        """
        key = self._auth_key(url)
        target = parse_url(url)
        if key is None and target is not None:
            candidates = [registry] if registry else list(self.registry_urls())
            for reg in candidates:
                r = parse_url(reg)
                if r is not None and r.host == target.host and reg != url:
                    key = self._auth_key(reg)
                    if key is not None:
                        break
        if key is None:
            return None
        token = _as_str(self.values.get(f"{key}:_authToken"))
        if token:
            return {"Authorization": f"Bearer {token}"}
        basic = _as_str(self.values.get(f"{key}:_auth"))
        if basic:
            return {"Authorization": f"Basic {basic}"}
        user = _as_str(self.values.get(f"{key}:username"))
        encoded = _as_str(self.values.get(f"{key}:_password"))
        if user and encoded:
            try:
                password = base64.b64decode(encoded).decode("utf-8")
            except ValueError:
                return None
            pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        return None

    # --- transport -----------------------------------------------------------------------------

    def proxies_for(self, url: str) -> dict[str, str]:
        """``requests``-style proxies for ``url`` ({} for none), honouring ``noproxy``."""
        parsed = parse_url(url)
        scheme = parsed.scheme if parsed is not None else ""
        env = os.environ
        if scheme == "https":
            proxy = (
                _as_str(self.values.get("https-proxy"))
                or _as_str(self.values.get("proxy"))
                or env.get("HTTPS_PROXY")
                or env.get("https_proxy")
                or env.get("HTTP_PROXY")
                or env.get("http_proxy")
            )
        else:
            proxy = (
                _as_str(self.values.get("proxy")) or env.get("HTTP_PROXY") or env.get("http_proxy")
            )
        if not proxy or self._no_proxy(url):
            return {}
        return {scheme: proxy}

    def _no_proxy(self, url: str) -> bool:
        raw = self.values.get("noproxy")
        if isinstance(raw, list):
            raw = ",".join(str(x) for x in raw)
        if not isinstance(raw, str) or not raw:
            raw = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
        host = host_of(url)
        host_parts = host.split(".")[::-1]
        for entry in re.split(r"[\s,]+", raw):
            entry = entry.strip().lower()
            if entry == "*":
                return True
            entry = entry.split(":", 1)[0]
            parts = [p for p in entry.split(".") if p][::-1]
            if parts and host_parts[: len(parts)] == parts:
                return True
        return False

    @property
    def verify(self) -> bool | str:
        """False when ``strict-ssl=false``; a CA file path when ``cafile`` is set; else True."""
        if not _as_bool(self.values.get("strict-ssl"), True):
            return False
        cafile = _as_str(self.values.get("cafile"))
        return _expand_path(cafile, self.project_dir) if cafile else True

    @property
    def ca(self) -> tuple[str, ...]:
        """Inline certificates from ``ca=`` / ``ca[]=`` (PEM text)."""
        raw = self.values.get("ca")
        items = raw if isinstance(raw, list) else [raw]
        return tuple(x.replace("\\n", "\n") for x in items if isinstance(x, str) and x)

    @property
    def fetch_timeout(self) -> float:
        """Seconds (``fetch-timeout`` is in milliseconds); 30 s unless configured. It bounds
        each attempt as a whole, body included (see :mod:`npmguard.registry.bounded`); more
        than Node's timer limit (2^31-1 ms) is read as that limit."""
        raw = _as_str(self.values.get("fetch-timeout"))
        try:
            ms = float(raw) if raw is not None else 0.0
        except ValueError:
            ms = 0.0
        if not ms > 0:  # also NaN
            return DEFAULT_FETCH_TIMEOUT
        return min(ms, FETCH_TIMEOUT_MAX_MS) / 1000.0

    @property
    def fetch_retries(self) -> int:
        """Retries after a failed attempt (2 unless configured, at most 10)."""
        raw = _as_str(self.values.get("fetch-retries"))
        try:
            retries = max(0, int(raw)) if raw is not None else DEFAULT_FETCH_RETRIES
        except ValueError:
            return DEFAULT_FETCH_RETRIES
        return min(retries, FETCH_RETRIES_MAX)

    def __repr__(self) -> str:
        shown = {
            k: ("***" if k in _SECRET_KEYS or k.endswith(_SECRET_SUFFIXES) else v)
            for k, v in self.values.items()
        }
        shown = {k: redact(v) if isinstance(v, str) and "://" in v else v for k, v in shown.items()}
        return (
            f"NpmConfig(registry={redact(self.registry)!r}, scopes={dict(self.scopes)!r}, "
            f"sources={[str(s) for s in self.sources]!r}, values={shown!r})"
        )

    __str__ = __repr__


def find_project_dir(start: Path) -> Path:
    """npm's local prefix: the nearest folder up from ``start`` with a package.json or
    node_modules; ``start`` itself when there is none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "package.json").is_file() or (folder / "node_modules").is_dir():
            return folder
    return start


def npm_root(env: Mapping[str, str] | None = None) -> Path | None:
    """npm's installation folder (``package.json``, ``lib/``, ``bin/``) of the npm the wrapper
    runs (``NPMGUARD_NPM``, else ``npm`` on ``env``'s PATH, as ``wrapper.npmrun`` finds it),
    or None when there is none. Its ``npmrc`` is npm's builtin config file."""
    env = os.environ if env is None else env
    exe = env.get("NPMGUARD_NPM") or shutil.which("npm", path=env.get("PATH"))
    if not exe:
        return None
    real = Path(exe).resolve()
    candidates = (real.parent.parent, real.parent.parent / "lib" / "node_modules" / "npm")
    return next((c for c in candidates if (c / "lib/utils/cmd-list.js").is_file()), None)


def _home(env: Mapping[str, str]) -> str:
    """npm's ``home``: ``$HOME``, else the account's home folder (Node's ``os.homedir()``)."""
    if env.get("HOME"):
        return env["HOME"]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError):  # pragma: no cover - Windows, or a uid without an entry
        return str(Path.home())


def _npm_path(value: ConfigValue, home: str, cwd: str) -> Path | None:
    """A ``path``-typed setting as @npmcli/config's parseField reads it: trimmed (``${VAR}``
    was expanded when the layer was read), a leading ``~/`` under ``home``, anything else
    resolved against ``cwd`` (npm's working folder) and normalised as Node's
    ``path.resolve`` does. None for a value that is not text (``userconfig`` with no ``=``):
    npm cannot read a file there either."""
    if not isinstance(value, str):
        return None
    text = _js_trim(value)
    if text.startswith("~/") and home:
        text = os.path.join(home, text[2:])
    full = os.path.normpath(os.path.join(cwd, text))
    if full.startswith("//"):  # path.resolve keeps one leading slash; POSIX normpath two
        full = "/" + full.lstrip("/")
    return Path(full)


def _default_prefix(env: Mapping[str, str]) -> str | None:
    """npm's default global prefix: ``$PREFIX``, else two folders up from the node that runs
    npm (``/usr/bin/node`` -> ``/usr``), under ``$DESTDIR`` when set; None without node."""
    if env.get("PREFIX"):
        return env["PREFIX"]
    node = shutil.which("node", path=env.get("PATH"))
    if not node:
        return None
    prefix = str(Path(node).resolve().parent.parent)
    destdir = env.get("DESTDIR")
    return os.path.normpath(destdir + "/" + prefix) if destdir else prefix


def _read(path: Path | None, env: Mapping[str, str]) -> dict[str, ConfigValue] | None:
    """One ``.npmrc`` file's settings, or None when npm would skip it (missing, a folder,
    unreadable: npm logs and goes on). Read as UTF-8 with bad bytes replaced, as Node's
    ``readFile(file, 'utf8')`` does; more than ``NPMRC_BYTES`` is a UsageError."""
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            data = fh.read(NPMRC_BYTES + 1)
    except OSError:
        return None
    if len(data) > NPMRC_BYTES:
        from npmguard.errors import UsageError

        raise UsageError(
            f"{path}: larger than {NPMRC_BYTES >> 20} MB; not an .npmrc npmguard will read",
            hint="an .npmrc holds a few settings; check what this file is",
        )
    return parse_npmrc(data.decode("utf-8", errors="replace"), env)


_UNSET = object()


def _first(key: str, *layers: Mapping[str, ConfigValue] | None) -> ConfigValue:
    """``key`` from the first layer (highest priority first) that sets it, else ``_UNSET``."""
    for layer in layers:
        if layer is not None and key in layer:
            return layer[key]
    return _UNSET


def _global_config_path(
    loaded: tuple[Mapping[str, ConfigValue] | None, ...],
    home: str,
    cwd: str,
    env: Mapping[str, str],
) -> Path | None:
    """Where npm reads the global file, given the layers ``loaded`` before it (builtin, env,
    project, user: load order). npm's default ``globalconfig`` is a getter,
    ``<prefix>/etc/npmrc``, with a setter that turns it into a plain default: so the first
    layer to set ``globalconfig`` puts its value at the default layer's priority, below the
    layers loaded later (npm 11: ``npm_config_globalconfig=a`` loses to ``globalconfig=b`` in
    ``~/.npmrc``). ``prefix`` is read from env > project > user > builtin, as the getter does.
    """
    builtin, env_layer, project, user = loaded
    first = next((x for x in loaded if x is not None and "globalconfig" in x), None)
    by_priority = (env_layer, project, user, builtin)
    value = _first("globalconfig", *(x for x in by_priority if x is not first))
    if value is _UNSET and first is not None:
        value = first["globalconfig"]
    if value is not _UNSET:
        return _npm_path(value, home, cwd)
    prefix = _first("prefix", *by_priority)
    if prefix is _UNSET:
        prefix = _default_prefix(env)
    prefix_path = _npm_path(prefix, home, cwd)
    return prefix_path / "etc" / "npmrc" if prefix_path is not None else None


def load_npm_config(project_dir: Path, env: Mapping[str, str] | None = None) -> NpmConfig:
    """The npm settings that apply when npm runs in ``project_dir``.

    Layers and their order are @npmcli/config's ``load()``: defaults, the builtin file
    (``<npm root>/npmrc`` of the npm the wrapper runs; none without npm), ``npm_config_*``
    variables, the project file (``.npmrc`` in npm's local prefix; skipped when it is the user
    file, or in global mode), the user file (``userconfig``), the global file
    (``globalconfig``, by default ``<prefix>/etc/npmrc``); priority env > project > user >
    global > builtin > defaults. Each file is located with the settings loaded before it, as
    npm does: ``userconfig`` from env, project, builtin; ``globalconfig`` and ``prefix`` from
    env, project, user, builtin, except that the first of those (in load order) to set
    ``globalconfig`` ranks lowest, as in npm (see ``_global_config_path``). Paths expand
    ``${VAR}`` and a leading ``~/`` and are resolved against ``project_dir``, npm's working
    folder. Command-line flags are not a layer
    here. Raises UsageError for a file over ``NPMRC_BYTES``.
    """
    env = dict(os.environ if env is None else env)
    cwd = str(Path(project_dir).resolve())
    home = _home(env)
    project = find_project_dir(project_dir)
    env_layer = env_settings(env)
    root = npm_root(env)
    builtin_path = root / "npmrc" if root is not None else None
    builtin = _read(builtin_path, env)

    def path_of(key: str, *layers: Mapping[str, ConfigValue] | None) -> Path | None:
        return _npm_path(_first(key, *layers), home, cwd)

    user_default = {"userconfig": "~/.npmrc"}
    user_before_project = path_of("userconfig", env_layer, builtin, user_default)
    global_flag, location = (
        _first("global", env_layer, builtin),
        _first("location", env_layer, builtin),
    )
    global_mode = global_flag is True or (
        isinstance(global_flag, str) and _js_trim(global_flag) == "true"
    )
    global_mode = global_mode or (isinstance(location, str) and _js_trim(location) == "global")
    project_path: Path | None = project / ".npmrc"
    if global_mode or project_path == user_before_project:
        project_path = None
    project_layer = _read(project_path, env)
    user_path = path_of("userconfig", env_layer, project_layer, builtin, user_default)
    user = _read(user_path, env)
    global_path = _global_config_path((builtin, env_layer, project_layer, user), home, cwd, env)
    global_layer = _read(global_path, env)

    merged: dict[str, ConfigValue] = {"registry": DEFAULT_REGISTRY}
    sources: list[Path] = []
    for path, values in (
        (builtin_path, builtin),
        (global_path, global_layer),
        (user_path, user),
        (project_path, project_layer),
    ):
        if values is not None and path is not None:
            merged.update(values)
            sources.append(path)
    merged.update(env_layer)
    if global_path is not None:  # what `npm config get globalconfig` says
        merged["globalconfig"] = str(global_path)
    registry = normalise_registry(_as_str(merged.get("registry")) or DEFAULT_REGISTRY)
    scopes: dict[str, str] = {}
    for key, value in merged.items():
        if key.startswith("@") and key.endswith(":registry") and _as_str(value):
            scopes[key[: -len(":registry")]] = normalise_registry(str(_as_str(value)))
    return NpmConfig(
        registry=registry,
        scopes=scopes,
        values=merged,
        sources=tuple(sources),
        project_dir=project,
    )
