"""npm configuration as npm reads it. (Placeholder until the registry issue lands.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org/"


@dataclass(frozen=True)
class NpmConfig:
    registry: str = DEFAULT_REGISTRY

    def registry_urls(self) -> tuple[str, ...]:
        return (self.registry,)


def load_npm_config(project_dir: Path) -> NpmConfig:
    return NpmConfig()
