"""The composition root: options -> a built engine. The only place that wires the stages.

``npmguard check``, ``explain``, the npm wrapper and the pre-commit path all call
:func:`build` with an :class:`Options` value; none assembles its own policy, facts providers
or rules, so they cannot disagree about what a package's verdict is.

::

    options = Options(offline=True)             # from flags (cli/) or the environment (wrapper/)
    with build(options, project_dir) as checker:
        report = checker.check([lockfile])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from npmguard.engine import Engine, FactsProvider, enabled_rules
from npmguard.facts import OFFLINE_NEEDS, Facts, Need
from npmguard.model import LockedPackage, Lockfile, Report
from npmguard.policy.model import Policy
from npmguard.progress import Observer
from npmguard.registry.npmrc import NpmConfig

if TYPE_CHECKING:
    from npmguard.registry.client import RegistryClient
    from npmguard.store.redis import SharedCache

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line and the environment ask for: the one input of :func:`build`.

    ``policy``: a file, ``npmguard:PRESET`` or an https URL (None: the nearest
    ``npmguard.toml``). ``cache_dir``: the facts, names and policy caches (None: the user
    cache folder, or ``NPMGUARD_CACHE_DIR``). ``feed_path``: the imported-feeds database
    (None: the user data folder). ``now``: the rules' clock (None: the current time).
    ``as_of``: judge as on that moment (``--as-of``): the package pictures cut back to what
    the registry showed then (:mod:`npmguard.asof`) and the rules' clock set to it.
    ``cache_url``: the team cache (``NPMGUARD_CACHE_URL``; None: the policy's ``cache-url``,
    if any). Its password is read from the environment when the connection is made, never
    kept here.
    """

    policy: str | None = None
    offline: bool = False
    refresh: bool = False
    cache_dir: Path | None = None
    feed_path: Path | None = None
    all_tarballs: bool = False
    lockfile_only: bool = False  # only rules needing nothing from the registry
    progress: bool = True  # draw progress on a terminal (off with --quiet)
    now: datetime | None = None
    as_of: datetime | None = None
    cache_url: str | None = None
    adding: frozenset[str] = frozenset()  # names the wrapped npm command adds (ProjectInfo)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Options:
        """The options the npm wrapper runs with (it has no flags of its own):
        ``NPMGUARD_POLICY``, ``NPMGUARD_OFFLINE=1``, ``NPMGUARD_CACHE_DIR`` and
        ``NPMGUARD_CACHE_URL``."""
        cache = environ.get("NPMGUARD_CACHE_DIR", "").strip()
        return cls(
            policy=environ.get("NPMGUARD_POLICY") or None,
            offline=environ.get("NPMGUARD_OFFLINE") == "1",
            cache_dir=Path(cache).expanduser() if cache else None,
            cache_url=environ.get("NPMGUARD_CACHE_URL", "").strip() or None,
        )


