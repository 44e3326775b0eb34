"""One piece of advice for a package known to be bad.

A package an imported feed marks malicious, or that npm took down (a security placeholder, a
package removed from the registry), has one next step: remove it (or do not add it). Other
rules may report on it too (a typosquat, an install script) and keep what they saw, but their
hints are dropped: "allow it once reviewed" is never the next step for malware.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from npmguard.model import Finding, Level

KNOWN_BAD_RULES = frozenset({"known-malicious", "security-holder", "removed-package"})


def known_bad(findings: Iterable[Finding]) -> set[str]:
    """Keys (name@version) of the packages a known-bad rule reports at warn or above."""
    return {
        f.key for f in findings if f.rule in KNOWN_BAD_RULES and f.effective_level >= Level.WARN
    }


def one_advice(findings: list[Finding]) -> list[Finding]:
    """``findings`` with the hints of other rules dropped on packages known to be bad."""
    bad = known_bad(findings)
    if not bad:
        return findings
    return [
        replace(f, hint="") if f.key in bad and f.rule not in KNOWN_BAD_RULES and f.hint else f
        for f in findings
    ]
