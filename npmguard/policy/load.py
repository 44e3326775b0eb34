"""Finding and loading policy files. (Placeholder until the policy issue lands.)"""

from __future__ import annotations

from pathlib import Path

from npmguard.policy.model import Policy


def load_policy(explicit: Path | None, start_dir: Path) -> Policy:
    """The effective policy for a project in ``start_dir`` (``--policy`` wins)."""
    return Policy()
