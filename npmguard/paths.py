"""Where npmguard keeps its files: the HTTP cache and facts, imported feeds, user config.

Each location is overridable by an environment variable (tests point them at temporary
directories); otherwise ``platformdirs`` picks the platform's usual place. Nothing is created
here: callers create what they write.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "npmguard"


def _from_env(var: str) -> Path | None:
    value = os.environ.get(var, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir(override: Path | None = None) -> Path:
    """The HTTP cache and facts store: ``--cache-dir``, else $NPMGUARD_CACHE_DIR, else
    the user cache dir (``~/.cache/npmguard`` on Linux)."""
    if override is not None:
        return Path(override).expanduser()
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
