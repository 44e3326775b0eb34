"""The commands a finding's hint names, for the package manager that wrote the lockfile.

One table, :data:`MANAGERS`, keyed by the kind of lockfile (:attr:`Lockfile.format` without
its version: ``npm``, ``pnpm``, ``yarn`` for Yarn 1, ``yarn-berry``, ``bun``); rules ask
:func:`manager_for` and never test formats themselves. Where a command comes from:

- npm 11: ``npm install --package-lock-only`` rewrites package-lock.json without installing;
  package.json ``allowScripts`` approves a dependency's install script (the only approval
  npmguard reads, :mod:`npmguard.allow_scripts`).
- pnpm: ``pnpm install --lockfile-only``; pnpm 10 runs no dependency's build script until it
  is approved (``pnpm approve-builds``, ``onlyBuiltDependencies``).
- Yarn 1: no lockfile-only mode; ``yarn install`` locks again an entry deleted from yarn.lock.
  It runs every install script (``--ignore-scripts`` turns them all off).
- Yarn Berry: ``yarn install --mode=update-lockfile`` fetches what lacks a checksum and writes
  the lockfile without linking; with ``enableScripts: false`` in .yarnrc.yml, package.json
  ``dependenciesMeta["name@version"].built = true`` lets one package build.
- bun: ``bun install --lockfile-only`` (bun 1.1.43 and later); bun runs a dependency's
  scripts only when package.json ``trustedDependencies`` (or bun's own default list) names it,
  which ``bun pm trust <name>`` adds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Manager:
    """What to tell the user of one package manager. Templates take ``{name}`` (a package
    name) and ``{spec}`` (``name@version``)."""

    name: str  # "npm", "pnpm", "yarn 1", "yarn berry", "bun"
    lockfile: str  # the file the commands rewrite
    relock: str  # rewrites the lockfile from package.json, installing nothing where it can
    add: str  # adds a dependency: "<add> <name>"
    why: str  # says which dependency brings a package in: "<why> <name>"
    registry_config: str  # where the registry URL is set
    # how an install script gets approved in this manager's own terms, after npmguard's policy
    # entry; "" where package.json allowScripts (which npmguard reads) is the manager's own
    script_approval: str

    def delete_and_relock(self) -> str:
        """The way to lock one entry again from the registry: delete it, rewrite the lockfile."""
        return f"delete the entry from {self.lockfile} and run `{self.relock}`"


NPM = Manager(
    name="npm",
    lockfile="package-lock.json",
    relock="npm install --package-lock-only",
    add="npm install",
    why="npm explain",
    registry_config=".npmrc",
    script_approval="",
)

MANAGERS: dict[str, Manager] = {
    "npm": NPM,
    "npm-shrinkwrap": NPM,
    "npm-hidden": NPM,
    "pnpm": Manager(
        name="pnpm",
        lockfile="pnpm-lock.yaml",
        relock="pnpm install --lockfile-only",
        add="pnpm add",
        why="pnpm why",
        registry_config=".npmrc",
        script_approval=(
            "pnpm 10 runs it only once approved there too (`pnpm approve-builds`, or "
            '"onlyBuiltDependencies": ["{name}"])'
        ),
    ),
    "yarn": Manager(
        name="yarn 1",
        lockfile="yarn.lock",
        relock="yarn install",
        add="yarn add",
        why="yarn why",
        registry_config=".yarnrc or .npmrc",
        script_approval="yarn 1 runs every install script unless installed with `--ignore-scripts`",
    ),
    "yarn-berry": Manager(
        name="yarn berry",
        lockfile="yarn.lock",
        relock="yarn install --mode=update-lockfile",
        add="yarn add",
        why="yarn why",
        registry_config=".yarnrc.yml (npmRegistryServer)",
        script_approval=(
            "to have yarn run only approved scripts, set `enableScripts: false` in .yarnrc.yml "
            'and "dependenciesMeta": {{"{spec}": {{"built": true}}}} in package.json'
        ),
    ),
    "bun": Manager(
        name="bun",
        lockfile="bun.lock",
        relock="bun install --lockfile-only",
        add="bun add",
        why="bun why",
        registry_config="bunfig.toml or .npmrc",
        script_approval=(
            "bun runs it only if package.json trustedDependencies (or bun's default list) "
            "names it: `bun pm trust {name}`"
        ),
    ),
}


def manager_for(lockfile_format: str) -> Manager:
    """The manager that wrote a lockfile of ``lockfile_format`` (``"yarn-berry-v8"``,
    ``"npm-shrinkwrap-v3"``, ...); npm for a format this table does not know."""
    kind = lockfile_format.rsplit("-v", 1)[0]
    return MANAGERS.get(kind, NPM)
