"""Progress on stderr: drawn with rich only on a terminal, silent in CI and with --quiet.

:class:`Observer` is the one progress interface: the engine, the facts providers and the
feed importer report through it; whoever made the observer closes it.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Protocol


class Observer(Protocol):
    """What long work reports to (pip-audit's ``AuditState``, in spirit)."""

    def update(self, message: str) -> None:
        """A new step: ``message`` replaces the status line."""

    def advance(self, done: int, total: int, message: str = "") -> None:
        """``done`` of ``total`` items of the current step."""

    def close(self) -> None:
        """Stop drawing (before a report or a prompt is printed); safe to call twice."""


class NoProgress:
    def update(self, message: str) -> None:
        pass

    def advance(self, done: int, total: int, message: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class TerminalProgress:
    """A one-line status on stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console: Any = Console(stderr=True)
        self._status: Any = self._console.status("")
        self._started = False
        self._last = 0.0

    def update(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        if not self._started:
            self._status.start()
            self._started = True
        self._status.update(message)

    def advance(self, done: int, total: int, message: str = "") -> None:
        self.update(f"{message} {done}/{total}".strip())

    def close(self) -> None:
        if self._started:
            self._status.stop()
            self._started = False


def make_progress(*, enabled: bool = True) -> NoProgress | TerminalProgress:
    if not enabled or not sys.stderr.isatty() or os.environ.get("CI"):
        return NoProgress()
    return TerminalProgress()
