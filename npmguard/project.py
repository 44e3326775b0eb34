"""The project being checked: what its root ``package.json`` says that rules care about."""

from __future__ import annotations

from pathlib import Path

from npmguard.model import Lockfile, ProjectInfo


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


DECLARING_FIELDS = ("dependencies", "devDependencies", "optionalDependencies")


def refuse_empty_lockfile(lockfile: Lockfile) -> None:
    """Refuse an npm lockfile that locks no package while the ``package.json`` beside it
    declares dependencies (in ``dependencies``, ``devDependencies`` or
    ``optionalDependencies``): ``npm ci`` refuses it too ("package.json and package-lock.json
    ... are in sync ... Missing: express@4.0.0 from lock file"), and a clean verdict on it
    would check nothing. Raises :class:`~npmguard.errors.LockfileError`."""
    from npmguard.errors import LockfileError
    from npmguard.jsontext import loads

    if lockfile.packages or lockfile.path.name not in ("package-lock.json", "npm-shrinkwrap.json"):
        return
    try:
        data = loads((lockfile.path.parent / "package.json").read_bytes())
    except (OSError, ValueError):
        return  # no manifest to be out of sync with
    declared = sorted(
        {
            str(name)
            for key in DECLARING_FIELDS
            if isinstance(data, dict) and isinstance(data.get(key), dict)
            for name in data[key]
        }
    )
    if not declared:
        return
    shown = ", ".join(declared[:5]) + (
        f" and {len(declared) - 5} more" if len(declared) > 5 else ""
    )
    raise LockfileError(
        f"{lockfile.path}: locks no packages, but package.json declares {len(declared)} "
        f"dependencies ({shown}); `npm ci` refuses it (not in sync with package.json)",
        hint="write the lockfile with `npm install --package-lock-only`, then check it",
    )
