"""Errors and exit codes. One base error per stage; one function (:func:`run_main`) turns them
into messages and exits, for the CLI and the npm wrapper alike.

Messages start with the file or package they are about, e.g.
``package-lock.json: packages["node_modules/x"]: missing "version"``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence


class ExitCode(enum.IntEnum):
    OK = 0  # nothing blocked (warnings allowed)
    BLOCKED = 1  # at least one package blocked
    USAGE = 2  # bad arguments, policy or lockfile
    UNREACHABLE = 3  # registry unreachable and nothing cached
    INTERNAL = 4  # a bug in npmguard: never 1
    NPM_NOT_FOUND = 127  # the npm wrapper found no npm to run (the shell's "command not found")
    INTERRUPTED = 130  # Ctrl-C


class NpmguardError(Exception):
    """Base of every error npmguard reports without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE
    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint


class UsageError(NpmguardError):
    """Bad command-line arguments or a missing input file."""


class LockfileError(NpmguardError):
    """A lockfile that cannot be read as npm would read it."""


class PolicyError(NpmguardError):
    """A policy file that is invalid or cannot be loaded."""

    line: int | None = None  # the line of the file it is about, when known (for ordering)


class PolicyErrors(PolicyError):
    """Every error found in a policy (and what it extends), reported together: one exit 2
    with each problem's ``file:line`` and hint, not a fix-rerun loop for each."""

    def __init__(self, errors: Sequence[PolicyError]) -> None:
        super().__init__("\n".join(str(e) for e in errors), hint=errors[0].hint if errors else "")
        self.errors = tuple(errors)


class RegistryError(NpmguardError):
    """A registry that cannot be reached or answers nonsense."""

    exit_code = ExitCode.UNREACHABLE


class FeedError(NpmguardError):
    """A known-bad feed that cannot be imported."""


class NpmNotFoundError(NpmguardError):
    """The npm wrapper cannot find the real npm (or npx) to run."""

    exit_code = ExitCode.NPM_NOT_FOUND


def report_error(err: NpmguardError) -> int:
    """Say what went wrong (and what to do) on stderr; the exit code for it."""
    import sys

    for one in err.errors if isinstance(err, PolicyErrors) else (err,):
        print(f"npmguard: error: {one}", file=sys.stderr)
        if one.hint:
            print(f"npmguard: hint: {one.hint}", file=sys.stderr)
    if isinstance(err, PolicyErrors):
        print(f"npmguard: {len(err.errors)} errors in the policy", file=sys.stderr)
    return int(err.exit_code)


def run_main(body: Callable[[], int], *, interrupted: str = "interrupted") -> int:
    """Run a command's ``body`` and turn whatever it raises into a message and an exit code.

    The one error -> exit mapping, for the CLI and the npm wrapper alike: an
    :class:`NpmguardError` gives its message, hint and code; Ctrl-C gives ``interrupted``
    and 130; a closed stdout (``| head``) is not an error; argparse's own exits keep their
    code; anything else is a bug: exit 4 and the path of a crash log, never a traceback.
    """
    import sys

    for stream in (sys.stdout, sys.stderr):  # a lone surrogate (argv, a file name) prints
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return body()
    except NpmguardError as err:
        return report_error(err)
    except KeyboardInterrupt:
        print(f"npmguard: {interrupted}", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except SystemExit as e:  # argparse: usage errors are 2, --help is 0
        return e.code if isinstance(e.code, int) else int(ExitCode.USAGE)
    except Exception:  # a bug: say where the log is, never exit 1
        print(
            f"npmguard: internal error (a bug in npmguard, not in your project); details in "
            f"{write_crash_log()}",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)


def write_crash_log() -> str:
    """Write the current exception's traceback (URLs in argv redacted) to a temporary file;
    its path."""
    import sys
    import tempfile
    import traceback

    from npmguard import __version__
    from npmguard.urls import redact

    with tempfile.NamedTemporaryFile(
        "w", prefix="npmguard-crash-", suffix=".log", delete=False
    ) as fh:
        argv = [redact(a) if "://" in a else a for a in sys.argv]
        fh.write(f"npmguard {__version__}\nargv: {argv!r}\n\n")
        traceback.print_exc(file=fh)
        return fh.name
