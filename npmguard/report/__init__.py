"""Turning a ``Report`` into text, JSON or SARIF: one module per format, named in ``FORMATS``.

A format module ``npmguard.report.<name>_format`` defines
``render(report: Report, *, color: bool = False) -> str``; adding a format is that module and
its name here (``check --format`` offers exactly these).
"""

from __future__ import annotations

import importlib

from npmguard.model import Report

FORMATS = ("text", "json", "sarif")


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """The report in ``fmt`` (one of ``FORMATS``), ready to write to stdout or a file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"npmguard.report.{fmt}_format")
    return str(module.render(report, color=color))