@dataclass
class Checker:
    """An engine built for one project (its policy, ``.npmrc``, rules and facts providers).

    Close it (or use it as a context manager) to close the stores the providers opened.
    """

    options: Options
    project_dir: Path
    policy: Policy
    npm_config: NpmConfig
    engine: Engine
    providers: tuple[FactsProvider, ...] = field(default=())
    # rules the policy enables that this run leaves out (--lockfile-only): reported as
    # coverage, so a clean report never hides them
    not_run: tuple[str, ...] = ()

    def check(
        self,
        lockfiles: Sequence[Lockfile],
        *,
        only: Collection[str] | None = None,
        skip: frozenset[Need] = frozenset(),
    ) -> Report:
        """Judge ``lockfiles`` (see :meth:`npmguard.engine.Engine.run`)."""
        report = replace(self.engine.run(lockfiles, only=only, skip=skip), as_of=self.options.as_of)
        if not self.not_run:
            return report
        from npmguard.coverage import LOCKFILE_ONLY, merge, not_run

        gap = not_run([p.package for p in report.packages], self.not_run, LOCKFILE_ONLY)
        return report if gap is None else replace(report, coverage=merge((*report.coverage, gap)))

    def gather(self, packages: Sequence[LockedPackage], needs: frozenset[Need]) -> Facts:
        """Facts for packages outside any run (``explain`` probes a name's package document)."""
        return self.engine.gather(packages, needs)

    def close(self) -> None:
        for provider in self.providers:
            provider.close()

    def __enter__(self) -> Checker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def build(options: Options, project_dir: Path, *, observer: Observer | None = None) -> Checker:
    """The checker for the project in ``project_dir``: its policy (``--policy`` wins over the
    nearest ``npmguard.toml``), its ``.npmrc``, the rules the policy leaves on, and a facts
    provider for each kind of fact those rules need.

    Raises :class:`~npmguard.errors.PolicyError` for a bad policy and
    :class:`~npmguard.errors.UsageError` when a cache folder that is needed cannot be written.
    """
    from npmguard.policy.load import load_policy
    from npmguard.project import read_project
    from npmguard.registry.npmrc import load_npm_config

    if observer is None:
        from npmguard.progress import make_progress

        observer = make_progress(enabled=options.progress)
    policy = load_policy(
        options.policy, project_dir, cache_dir=options.cache_dir, refresh=options.refresh
    )
    config = load_npm_config(project_dir)
    rules = enabled_rules(policy)
    left_out: tuple[str, ...] = ()
    if options.lockfile_only:
        left_out = tuple(r.id for r in rules if not r.needs <= OFFLINE_NEEDS)
        rules = [r for r in rules if r.needs <= OFFLINE_NEEDS]
    needs: set[Need] = set()
    for rule in rules:
        needs |= rule.needs
    providers = _providers(frozenset(needs), options, config, policy, observer)
    engine = Engine(
        policy,
        rules=rules,
        providers=providers,
        project=replace(read_project(project_dir), adding=options.adding),
        allowed_registries=config.registry_urls(),
        registries=config.registries(policy.allowed_registries),
        observer=observer,
        now=options.as_of or options.now,
        left_out=left_out,
    )
    return Checker(options, project_dir, policy, config, engine, providers, left_out)


@dataclass
class _Wiring:
    """What a provider factory may use: the run's options and configuration, and the
    providers made before it (the packument provider asks the names provider)."""

    options: Options
    config: NpmConfig
    policy: Policy
    observer: Observer
    cache_dir: Path
    made: dict[str, FactsProvider] = field(default_factory=dict)
    _shared: SharedCache | None = None

    def shared(self) -> SharedCache | None:
        """The team cache's connection (one per run, for every provider that uses it);
        None when none is configured, or with ``--offline`` (no network at all)."""
        if self._shared is None and not self.options.offline:
            self._shared = shared_cache(self.options, self.policy)
        return self._shared


def team_cache(project_dir: Path, environ: Mapping[str, str]) -> SharedCache | None:
    """The team cache for commands outside a check (``db update``, ``db info``, ``cache
    info``): ``NPMGUARD_CACHE_URL``, else the ``cache-url`` of the policy found from
    ``project_dir``; None when neither names one."""
    options = Options.from_environment(environ)
    if options.cache_url:
        return shared_cache(options, Policy())
    from npmguard.policy.load import load_policy

    return shared_cache(options, load_policy(None, project_dir, cache_dir=options.cache_dir))


def shared_cache(options: Options, policy: Policy) -> SharedCache | None:
    """The team cache ``options`` (``NPMGUARD_CACHE_URL``) or the policy's ``cache-url``
    name, with credentials from the environment; None when neither does.

    Raises :class:`~npmguard.errors.UsageError` for a URL that is not redis(s)://.
    """
    import os

    url = options.cache_url or policy.cache_url
    if not url:
        return None
    from npmguard.store.redis import SharedCache

    return SharedCache.from_environment(url, os.environ)


def _names(w: _Wiring) -> FactsProvider:
    from npmguard.names.provider import NamesProvider

    shared = w.shared()
    if shared is not None:
        _shared_names_index(shared, w.cache_dir)
    return NamesProvider(w.cache_dir)


