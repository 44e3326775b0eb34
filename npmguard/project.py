"""The project being checked: what its root ``package.json`` says that rules care about."""

from __future__ import annotations

from pathlib import Path

from npmguard.model import ProjectInfo


def read_project(project_dir: Path) -> ProjectInfo:
    """npm's ``allowScripts`` from ``project_dir/package.json``; an unreadable or missing
    file gives no approvals (npm then runs or refuses scripts on its own defaults)."""
    from npmguard.jsontext import loads

    allow: dict[str, bool] = {}
    try:
        data = loads((project_dir / "package.json").read_bytes())
    except (OSError, ValueError):
        return ProjectInfo(root=project_dir)
    raw = data.get("allowScripts") if isinstance(data, dict) else None
    if isinstance(raw, dict):
        allow = {str(k): bool(v) for k, v in raw.items()}
    return ProjectInfo(root=project_dir, allow_scripts=allow)
