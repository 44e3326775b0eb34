"""``npmguard doctor``: check that the guard is in place and works here (see npmguard.doctor)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

EPILOG = """\
checks:
  shell      npm and npx go through npmguard (what a program can see of its shell: the
             variable `npmguard shell-init` exports, and the startup files that run it)
  cache      the cache folder can be written; what it holds
  feed       a known-bad feed was imported, and is recent
  registry   the registry .npmrc names answers, and what its package documents give
             (publish times, publishers, provenance); skipped with --offline
  self-test  offline, the real engine blocks a known-bad lockfile shipped with npmguard

exit codes: 0 no check failed (warnings say what to improve), 1 a check failed,
            2 usage error
"""


def register(sub: Any) -> None:
    from npmguard.cli import add_common

    p = sub.add_parser(
        "doctor",
        help="check that the guard is in place and works here",
        description=(
            "Check that npm goes through npmguard, the cache, the known-bad feed and the "
            "registry, and run an offline self-test that must block a known-bad lockfile."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--offline", action="store_true", help="skip the registry check")
    p.add_argument(
        "--probe",
        metavar="NAME",
        default=None,
        help="the package to ask the registry for (default: left-pad)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=os.environ.get("NPMGUARD_CACHE_DIR") or None,
        help="the cache folder to check (env NPMGUARD_CACHE_DIR)",
    )
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from npmguard import doctor
    from npmguard.coverage import FEED_STALE_DAYS
    from npmguard.errors import ExitCode, NpmguardError
    from npmguard.paths import cache_dir

    cache = cache_dir(args.cache_dir)
    results = [
        doctor.check_shell(os.environ, Path.home()),
        doctor.check_cache(cache),
        doctor.check_feed(None, FEED_STALE_DAYS),
    ]
    if args.offline:
        results.append(doctor.Result("registry", doctor.Status.SKIPPED, "--offline"))
    else:
        try:
            results.append(doctor.check_registry(Path.cwd(), args.probe or doctor.PROBE))
        except NpmguardError as err:  # a bad .npmrc, say
            results.append(doctor.Result("registry", doctor.Status.FAIL, str(err)))
    with tempfile.TemporaryDirectory(prefix="npmguard-doctor-") as tmp:
        try:
            results.append(doctor.self_test(Path(tmp), names_from=cache))
        except NpmguardError as err:
            results.append(doctor.Result("self-test", doctor.Status.FAIL, str(err)))
    width = max(len(r.check) for r in results)
    for r in results:
        print(f"{r.status!s:<5} {r.check:<{width}}  {r.detail}")
    count = {s: sum(1 for r in results if r.status is s) for s in doctor.Status}
    failed = count[doctor.Status.FAIL]
    print(
        f"doctor: {count[doctor.Status.OK]} ok, {count[doctor.Status.WARN]} to improve, "
        f"{failed} failed"
        + (f", {count[doctor.Status.SKIPPED]} skipped" if count[doctor.Status.SKIPPED] else "")
    )
    sys.stdout.flush()
    return int(ExitCode.BLOCKED) if failed else int(ExitCode.OK)
