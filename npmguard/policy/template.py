"""The commented starting policy ``npmguard policy init`` writes."""

from __future__ import annotations

from npmguard import __version__

_TEMPLATE = """\
# npmguard policy: what this project accepts from npm. Reference: docs/policy.md.
# `npmguard policy show` prints the effective policy with where each value comes from;
# `npmguard policy validate` checks this file.

requires-npmguard = ">={major_minor}"

# Start from a built-in preset; later entries and this file win for single values,
# [[allow]]/[[deny]] entries from every file add up. Paths are relative to this file;
# https URLs are fetched once and cached (an organisation-wide baseline, for example).
extends = ["npmguard:{preset}"]

# [settings]
{settings}
# Rule levels (block, warn, info, off) and thresholds; `npmguard rules` lists the ids.
# [rules]
# deprecated = "off"
#
# [rules.too-new]
# level = "block"
# days = 3

# Exceptions: every entry needs a reason; expired entries stop allowing and are reported.
# [[allow]]
# package = "esbuild"           # a name, or a scope glob such as "@acme/*"
# version = "^0.24.0"           # optional npm range
# rules = ["install-script"]    # optional: the rules it covers (all when absent)
# reason = "downloads its platform binary; reviewed 2026-01-10"
# expires = 2026-12-31          # optional TOML date

# Packages that always block:
# [[deny]]
# package = "event-stream"
# version = "3.3.6"
# reason = "compromised release (flatmap-stream)"
"""


def _settings_lines() -> str:
    """One commented line per setting, from the settings table: key, default, description."""
    from npmguard.policy.settings import SETTINGS

    lines = []
    for s in SETTINGS:
        assignment = f"# {s.key} = {s.toml_default}"
        lines.append(f"{assignment:<31} # {s.description}")
    return "\n".join(lines) + "\n"


def starter_policy(preset: str) -> str:
    major_minor = ".".join(__version__.split(".")[:2])
    return (
        _TEMPLATE.replace("{preset}", preset)
        .replace("{major_minor}", major_minor)
        .replace("{settings}", _settings_lines())
    )
