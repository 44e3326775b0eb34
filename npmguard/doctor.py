"""``npmguard doctor``: is the guard in place here, and does it work? Five checks, each a
:class:`Result` with a status and one line of detail.

- shell: whether npm goes through npmguard. A program cannot see the functions of the shell
  that started it, so this reads what it can: the variable ``shell-init`` exports
  (``NPMGUARD_SHELL_INIT``: this shell, or one it was started from, ran the snippet) and the
  startup files that run ``npmguard shell-init`` for new shells. ``type npm`` in the shell
  itself is the final word (a function removed with ``unset -f`` leaves the variable).
- cache: where the facts live, whether the folder can be written, what it holds.
- feed: whether a known-bad feed was imported, and how old it is (``known-malicious`` needs
  it).
- registry: whether the registry ``.npmrc`` names answers for one small package, and which
  parts of a package document it gives (publish times, publishers, provenance): the rules
  that need a part it leaves out cannot judge here.
- self-test: the real engine, offline, on a lockfile shipped with npmguard that holds an npm
  security placeholder, a package a shipped OSV record marks malicious, an entry tampered to
  come over plain http, and a clean package: the first three must block, the last pass.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from npmguard.facts import Detail

SHELL_MARKER = "NPMGUARD_SHELL_INIT"  # exported by the shell-init snippet: the shell's name
# startup files that may run `npmguard shell-init`, per shell (relative to the home folder)
STARTUP_FILES = {
    "bash": (".bashrc", ".bash_profile", ".bash_login", ".profile"),
    "zsh": (".zshrc", ".zprofile", ".zshenv"),
    "fish": (".config/fish/config.fish",),
}
PROBE = "left-pad"  # a small package every public registry and mirror has
SELFTEST = "selftest"  # npmguard/data/selftest/: the lockfile and the OSV record
# (name@version, rule) the self-test lockfile must block, and the package that must pass
SELFTEST_BLOCKS = (
    ("crossenv@0.0.1-security", "security-holder"),
    ("npmguard-selftest-malware@1.0.0", "known-malicious"),
    ("left-pad@1.3.0", "lock-insecure-url"),
)
SELFTEST_CLEAN = "is-number@7.0.0"


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"  # works, with something worth fixing
    FAIL = "fail"  # the guard does not work as it should here
    SKIPPED = "skip"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Result:
    check: str  # "shell", "cache", "feed", "registry", "self-test"
    status: Status
    detail: str


# -- shell --------------------------------------------------------------------------------


def check_shell(environ: Mapping[str, str], home: Path) -> Result:
    """From the variable shell-init exports and the startup files (see the module docstring)."""
    shell = Path(environ.get("SHELL", "")).name or "bash"
    ran = environ.get(SHELL_MARKER, "").strip()
    loads = startup_lines(home, shell)
    where = ", ".join(f"{path}:{line}" for path, line in loads)
    new_shells = f"{where} runs it in new {shell} shells" if loads else ""
    if ran:
        detail = f"this shell ran `npmguard shell-init {ran}`: npm and npx go through npmguard"
        detail += f"; {new_shells}" if new_shells else f"; no {shell} startup file runs it"
        return Result("shell", Status.OK, detail + " (`type npm` in the shell confirms)")
    if loads:
        return Result(
            "shell",
            Status.WARN,
            f"{new_shells}, but this shell did not run it: open a new shell, or run "
            f'`eval "$(npmguard shell-init {shell})"`',
        )
    return Result(
        "shell",
        Status.WARN,
        "npm does not go through npmguard in this shell, and no startup file runs "
        f"`npmguard shell-init`: see `npmguard shell-init --help` ({shell})",
    )


def startup_lines(home: Path, shell: str) -> list[tuple[str, int]]:
    """(file as ~/…, line) of each line of ``shell``'s startup files that runs
    ``npmguard shell-init`` (comments ignored)."""
    out = []
    for rel in STARTUP_FILES.get(shell, ()):
        try:
            text = (home / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if "npmguard" in code and "shell-init" in code and "--uninstall" not in code:
                out.append((f"~/{rel}", number))
    return out


# -- cache and feed -------------------------------------------------------------------------


def check_cache(cache: Path) -> Result:
    """The cache folder: writable (checks write facts there), and what it holds. One that can
    be read but not written is used read-only (a warning: checks keep nothing new)."""
    from npmguard.reputation.store import FILE_NAME, FactsStore

    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return Result(
            "cache",
            Status.FAIL,
            f"{cache}: cannot create ({e.strerror}): checks that need registry facts stop "
            "with an error; set NPMGUARD_CACHE_DIR to a folder you can write",
        )
    unwritable = None
    try:
        probe = cache / f".doctor-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        unwritable = e.strerror or str(e)
    facts = cache / FILE_NAME
    if unwritable is not None:
        held = "nothing cached"
        if facts.exists():
            try:
                with FactsStore(facts, read_only=unwritable) as store:
                    stats = store.stats()
                held = f"facts on {stats.packages} packages and {stats.versions} versions"
            except Exception as e:
                held = f"facts unreadable ({e})"
        return Result(
            "cache",
            Status.WARN,
            f"{cache}: cannot write ({unwritable}): checks use what it holds ({held}), "
            "--offline included, but fetch anything else on every run and keep nothing new; "
            "set NPMGUARD_CACHE_DIR to a folder you can write",
        )
    if not facts.exists():
        return Result("cache", Status.OK, f"{cache}: writable, empty (the first check fills it)")
    try:
        with FactsStore(facts) as store:
            stats = store.stats()
    except Exception as e:  # a damaged store: the next check starts it anew
        return Result("cache", Status.WARN, f"{facts}: unreadable ({e}); it is rebuilt on use")
    return Result(
        "cache",
        Status.OK,
        f"{cache}: writable; facts on {stats.packages} packages and {stats.versions} versions",
    )


def check_feed(feed_path: Path | None, stale_days: int) -> Result:
    """Whether a known-bad feed was imported, and how long ago."""
    from datetime import datetime, timezone

    from npmguard.feeds.store import open_feed_store

    store = open_feed_store(feed_path)
    if store is None:
        return _no_feed()
    with store:
        when = store.last_imported()
        records = store.info().records
    if when is None:
        return _no_feed()
    days = (datetime.now(timezone.utc) - when).days
    detail = f"{records} known-malicious records, imported {days} day(s) ago"
    if days > stale_days:
        return Result(
            "feed", Status.WARN, f"{detail}: older than {stale_days} days; run `npmguard db update`"
        )
    return Result("feed", Status.OK, detail)


def _no_feed() -> Result:
    return Result(
        "feed",
        Status.WARN,
        "no known-bad feed imported: known-malicious cannot fire; run `npmguard db update`",
    )


# -- registry -------------------------------------------------------------------------------


def check_registry(project_dir: Path, name: str = PROBE) -> Result:
    """Ask the registry ``.npmrc`` names (for ``name``) for one package document, and say
    which parts of it the rules need and do not get."""
    import time

    from npmguard.facts import Detail, FactsStatus, PackageFacts
    from npmguard.registry.client import RegistryClient
    from npmguard.registry.http import make_session
    from npmguard.registry.npmrc import load_npm_config
    from npmguard.reputation.extract import extract_package
    from npmguard.urls import redact

    config = load_npm_config(project_dir)
    client = RegistryClient(config, make_session(config, None))
    started = time.monotonic()
    try:
        got = client.get_packument(name, use_cache=False)
    finally:
        client.session.close()
    took = time.monotonic() - started
    where = redact(got.registry)
    if got.status == "not-found":
        return Result(
            "registry",
            Status.WARN,
            f"{where} answered, but has no {name}: pass --probe with a package it has",
        )
    if not got.ok or got.data is None:
        return Result("registry", Status.FAIL, f"{where}: {got.error or 'no answer'}")
    picture = extract_package(name, got.data).picture
    facts = PackageFacts(name, "", FactsStatus.KNOWN, versions=tuple(picture.versions))
    missing = [d for d in Detail if not d.given_by(facts)]
    has_maintainers = any(v.maintainers for v in picture.versions)
    given = [str(d) for d in Detail if d not in missing] + (
        ["maintainers"] if has_maintainers else []
    )
    detail = f"{where} answered for {name} in {took * 1000:.0f} ms; its package documents give "
    detail += ", ".join(given) if given else "none of publish times, publishers, provenance"
    if not missing:
        return Result("registry", Status.OK, detail)
    blind = _rules_needing(missing)
    detail += (
        f"; no {', '.join(str(d) for d in missing)}, so {', '.join(blind)} cannot judge "
        "here (reports list them as not checked)"
    )
    # provenance alone missing is ordinary (most packages have none): not worth a warning
    status = Status.OK if missing == [Detail.PROVENANCE] else Status.WARN
    return Result("registry", status, detail)


def _rules_needing(missing: Sequence[Detail]) -> list[str]:
    from npmguard.rules.base import all_rules

    return [rid for rid, cls in all_rules().items() if cls.details & set(missing)]


# -- self-test ------------------------------------------------------------------------------


def self_test(work: Path, names_from: Path | None = None) -> Result:
    """Block the shipped known-bad lockfile with the real engine, offline, in ``work`` (a
    fresh folder: its own cache, feed store and policy). ``names_from``: a cache folder whose
    popular-names index may be reused (building one takes a few seconds)."""
    from npmguard.app import Options, build
    from npmguard.feeds.importer import import_feed
    from npmguard.feeds.store import create_feed_store
    from npmguard.fsutil import package_data
    from npmguard.lockfile import load_lockfile

    project = work / "project"
    project.mkdir(parents=True)
    lock = project / "package-lock.json"
    lock.write_bytes(package_data(f"data/{SELFTEST}/package-lock.json"))
    record = work / "MAL-0000-NPMGUARD-SELFTEST.json"
    record.write_bytes(package_data(f"data/{SELFTEST}/{record.name}"))
    # the built-in rules at their default levels, whatever the user's policy says; nothing
    # cached and no network: registry facts are unknown, never a failure
    policy = work / "npmguard.toml"
    policy.write_text('[settings]\non-unreachable = "warn"\n', encoding="utf-8")
    cache = work / "cache"
    _reuse_names(names_from, cache)
    feeds = work / "feeds.sqlite"
    with _quiet(), create_feed_store(feeds) as store:
        import_feed(str(record), store=store)
    options = Options(
        policy=str(policy), offline=True, cache_dir=cache, feed_path=feeds, progress=False
    )
    with _quiet(), build(options, project) as checker:
        report = checker.check([load_lockfile(lock)])
    found = {(f.key, f.rule) for f in report.findings if f.effective_level.name == "BLOCK"}
    missed = [f"{key} ({rule})" for key, rule in SELFTEST_BLOCKS if (key, rule) not in found]
    clean = next((pv for pv in report.packages if pv.package.key == SELFTEST_CLEAN), None)
    if missed or clean is None or clean.verdict.value != "ok":
        why = f"did not block {', '.join(missed)}" if missed else f"{SELFTEST_CLEAN} did not pass"
        return Result("self-test", Status.FAIL, f"the shipped known-bad lockfile: {why}")
    blocked = ", ".join(f"{key} ({rule})" for key, rule in SELFTEST_BLOCKS)
    return Result(
        "self-test",
        Status.OK,
        f"offline, the engine blocked {blocked} and passed {SELFTEST_CLEAN}",
    )


def _reuse_names(source: Path | None, cache: Path) -> None:
    import shutil

    from npmguard.names.snapshot import snapshot_key
    from npmguard.names.store import store_path

    cache.mkdir(parents=True, exist_ok=True)
    if source is None:
        return
    built = store_path(source, snapshot_key())
    if built.is_file():
        try:
            os.link(built, cache / built.name)
        except OSError:
            shutil.copyfile(built, cache / built.name)


@contextmanager
def _quiet() -> Iterator[None]:
    """The self-test's own warnings (nothing cached, offline) are expected: not shown."""
    logger = logging.getLogger("npmguard")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
