"""The script shell npm runs lifecycle scripts through while the wrapper is in charge.

npm runs every script as ``<script-shell> -c <command>`` (dependency install scripts, the
project's own lifecycle scripts, ``npm test``, the command ``npx`` runs). The wrapper passes
``--script-shell`` naming a small shim that starts this file with ``python -I -S``, so npm
itself decides *when* a script runs (same events, same order, same environment), and this
gate decides only *whether*:

- the project's own folders (the root, workspaces, local folders it links to) run their
  scripts, except the root's install lifecycle when the user's command would not run it
  (``npm install <pkg>``, ``npm update``: the wrapper installs those through a plain
  ``npm install`` of the checked lockfile);
- a dependency runs its script only if the wrapper approved that exact package: the
  ``npm_package_resolved`` / ``npm_package_integrity`` npm sets for it match a checked,
  approved package;
- the command ``npx`` runs starts only if the tree npx installed is the tree that was
  checked.

Anything else exits 0 without running (npm carries on as with ``--ignore-scripts`` for that
package) and is logged for the wrapper's summary. Standard library only, no npmguard import:
this runs once per script and must start fast. The configuration is the JSON file named by
``NPMGUARD_GATE``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# the root package's own install lifecycle, as `npm install` / `npm ci` run it
ROOT_INSTALL_EVENTS = frozenset(
    ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")
)


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value in (None, "", "null", "undefined") else value


def _npx_dir(cache: str) -> str | None:
    """The folder of npx's cache whose bins npx put first on PATH, if any."""
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        parts = entry.rstrip(os.sep).split(os.sep)
        if entry.startswith(cache + os.sep) and parts[-2:] == ["node_modules", ".bin"]:
            return os.sep.join(parts[:-2])
    return None


def _installed_matches(verify: dict[str, Any]) -> bool:
    """Whether every package in the npx cache folder the command runs from was checked
    (``verify``: the npx cache and, by location, the checked resolved and integrity)."""
    folder = _npx_dir(verify["cache"])
    if folder is None:
        return True  # npx runs a bin of the project or a global one: nothing was installed
    hidden = os.path.join(folder, "node_modules", ".package-lock.json")
    try:
        with open(hidden, encoding="utf-8") as fh:
            packages = json.load(fh).get("packages", {})
    except (OSError, ValueError):
        return False
    expect = verify["expect"]
    for location, entry in packages.items():
        if not location or not isinstance(entry, dict) or entry.get("link"):
            continue
        want = expect.get(location)
        if want is None or want != [entry.get("resolved"), entry.get("integrity")]:
            return False
    return True


def decide(config: dict[str, Any], event: str, where: str) -> str:
    """``run``, ``approved``, ``root-off``, ``skipped`` or ``refused`` for one script."""
    if event == "npx":
        verify = config.get("verify")
        return "run" if not verify or _installed_matches(verify) else "refused"
    if where in config["own"]:
        if where == config["root"] and event in ROOT_INSTALL_EVENTS and not config["root_scripts"]:
            return "root-off"
        return "run"
    resolved, integrity = _env("npm_package_resolved"), _env("npm_package_integrity")
    for entry in config["approved"]:
        if resolved and entry["resolved"]:
            if resolved == entry["resolved"] and (
                not integrity or not entry["integrity"] or integrity == entry["integrity"]
            ):
                return "approved"
        elif entry["path"] and entry["path"] == where:
            return "approved"
    return "skipped"


def main(argv: list[str]) -> int:
    with open(os.environ["NPMGUARD_GATE"], encoding="utf-8") as fh:
        config = json.load(fh)
    event = _env("npm_lifecycle_event") or ""
    package_json = _env("npm_package_json")
    where = os.path.realpath(os.path.dirname(package_json) if package_json else os.getcwd())
    decision = decide(config, event, where)
    record = {
        "decision": decision,
        "event": event,
        "where": where,
        "resolved": _env("npm_package_resolved"),
        "integrity": _env("npm_package_integrity"),
        "name": _env("npm_package_name"),
        "version": _env("npm_package_version"),
    }
    with open(config["log"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    if decision in ("run", "approved"):
        # the script sees what npm would give it without npmguard's options and this gate
        for name, value in config["restore_env"].items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.environ.pop("NPMGUARD_GATE", None)
        shell = config["shell"]
        os.execvp(shell, [shell, *argv[1:]])
    if decision == "root-off":  # npm printed its "> name@version event" banner already
        print(
            f"npmguard: the project's {event} script not run: npm does not run it for this "
            "command (npmguard installs through `npm install` of the checked lockfile)",
            file=sys.stderr,
        )
    if decision == "refused":
        print(
            "npmguard: npx installed a tree other than the one that was checked (did the "
            "registry change meanwhile?); nothing was run. Run the command again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
