"""Questions on the terminal: one keystroke to decide, a line of text for a reason.

The wrapper asks only when stdin and stderr are a terminal. A key is read in cbreak mode
(no Enter needed; Ctrl-C still interrupts); Enter, Ctrl-D or end of input mean the default.
"""

from __future__ import annotations

import os
import sys


def ask_key(question: str, keys: str, default: str) -> str:
    """Show ``question`` on stderr and read one key: a letter of ``keys`` (any case) or
    ``default`` for Enter / Ctrl-D. Other keys are ignored. Off a real terminal (no termios)
    a whole line is read instead and its first letter counts."""
    sys.stderr.write(question)
    sys.stderr.flush()
    try:
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError):
        return _line_choice(keys, default)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        while True:
            data = os.read(fd, 1)
            char = data.decode("utf-8", "ignore").lower()
            if not data or char in ("\r", "\n", "\x04"):
                choice = default
                break
            if char in keys:
                choice = char
                break
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    sys.stderr.write(choice + "\n")
    sys.stderr.flush()
    return choice


def _line_choice(keys: str, default: str) -> str:
    try:
        answer = input().strip().lower()
    except EOFError:
        return default
    return answer[0] if answer and answer[0] in keys else default


def ask_line(question: str) -> str:
    """Show ``question`` on stderr and read one line (stripped; "" at end of input)."""
    sys.stderr.write(question)
    sys.stderr.flush()
    try:
        return sys.stdin.readline().strip()
    except (EOFError, OSError):
        return ""
