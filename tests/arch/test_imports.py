"""The shape of the package: no import cycles, and no stage imports a later one.

Every ``import`` statement counts, including the lazy ones inside functions (they run too,
only later). The pipeline order is DESIGN.md's: lockfile -> facts (registry, reputation,
feeds, names) -> rules -> policy -> engine -> report -> app -> cli / wrapper.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "npmguard"

# Each module's stage; a module may import only modules of its own or an earlier stage.
STAGES: tuple[tuple[str, ...], ...] = (
    # values and helpers every stage may use
    (
        "npmguard",
        "npmguard.errors",
        "npmguard.model",
        "npmguard.facts",
        "npmguard.progress",
        "npmguard.paths",
        "npmguard.fsutil",
        "npmguard.semver",
        "npmguard.urls",
        "npmguard.gitutil",
        "npmguard.allow_scripts",
    ),
    ("npmguard.lockfile", "npmguard.project", "npmguard.store"),
    ("npmguard.registry",),
    ("npmguard.names",),
    ("npmguard.reputation", "npmguard.feeds"),
    ("npmguard.rules",),
    ("npmguard.policy",),
    ("npmguard.engine", "npmguard.coverage"),
    ("npmguard.report",),
    ("npmguard.app", "npmguard.doctor"),
    ("npmguard.wrapper",),
    ("npmguard.cli", "npmguard.__main__"),
)
# what rules may never reach, whatever the order: they read facts, never their sources
FORBIDDEN = {
    "npmguard.rules": ("npmguard.reputation", "npmguard.feeds", "npmguard.registry"),
    "npmguard.engine": ("npmguard.cli", "npmguard.wrapper"),
    "npmguard.wrapper": ("npmguard.cli",),
}
# known exceptions, each with its reason (the CLI's fast path hands `npm`/`npx` to the wrapper)
ALLOWED = {("npmguard.cli", "npmguard.wrapper.main")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            # the longest known module the import names (`from x import y`: y may be a name)
            while target and target not in known:
                target = target.rpartition(".")[0]
            # a module's own packages are imported before it anyway (`from npmguard.names
            # import words` inside npmguard.names.classify names its package, not a cycle)
            if target and target != name and not name.startswith(target + "."):
                yield target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(name, path, known)) for name, path in modules.items()}


def _stage(module: str) -> tuple[int, str]:
    best = (-1, "")
    for index, members in enumerate(STAGES):
        for prefix in members:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[1]):
                best = (index, prefix)
    return best


def test_every_module_has_a_stage() -> None:
    assert [m for m in _modules() if _stage(m)[0] < 0] == []


def test_no_import_cycles() -> None:
    graph = _graph()
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as e:
        pytest.fail(f"import cycle: {' -> '.join(e.args[1])}")


def test_no_stage_imports_a_later_one() -> None:
    wrong = []
    for module, targets in _graph().items():
        mine, _ = _stage(module)
        for target in targets:
            if (_stage(module)[1], target) in ALLOWED:
                continue
            theirs, _ = _stage(target)
            if theirs > mine:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_forbidden_imports() -> None:
    wrong = []
    for module, targets in _graph().items():
        for prefix, banned in FORBIDDEN.items():
            if module == prefix or module.startswith(prefix + "."):
                wrong += [
                    f"{module} -> {t}"
                    for t in targets
                    if any(t == b or t.startswith(b + ".") for b in banned)
                ]
    assert wrong == []
