"""Policies named by URL in ``extends``: fetched over https, cached so they work offline.

A cached copy younger than ``FRESH_SECONDS`` is used as is; an older one is refreshed, and if
the fetch fails the stale copy is used with a warning. Plain http is accepted only for
loopback hosts (a policy server a test or a developer runs on this machine).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from npmguard.errors import PolicyError
from npmguard.urls import fetchable_http, redact

log = logging.getLogger(__name__)

FRESH_SECONDS = 3600
TIMEOUT_SECONDS = 10.0
MAX_BYTES = 1_000_000


def check_url(url: str, where: str) -> str:
    """The URL to fetch a policy from, as Node reads it (its ``href``); refuses URLs npmguard
    will not fetch a policy from (``where`` names the extends line; empty for ``--policy``)."""
    parsed = fetchable_http(url)
    if parsed is not None:
        return parsed.href
    prefix = f"{where}: extends: " if where else ""
    raise PolicyError(
        f"{prefix}{redact(url)}: only https URLs (or http on this machine) are allowed",
        hint="publish the shared policy over https",
    )


def cache_path(url: str, cache_dir: Path | None = None) -> Path:
    """Where the copy of the policy at ``url`` is kept (under ``cache_dir``, default:
    :func:`npmguard.paths.cache_dir`)."""
    from npmguard.paths import cache_dir as default_cache_dir

    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return (cache_dir or default_cache_dir()) / "policies" / f"{digest}.toml"


def fetch_policy_text(
    url: str, where: str, *, now: float | None = None, cache_dir: Path | None = None
) -> str:
    """The text of the policy at ``url``, from the cache when fresh or when the fetch fails."""
    fetch = check_url(url, where)
    cached = cache_path(url, cache_dir)
    now = time.time() if now is None else now
    try:
        age = now - cached.stat().st_mtime
    except OSError:
        age = None
    if age is not None and 0 <= age < FRESH_SECONDS:
        return cached.read_text(encoding="utf-8")
    try:
        text = _download(fetch)
    except PolicyError as e:
        if age is None:
            prefix = f"{where}: extends: " if where else ""
            raise PolicyError(
                f"{prefix}{e}; no cached copy to fall back on",
                hint="check the URL and the network, then run again",
            ) from e
        log.warning("%s; using the copy cached %d minutes ago", e, int(age // 60))
        return cached.read_text(encoding="utf-8")
    if _is_toml(text):  # never cache an error page; the loader reports the bad text
        _store(cached, text)
    return text


def _is_toml(text: str) -> bool:
    from npmguard.policy.parse import tomllib

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True


def _download(url: str) -> str:
    import requests

    shown = redact(url)
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=True)
    except requests.RequestException as e:
        raise PolicyError(f"{shown}: cannot fetch the policy: {type(e).__name__}") from e
    if response.status_code != 200:
        raise PolicyError(f"{shown}: cannot fetch the policy: HTTP {response.status_code}")
    if len(response.content) > MAX_BYTES:
        raise PolicyError(f"{shown}: the policy is larger than {MAX_BYTES} bytes")
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(f"{shown}: the policy is not UTF-8 text") from e


def _store(path: Path, text: str) -> None:
    """Write the cache atomically; a cache that cannot be written only costs a warning."""
    from npmguard.fsutil import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError as e:
        log.warning("cannot cache the policy in %s: %s", path.parent, e.strerror)
