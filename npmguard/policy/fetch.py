"""Policies named by URL in ``extends``: fetched over https, cached so they work offline.

Through the one HTTP session (:mod:`npmguard.registry.http`) with its requests-cache: a
cached copy younger than ``FRESH_SECONDS`` is used as is; an older one is revalidated with
the server (ETag / Last-Modified), and if that fails the stale copy is used with a warning.
Plain http is accepted only for loopback hosts (a policy server a test or a developer runs
on this machine), and every redirect hop is checked the same way, never https -> http.
Each fetch says which copy was used (:class:`~npmguard.policy.model.PolicyCopy`): fetched
now, confirmed by the server, or cached (and how old), so ``policy show`` and reports can
say it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from npmguard.errors import PolicyError
from npmguard.policy.model import PolicyCopy
from npmguard.urls import fetchable_http, parse_url, redact

log = logging.getLogger(__name__)

FRESH_SECONDS = 3600
TIMEOUT_SECONDS = 10.0
MAX_BYTES = 1_000_000
# the Accept header of policy requests: also how ``cache info`` tells cached policies from
# the other answers in the HTTP cache
ACCEPT = "application/toml, text/plain;q=0.9, */*;q=0.1"


def check_url(url: str, where: str) -> str:
    """The URL to fetch a policy from, as Node reads it (its ``href``); refuses URLs npmguard
    will not fetch a policy from (``where`` names the extends line; empty for ``--policy``)."""
    parsed = fetchable_http(url)
    if parsed is not None:
        return parsed.href
    prefix = f"{where}: extends: " if where else ""
    if parse_url(url) is None:  # "http://[::1/": no URL at all, whatever its scheme says
        raise PolicyError(
            f"{prefix}{redact(url)}: not a URL (Node cannot parse it)",
            hint="write the policy's https URL in full, e.g. https://example.com/npmguard.toml",
        )
    raise PolicyError(
        f"{prefix}{redact(url)}: only https URLs (or http on this machine) are allowed",
        hint="publish the shared policy over https",
    )


def check_hop(url: str, previous: str | None, where: str = "") -> None:
    """Refuse a redirect hop the first URL could not have been (``check_url``), or one from
    https down to plain http (even on this machine)."""
    check_url(url, where)
    if previous is not None and previous.startswith("https:") and url.startswith("http:"):
        prefix = f"{where}: extends: " if where else ""
        raise PolicyError(
            f"{prefix}{redact(previous)}: redirects to plain http ({redact(url)}); refused",
            hint="publish the shared policy over https, redirects included",
        )


def fetch_policy_text(
    url: str,
    where: str,
    *,
    cache_dir: Path | None = None,
    project_dir: Path | None = None,
    refresh: bool = False,
) -> tuple[str, PolicyCopy]:
    """The text of the policy at ``url`` and which copy it is: through the one HTTP session
    (proxy and CA from the ``.npmrc`` of ``project_dir``), cached in
    ``<cache_dir>/http.sqlite``. A copy younger than ``FRESH_SECONDS`` (or the server's
    ``max-age``) is used as is unless ``refresh``; an older one is revalidated
    (``If-None-Match`` / ``If-Modified-Since``: an unchanged policy costs a 304, no body);
    when the server cannot answer, the stale copy is used with a warning."""
    from npmguard.errors import RegistryError
    from npmguard.paths import cache_dir as default_cache_dir
    from npmguard.registry.http import make_session
    from npmguard.registry.npmrc import load_npm_config

    fetch = check_url(url, where)  # as Node reads it
    prefix = f"{where}: extends: " if where else ""
    shown = redact(url)
    config = load_npm_config(project_dir or Path.cwd())
    session = make_session(
        config,
        cache_dir or default_cache_dir(),
        concurrency=2,
        packument_ttl=FRESH_SECONDS,
        stale_if_error=True,
    )
    try:
        try:
            response = session.get(
                fetch,
                accept=ACCEPT,
                refresh=refresh,
                check_url=lambda hop, previous: check_hop(hop, previous, where),
                max_bytes=MAX_BYTES,  # read capped as it arrives: a gzip bomb stops at 1 MB
            )
        except RegistryError as e:
            raise PolicyError(
                f"{prefix}{shown}: cannot fetch the policy: {e}; no cached copy to fall back on",
                hint="check the URL and the network, then run again",
            ) from e
        if response.status_code != 200:
            raise PolicyError(
                f"{prefix}{shown}: cannot fetch the policy: HTTP {response.status_code}; "
                "no cached copy to fall back on",
                hint="check the URL and the network, then run again",
            )
        copy = _copy_of(response, shown, refresh=refresh)
        if copy.stale:
            log.warning("%s", copy.describe())
        body = response.content
        if len(body) > MAX_BYTES:
            raise PolicyError(f"{prefix}{shown}: the policy is larger than {MAX_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise PolicyError(f"{prefix}{shown}: the policy is not UTF-8 text") from e
        if not _is_toml(text):  # never keep an error page; the loader reports the bad text
            session.forget(fetch)
        return text, copy
    finally:
        session.close()


def _copy_of(response: object, shown: str, *, refresh: bool = False) -> PolicyCopy:
    """Which copy ``response`` is: requests-cache marks answers from its store (``from_cache``,
    with ``created_at``), confirmed by a 304 (``revalidated``), or past their expiry because
    the server could not be asked (``is_expired``). With ``refresh`` the server was asked, so
    an answer from the store that it did not confirm is stale however young it is."""
    now = datetime.now(timezone.utc)
    if not getattr(response, "from_cache", False):
        return PolicyCopy(shown, now, "fetched")
    created = getattr(response, "created_at", None)
    if isinstance(created, datetime) and created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    when = created if isinstance(created, datetime) else now
    if getattr(response, "revalidated", False):
        return PolicyCopy(shown, when, "revalidated")
    if refresh or getattr(response, "is_expired", False):
        return PolicyCopy(shown, when, "stale")
    return PolicyCopy(shown, when, "cached")


def _is_toml(text: str) -> bool:
    from npmguard.policy.parse import tomllib

    try:
        tomllib.loads(text)
    except (ValueError, RecursionError):  # TOMLDecodeError, too long an integer, too deep
        return False
    return True
