"""npm's ``allowScripts`` approvals (package.json), read the way npm 11 matches them.

Keys are package specs: a bare name (any version), ``name@1.2.3``, or exact versions joined
by ``||``; ``true`` allows, ``false`` denies and wins over any allow. Ranges such as ``^1``
and tags are refused by npm and match nothing here either. Bundled dependencies never run
install scripts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from npmguard.semver import valid_version

_EXACT = re.compile(r"^\s*v?[0-9][^\s|]*\s*$")


def _split(key: str) -> tuple[str, str]:
    at = key.rfind("@")
    if at > 0:
        return key[:at], key[at + 1 :].strip()
    return key, ""


def _matches(key: str, name: str, version: str) -> bool:
    key_name, spec = _split(key.strip())
    if key_name != name:
        return False
    if spec in ("", "*"):
        return True
    versions = [v.strip().lstrip("v") for v in spec.split("||")]
    if not all(_EXACT.match(v) and valid_version(v) for v in versions):
        return False  # ranges and tags are not approvals
    return version in versions


def script_approval(name: str, version: str, allow_scripts: Mapping[str, bool]) -> bool | None:
    """True if approved, False if explicitly denied, None if not reviewed."""
    allowed = denied = False
    for key, value in allow_scripts.items():
        if _matches(key, name, version):
            if value is False:
                denied = True
            elif value is True:
                allowed = True
    if denied:
        return False
    return True if allowed else None
