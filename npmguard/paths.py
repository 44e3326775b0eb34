"""Where npmguard keeps its files: the HTTP cache and facts, imported feeds, user config.

Each location is overridable by an environment variable (tests point them at temporary
directories); otherwise ``platformdirs`` picks the platform's usual place. Nothing is created
here: callers create what they write.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "npmguard"


def _absolute(path: Path) -> Path:
    """``~`` expanded and a relative path taken from the current folder (rw-x1: stores open
    their files by ``file:`` URI, which only an absolute path has)."""
    path = path.expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _from_env(var: str) -> Path | None:
    value = os.environ.get(var, "").strip()
    return _absolute(Path(value)) if value else None


def cache_dir(override: Path | None = None) -> Path:
    """The HTTP cache and facts store: ``--cache-dir``, else $NPMGUARD_CACHE_DIR, else
    the user cache dir (``~/.cache/npmguard`` on Linux). Always absolute: a relative setting
    is taken from the current folder."""
    if override is not None:
        return _absolute(Path(override))
    env = _from_env("NPMGUARD_CACHE_DIR")
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def data_dir() -> Path:
    """Imported feeds: $NPMGUARD_DATA_DIR, else the user data dir."""
    env = _from_env("NPMGUARD_DATA_DIR")
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    """User-level configuration (a user policy): $NPMGUARD_CONFIG_DIR, else the user config dir."""
    env = _from_env("NPMGUARD_CONFIG_DIR")
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def usable_cache_dir(override: Path | None = None) -> Path:
    """:func:`cache_dir`, created if missing; a clear :class:`~npmguard.errors.UsageError`
    (naming the folder and where it was set) when it cannot be created or read. A folder that
    can be read but not written is returned: its stores are used read-only (what a check
    fetches serves that run only)."""
    import errno

    from npmguard.errors import UsageError

    directory = cache_dir(override)
    env = _from_env("NPMGUARD_CACHE_DIR")
    if override is not None and _absolute(Path(override)) != env:
        origin = "--cache-dir"
    elif env is not None:  # the CLI's --cache-dir defaults to the variable
        origin = "NPMGUARD_CACHE_DIR"
    else:
        origin = "the user cache folder"
    hint = "point --cache-dir or NPMGUARD_CACHE_DIR at a folder you can write"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        reason = os.strerror(errno.ENOTDIR)
    except OSError as e:
        reason = e.strerror or str(e)
    else:
        if os.access(directory, os.R_OK | os.X_OK):
            return directory
        reason = os.strerror(errno.EACCES)
    raise UsageError(f"{directory}: cannot use as the cache folder ({origin}): {reason}", hint=hint)
