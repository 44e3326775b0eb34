"""The user's npm project as the wrapper sees it: where it is, and which files npm resolves from.

Resolution runs in a temporary copy holding only those files, so the user's package.json,
lockfile and node_modules stay byte-identical until the tree has been checked. Where the
project is, npm says (``NpmCommand.prefix``: its local prefix, workspace root included).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from npmguard.errors import UsageError
from npmguard.fsutil import write_atomic

LOCKFILE_NAMES = ("npm-shrinkwrap.json", "package-lock.json")
TOP_FILES = (*LOCKFILE_NAMES, "package.json", ".npmrc")


def read_json(path: Path) -> dict[str, object]:
    from npmguard.jsontext import loads

    try:
        data = loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot read as JSON: {e}") from e
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data


def workspace_dirs(root: Path) -> list[Path]:
    """Folders the root package.json names as workspaces (npm's glob patterns)."""
    manifest = read_json(root / "package.json")
    patterns = manifest.get("workspaces")
    if isinstance(patterns, dict):
        patterns = patterns.get("packages")
    if not isinstance(patterns, list):
        return []
    found: list[Path] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        for match in sorted(glob.glob(str(root / pattern))):
            path = Path(match)
            if (path / "package.json").is_file() and path not in found:
                found.append(path)
    return found


def link_targets(root: Path) -> list[Path]:
    """Local folders the lockfile links to (``file:`` folders), inside the project."""
    for name in LOCKFILE_NAMES:
        lock = root / name
        if lock.is_file():
            data = read_json(lock)
            packages = data.get("packages")
            if not isinstance(packages, dict):
                return []
            out = []
            for entry in packages.values():
                if (
                    isinstance(entry, dict)
                    and entry.get("link")
                    and isinstance(entry.get("resolved"), str)
                ):
                    target = (root / entry["resolved"]).resolve()
                    if target.is_relative_to(root) and (target / "package.json").is_file():
                        out.append(target)
            return out
    return []


@dataclass(frozen=True)
class ProjectFiles:
    """The files npm resolves from, by path relative to the project root, with their bytes."""

    root: Path
    files: dict[str, bytes]

    @classmethod
    def read(cls, root: Path, extra_specs: tuple[str, ...] = ()) -> ProjectFiles:
        """The files npm needs to resolve in a copy: manifests, lockfile, .npmrc, and the
        local tarballs and folders that package.json files (or ``extra_specs``) point at."""
        files: dict[str, bytes] = {}
        for name in TOP_FILES:
            path = root / name
            if path.is_file():
                files[name] = path.read_bytes()
        folders = [root, *workspace_dirs(root)]
        for folder in (*folders[1:], *link_targets(root)):
            rel = folder.relative_to(root).as_posix()
            for name in ("package.json", ".npmrc"):
                if (folder / name).is_file():
                    files[f"{rel}/{name}"] = (folder / name).read_bytes()
        specs = [(root, s) for s in extra_specs]
        for folder in folders:
            manifest = read_json(folder / "package.json")
            for field in ("dependencies", "devDependencies", "optionalDependencies"):
                deps = manifest.get(field)
                if isinstance(deps, dict):
                    specs += [(folder, v) for v in deps.values() if isinstance(v, str)]
        for base, spec in specs:
            _add_local(files, root, base, spec)
        return cls(root=root, files=files)

    @property
    def lockfile_name(self) -> str | None:
        return next((n for n in LOCKFILE_NAMES if n in self.files), None)

    def write_to(self, target: Path) -> None:
        for rel, data in self.files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def put_back(self, root: Path, rels: Iterable[str]) -> None:
        """Make the files ``rels`` under ``root`` what they were when read (absent if absent)."""
        for rel in rels:
            path = root / rel
            if rel in self.files:
                write_atomic(path, self.files[rel])
            else:
                path.unlink(missing_ok=True)

    def changed_in(self, other_root: Path) -> dict[str, bytes]:
        """Files that differ (or are new) in ``other_root`` compared with these."""
        out: dict[str, bytes] = {}
        names = set(self.files) | set(TOP_FILES)
        for rel in sorted(names):
            path = other_root / rel
            if path.is_file():
                data = path.read_bytes()
                if self.files.get(rel) != data:
                    out[rel] = data
        return out


def _add_local(files: dict[str, bytes], root: Path, base: Path, spec: str) -> None:
    """Add a local tarball, or a local folder's package.json, that ``spec`` names."""
    text = spec[5:] if spec.startswith("file:") else spec
    if not (spec.startswith("file:") or text.startswith(("./", "../", "/", "~"))):
        return
    try:
        target = (base / Path(text).expanduser()).resolve()
    except (OSError, RuntimeError):
        return
    if not target.is_relative_to(root.resolve()):
        return  # outside the project: npm reads it where it is (absolute paths still work)
    rel = target.relative_to(root.resolve()).as_posix()
    if target.is_file():
        files[rel] = target.read_bytes()
    elif (target / "package.json").is_file():
        files[f"{rel}/package.json"] = (target / "package.json").read_bytes()
