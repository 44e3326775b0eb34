"""The long fuzz run of issue 13: the suite's hostile-input properties over many inputs.

    .venv/bin/python scripts/fuzz.py                       # 10,000 inputs per target
    .venv/bin/python scripts/fuzz.py --examples 500 --only lockfile,npmrc --seed 7

Targets: ``lockfile`` (ls and check agree, no crash), ``secrets`` (no secret from a resolved
URL in any output), ``policy`` (validate, then check), ``npmrc`` (check, and the settings
stay usable) and ``packument`` (served over loopback HTTP, judged by every strict rule, cold
then cached). Unlike the suite, a failure does not stop the run: each distinct failure (by
exception type and first line) is counted with its first input, and the run goes on. Prints
per target: inputs, exit codes seen, the slowest run, and the failures. Exit 1 if any.
Runs offline: nothing leaves this machine (the registry is on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TARGETS = ("lockfile", "secrets", "policy", "npmrc", "packument")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--examples", type=int, default=10_000, help="inputs per target")
    parser.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="npmguard-fuzz-"))
    os.environ.update(
        NPMGUARD_CACHE_DIR=str(work / "cache"),
        NPMGUARD_DATA_DIR=str(work / "data"),
        NPMGUARD_CONFIG_DIR=str(work / "config"),
        NPM_CONFIG_USERCONFIG=str(work / "no-user-npmrc"),
    )
    os.environ.pop("npm_config_registry", None)
    os.chdir(work)
    from npmguard.names.store import open_store

    open_store(work / "cache").close()  # once, not per input
    failed = False
    for target in args.only.split(","):
        failed |= _run(target, args.examples, args.seed, work / target)
    return 1 if failed else 0


def _run(target: str, examples: int, seed: int | None, base: Path) -> bool:
    import fuzzing
    from fakeregistry import FakeRegistry
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as with_seed
    from hypothesis import strategies as st

    registry = FakeRegistry()
    registry.start()
    folders = fuzzing.fresh_folders(base)
    small = base.parent / "small-lock.json"
    small.write_bytes(
        b'{"name": "app", "lockfileVersion": 3, "packages": {"": {}, "node_modules/left-pad": '
        b'{"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-'
        b'1.3.0.tgz", "integrity": "sha512-' + b"A" * 86 + b'=="}}}'
    )
    failures: dict[str, tuple[int, str]] = {}
    count = 0

    def record(check: object, *values: object) -> None:
        nonlocal count
        count += 1
        # a hang never returns: after 6 time limits, print where it is stuck and stop
        faulthandler.dump_traceback_later(6 * fuzzing.LIMIT_SECONDS, exit=True)
        started = time.monotonic()
        try:
            check(next(folders), *values)  # type: ignore[operator]
            took = time.monotonic() - started
            assert took < fuzzing.LIMIT_SECONDS, f"one input took {took:.1f} s"
        except Exception as e:  # a fuzz run collects every failure
            first = (str(e).splitlines() or [""])[0][:160]
            first = re.sub(r"\S*/npmguard-fuzz-[^/\s]+/\S*", "<file>", first)
            key = f"{type(e).__name__}: {first}"
            seen, sample = failures.get(key, (0, ""))
            if not sample:
                sample = f"input: {values!r:.600}\n{traceback.format_exc()[-3000:]}"
            failures[key] = (seen + 1, sample)
        finally:
            faulthandler.cancel_dump_traceback_later()

    strategies = {
        "lockfile": (fuzzing.lockfiles(), lambda f, d: fuzzing.check_lockfile(f, d)),
        "secrets": (fuzzing.lockfiles(secret=True), lambda f, d: fuzzing.check_secrets(f, d)),
        "policy": (fuzzing.policies(), lambda f, d: fuzzing.check_policy(f, d, small)),
        "npmrc": (
            st.tuples(
                fuzzing.npmrcs(), st.sampled_from([small.read_bytes()]) | fuzzing.lockfiles()
            ),
            lambda f, d: fuzzing.check_npmrc(f, *d),
        ),
        "packument": (
            fuzzing.packuments(),
            lambda f, d: fuzzing.check_packument(f, registry, *d),
        ),
    }
    strategy, check = strategies[target]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(value=strategy)
    def run(value: object) -> None:
        record(check, value)

    if seed is not None:
        run = with_seed(seed)(run)
    started = time.monotonic()
    try:
        run()
    finally:
        registry.stop()
    tally = fuzzing.TALLY.get(target, fuzzing.Tally())
    codes = ", ".join(f"exit {c}: {n}" for c, n in sorted(tally.codes.items()))
    print(
        f"{target}: {count} inputs, {sum(tally.codes.values())} runs ({codes}); slowest run "
        f"{tally.slowest:.2f} s; {time.monotonic() - started:.0f} s in all; "
        f"{len(failures)} distinct failure(s)",
        flush=True,
    )
    top = sorted(tally.errors.items(), key=lambda kv: -kv[1])[:8]
    print("  most frequent errors: " + "; ".join(f"{n} x {m}" for m, n in top), flush=True)
    for key, (seen, sample) in sorted(failures.items(), key=lambda kv: -kv[1][0]):
        print(f"  {seen} x {key}\n    " + sample.replace("\n", "\n    "), flush=True)
    return bool(failures)


if __name__ == "__main__":
    sys.exit(main())
