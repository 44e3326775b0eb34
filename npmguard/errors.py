"""Errors and exit codes. One base error per stage; one place (``cli``) turns them into exits.

Messages start with the file or package they are about, e.g.
``package-lock.json: packages["node_modules/x"]: missing "version"``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  # nothing blocked (warnings allowed)
    BLOCKED = 1  # at least one package blocked
    USAGE = 2  # bad arguments, policy or lockfile
    UNREACHABLE = 3  # registry unreachable and nothing cached
    INTERNAL = 4  # a bug in npmguard: never 1
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


class RegistryError(NpmguardError):
    """A registry that cannot be reached or answers nonsense."""

    exit_code = ExitCode.UNREACHABLE


class FeedError(NpmguardError):
    """A known-bad feed that cannot be imported."""
