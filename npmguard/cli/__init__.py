"""The command line: parses arguments, builds the objects, prints. No logic lives here.

Each command group is a module with ``register(subparsers)``; the parser lists them in
``COMMAND_MODULES``. ``npmguard npm …`` / ``npmguard npx …`` take a fast path that imports
nothing but the wrapper (pass-through commands must not pay for the HTTP stack).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:  # imported lazily: `npmguard npm --version` must start as fast as npm
    import argparse
    from collections.abc import Sequence

# command -> the module that registers it, in the order commands appear in --help. A run
# imports only its command's module (``npmguard --version`` imports none of them); --help,
# a mistyped command and the usage message import them all.
COMMANDS: dict[str, str] = {
    "check": "npmguard.cli.check",
    "ls": "npmguard.cli.ls",
    "rules": "npmguard.cli.rules",
    "shell-init": "npmguard.cli.shell_init",
    "db": "npmguard.cli.db",
    "policy": "npmguard.cli.policy",
    "explain": "npmguard.cli.explain",
    "cache": "npmguard.cli.cache",
    "doctor": "npmguard.cli.doctor",
}
COMMAND_MODULES: tuple[str, ...] = tuple(COMMANDS.values())

DESCRIPTION = """\
Checks every package of an npm dependency tree against a local reputation cache and a
policy file your team commits, and blocks or warns before spam packages or hijacked
releases land in node_modules.

examples:
  npmguard check                         check ./package-lock.json
  npmguard check --format sarif -o npmguard.sarif
  npmguard ls package-lock.json          the packages as read
  npmguard rules                         every rule, its id and default level
  npmguard npm install left-pad          resolve, check, then install what was checked
  eval "$(npmguard shell-init bash)"     make `npm` and `npx` go through npmguard
  npmguard doctor                        check that the guard is in place and works

the npm wrapper (`npmguard npm ...`, `npmguard npx ...`) passes every command that does not
install straight to npm; --npmguard-yes (or NPMGUARD_YES=1) accepts warnings,
--npmguard-dry-run checks without installing.

exit codes: 0 ok or warnings only, 1 blocked, 2 usage/policy/lockfile error,
            3 registry unreachable with nothing cached, 4 internal error (a bug),
            130 interrupted
"""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with every command (``argv`` None), or with only the
    command ``argv`` runs (none for ``--version``; all for help or an unknown command)."""
    import argparse
    import importlib

    from npmguard import __version__

    parser = argparse.ArgumentParser(
        prog="npmguard",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"npmguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if argv is None else _modules_for(argv):
        importlib.import_module(name).register(sub)
    for tool in ("npm", "npx"):  # listed here; main() hands them to the wrapper before parsing
        wrapped = sub.add_parser(
            tool,
            help=f"run {tool} through npmguard: what it would install is checked first "
            "(--npmguard-yes, --npmguard-dry-run)",
            add_help=False,
        )
        wrapped.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules a run of ``argv`` needs. The top-level parser takes no option
    with a value, so the first word not starting with ``-`` is the command."""
    for arg in argv:
        if arg == "--version":
            return ()
        if arg.startswith("-"):  # -h, --help, an abbreviation argparse expands, a mistake
            return COMMAND_MODULES
        return (COMMANDS[arg],) if arg in COMMANDS else COMMAND_MODULES
    return COMMAND_MODULES  # no command: the usage message lists them all


def add_common(parser: argparse.ArgumentParser) -> None:
    """Flags every command takes: verbosity."""
    group = parser.add_argument_group("output")
    group.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or summary on stderr"
    )


def _configure_logging(verbose: int, quiet: bool) -> None:
    import logging

    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("npmguard: %(message)s"))
    pkg_logger = logging.getLogger("npmguard")
    pkg_logger.handlers[:] = [handler]
    pkg_logger.setLevel(level)
    pkg_logger.propagate = False


def print_usage(parser: argparse.ArgumentParser) -> int:
    """A command group run without its subcommand: its help on stderr, exit 2."""
    from npmguard.errors import ExitCode

    parser.print_help(sys.stderr)
    return int(ExitCode.USAGE)


def main(argv: Sequence[str] | None = None) -> int:
    from npmguard.gcpolicy import paused

    with paused():  # see npmguard.gcpolicy
        return _main(list(sys.argv[1:] if argv is None else argv))


def entry() -> NoReturn:
    """The ``npmguard`` command (and ``python -m npmguard``): :func:`main`, then the process
    ends without tearing its heap down object by object.

    A warm check ends holding every package's facts; the interpreter's own exit frees them
    one by one and runs a last full garbage collection: ~60 ms of CPU on a 1,100-package
    tree, more than reading its facts. Once ``main`` has returned, the standard streams are
    flushed, the ``atexit`` functions run (logging's flush among them), and ``os._exit``
    ends the process with main's exit code. When a flush fails (a closed pipe), a thread is
    still running, or a tracer or profiler is on, the usual exit runs instead.

    The cyclic garbage collector stays off to the end (:mod:`npmguard.gcpolicy` pauses it
    for a run): turned back on after ``main``, it would walk every object the run made
    once more before the exit frees them all (5-14 ms on a 1,040-package tree)."""
    import atexit
    import gc
    import os
    import threading

    gc.disable()
    code = main()
    if threading.active_count() > 1 or sys.gettrace() or sys.getprofile():
        # the interpreter waits for non-daemon threads; a tracer or profiler (coverage,
        # cProfile) writes its results at the usual exit
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # as Python reports a failed flush at exit
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _main(args_list: list[str]) -> int:
    if args_list and args_list[0] in ("npm", "npx"):
        # fast path: the wrapper decides what to import; pass-through imports almost nothing
        from npmguard.wrapper.main import main as wrapper_main

        return wrapper_main(args_list[0], args_list[1:])
    from npmguard.errors import run_main

    def body() -> int:
        parser = build_parser(args_list)
        args = parser.parse_args(args_list)
        if not getattr(args, "func", None):
            return print_usage(build_parser())
        _configure_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False))
        return int(args.func(args))

    return run_main(body)
