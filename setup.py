"""Packaging metadata is in pyproject.toml; this file adds one build step.

``build_py`` also builds the popular-names store (``npmguard/data/names.sqlite``) from the
shipped snapshot, so a first ``npmguard check`` does not spend a second or two of CPU on it
(see ``npmguard.names.store``). A wheel gets it in its build folder; an editable install
(``pip install -e .``) in the source tree, which is the installed package. npmguard
rebuilds it in the cache dir when it is missing or stale.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _store_module():  # type: ignore[no-untyped-def]
    """``npmguard.names.store``'s builder, loaded without importing npmguard's dependencies
    (the build environment has only setuptools)."""
    import sys

    sys.path.insert(0, str(ROOT))
    try:
        from npmguard.names import store
    finally:
        sys.path.remove(str(ROOT))
    return store


class BuildPyWithNames(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            target = ROOT / "npmguard" / "data" / "names.sqlite"
        else:
            target = Path(self.build_lib) / "npmguard" / "data" / "names.sqlite"
        target.parent.mkdir(parents=True, exist_ok=True)
        _store_module().build_prebuilt(target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(str(Path(self.build_lib) / "npmguard" / "data" / "names.sqlite"))
        return outputs


setup(cmdclass={"build_py": BuildPyWithNames})