def _shared_names_index(shared: SharedCache, cache_dir: Path) -> None:
    """An empty cache folder takes the popular-names index from the team cache instead of
    building it (seconds of CPU on every cold CI runner); the first machine to build it
    shares it. Keyed by the shipped snapshot's content and the index layout."""
    import hashlib

    from npmguard.names.snapshot import shipped_snapshot, snapshot_key
    from npmguard.names.store import SCHEMA, open_store, prebuilt_current, store_path
    from npmguard.store.redis import fetch_file, share_file

    path = store_path(cache_dir, snapshot_key())
    if path.is_file() or prebuilt_current() or not shared.available:
        return
    digest = hashlib.sha256(SCHEMA.encode() + b"\0" + shipped_snapshot()).hexdigest()[:24]
    key = f"names-{digest}.sqlite"
    if fetch_file(shared, key, path) or not shared.writable:
        return
    open_store(cache_dir).close()  # built once for the whole team
    share_file(shared, key, path)


def _feed(w: _Wiring) -> FactsProvider:
    from npmguard.feeds.provider import FeedProvider

    return FeedProvider(w.options.feed_path, w.shared())


def _registry(w: _Wiring) -> FactsProvider:
    from npmguard.names.provider import NamesProvider
    from npmguard.paths import usable_cache_dir
    from npmguard.reputation.source import ReputationSource
    from npmguard.reputation.store import DEFAULT_TTL, FactsStore
    from npmguard.store.base import FactsBackend

    usable_cache_dir(w.options.cache_dir)  # a clear error, not a traceback
    config, offline = w.config, w.options.offline

    def make_client() -> RegistryClient:
        from npmguard.registry.client import RegistryClient
        from npmguard.registry.http import make_session

        # no HTTP body cache: the compact facts are what is kept (see reputation.source)
        return RegistryClient(config, make_session(config, None, offline))

    names = w.made.get("names")
    store: FactsBackend = FactsStore.in_dir(w.cache_dir)
    shared = w.shared()
    if shared is not None:
        from npmguard.reputation.codec import FORMAT, decode_manifest
        from npmguard.store.layered import LayeredStore
        from npmguard.store.redis_facts import RedisFacts

        def integrity_of(blob: bytes) -> str | None:
            return decode_manifest(blob).dist_integrity

        layer = RedisFacts(shared, format=FORMAT, ttl=DEFAULT_TTL, integrity_of=integrity_of)
        store = LayeredStore(store, layer, ttl=DEFAULT_TTL)
    return ReputationSource(
        store,
        config=config.registries(),
        client_factory=make_client,
        offline=offline,
        refresh=w.options.refresh,
        progress=w.observer,
        on_unreachable=w.policy.on_unreachable,
        all_tarballs=w.options.all_tarballs,
        names=names if isinstance(names, NamesProvider) else None,
    )


# The facts providers: (name, the needs that make it worth building, its factory), in the
# order they are built. Adding a kind of fact is its provider module and one row here.
PROVIDERS: tuple[tuple[str, frozenset[Need], Callable[[_Wiring], FactsProvider]], ...] = (
    ("names", frozenset({Need.NAMES, Need.TARBALL}), _names),  # tarball selection asks it too
    ("feed", frozenset({Need.FEED}), _feed),
    ("registry", frozenset({Need.PACKUMENT, Need.TARBALL}), _registry),
)


def _providers(
    needs: frozenset[Need],
    options: Options,
    config: NpmConfig,
    policy: Policy,
    observer: Observer,
) -> tuple[FactsProvider, ...]:
    """One provider per kind of fact the rules need; each opens its store on first use."""
    from npmguard.paths import cache_dir

    wiring = _Wiring(options, config, policy, observer, cache_dir(options.cache_dir))
    for name, wanted, make in PROVIDERS:
        if needs & wanted:
            wiring.made[name] = make(wiring)
    made = tuple(wiring.made.values())
    if options.as_of is not None:  # --as-of: every provider's package facts cut back to then
        from npmguard.asof import AsOfProvider

        return tuple(AsOfProvider(p, options.as_of) for p in made)
    return made
