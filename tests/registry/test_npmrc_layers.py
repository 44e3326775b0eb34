"""Where each `.npmrc` file is, decided as npm 11 decides it, against `npm config get`.

Every case lays out a temporary HOME, project, ``$PREFIX`` and a throwaway npm (a copy of the
installed npm's ``bin/`` and ``lib/`` with its ``node_modules`` linked, so that its own
``npmrc``, the builtin config file, can be written), then asks that npm for ``registry``,
``@sc:registry`` and ``strict-ssl`` and npmguard's :func:`load_npm_config` for the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from npmoracle import NODE, NPM, needs_npm

from npmguard.errors import UsageError
from npmguard.limits import NPMRC_BYTES
from npmguard.registry.npmrc import load_npm_config, npm_root
from npmguard.urls import normalise_registry


@dataclass(frozen=True)
class Layout:
    """Files to write (path under the case folder -> text; ``{T}`` is the case folder,
    ``npm/npmrc`` is the builtin file), extra environment, and the folder npm runs in."""

    files: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "proj"


G = "registry=https://g.example/\nstrict-ssl=false\n"
LAYOUTS = {
    "user file sets globalconfig": Layout(
        {"home/.npmrc": "globalconfig={T}/x/g.npmrc\n", "x/g.npmrc": G}
    ),
    "project file sets userconfig": Layout(
        {
            "proj/.npmrc": "userconfig={T}/x/u.npmrc\n",
            "x/u.npmrc": "registry=https://u.example/\n",
            "home/.npmrc": "registry=https://home.example/\n@sc:registry=https://home.example/\n",
        }
    ),
    "builtin file sets globalconfig": Layout(
        {"npm/npmrc": "globalconfig={T}/x/g.npmrc\n", "x/g.npmrc": G}
    ),
    "builtin file sets prefix": Layout(
        {
            "npm/npmrc": "prefix={T}/bp\nregistry=https://builtin.example/\n",
            "bp/etc/npmrc": "@sc:registry=https://sc.example/\n",
        }
    ),
    "builtin file is the lowest layer": Layout(
        {"npm/npmrc": "registry=https://builtin.example/\n", "pfx/etc/npmrc": G}
    ),
    "builtin file sets userconfig, the project file wins": Layout(
        {
            "npm/npmrc": "userconfig={T}/x/b.npmrc\n",
            "x/b.npmrc": "registry=https://b.example/\n",
            "proj/.npmrc": "userconfig={T}/x/u.npmrc\n",
            "x/u.npmrc": "@sc:registry=https://u.example/\n",
        }
    ),
    "env userconfig beats project userconfig": Layout(
        {
            "proj/.npmrc": "userconfig={T}/x/u.npmrc\n",
            "x/u.npmrc": "registry=https://u.example/\n",
            "x/e.npmrc": "registry=https://e.example/\nstrict-ssl=false\n",
        },
        env={"npm_config_userconfig": "{T}/x/e.npmrc"},
    ),
    "globalconfig in user beats project (the first set ranks lowest)": Layout(
        {
            "proj/.npmrc": "globalconfig={T}/x/pg.npmrc\n",
            "home/.npmrc": "globalconfig={T}/x/ug.npmrc\n",
            "x/pg.npmrc": "registry=https://pg.example/\n",
            "x/ug.npmrc": "registry=https://ug.example/\n",
        }
    ),
    "env globalconfig ranks below the user file's (npm's setter quirk)": Layout(
        {"home/.npmrc": "globalconfig={T}/x/ug.npmrc\n", "x/ug.npmrc": G},
        env={"npm_config_globalconfig": "{T}/x/eg.npmrc"},
    ),
    "env globalconfig alone is used": Layout(
        {"x/eg.npmrc": G}, env={"npm_config_globalconfig": "{T}/x/eg.npmrc"}
    ),
    "env, project and user globalconfig: the project's": Layout(
        {
            "proj/.npmrc": "globalconfig={T}/x/pg.npmrc\n",
            "home/.npmrc": "globalconfig={T}/x/ug.npmrc\n",
            "x/pg.npmrc": G,
            "x/ug.npmrc": "registry=https://ug.example/\n",
            "x/eg.npmrc": "registry=https://eg.example/\n",
        },
        env={"npm_config_globalconfig": "{T}/x/eg.npmrc"},
    ),
    "builtin globalconfig ranks below the user file's": Layout(
        {
            "npm/npmrc": "globalconfig={T}/x/bg.npmrc\n",
            "home/.npmrc": "globalconfig={T}/x/ug.npmrc\n",
            "x/ug.npmrc": G,
            "x/bg.npmrc": "registry=https://bg.example/\n",
        }
    ),
    "prefix in user file moves the global file": Layout(
        {
            "home/.npmrc": "prefix={T}/up\n",
            "up/etc/npmrc": G,
            "pfx/etc/npmrc": "registry=https://pfx.example/\n",
        }
    ),
    "prefix in project file moves it too (npm logs an error)": Layout(
        {"proj/.npmrc": "prefix={T}/pp\n", "pp/etc/npmrc": G}
    ),
    "npm_config_prefix moves the global file": Layout(
        {"ep/etc/npmrc": G}, env={"npm_config_prefix": "{T}/ep"}
    ),
    "$PREFIX is the default prefix": Layout({"pfx/etc/npmrc": G}),
    "${VAR} in userconfig": Layout(
        {"proj/.npmrc": "userconfig=${RC_DIR}/u.npmrc\n", "x/u.npmrc": G},
        env={"RC_DIR": "{T}/x"},
    ),
    "~/ in globalconfig is under HOME": Layout(
        {"home/.npmrc": "globalconfig=~/g.npmrc\n", "home/g.npmrc": G}
    ),
    "bare ~ is a relative path": Layout(
        {
            "proj/.npmrc": "userconfig=~\n",
            "proj/~": G,
            "home/.npmrc": "registry=https://h.example/\n",
        }
    ),
    "relative userconfig is from npm's working folder": Layout(
        {"proj/.npmrc": "userconfig=u.npmrc\n", "proj/sub/u.npmrc": G, "proj/u.npmrc": ""},
        cwd="proj/sub",
    ),
    "userconfig naming a folder is skipped": Layout(
        {
            "proj/.npmrc": "userconfig={T}/x\n",
            "home/.npmrc": "registry=https://home.example/\n",
            "pfx/etc/npmrc": G,
        }
    ),
    "userconfig is the project file: read once": Layout(
        {"proj/.npmrc": G}, env={"npm_config_userconfig": "{T}/proj/.npmrc"}
    ),
    "global mode skips the project file": Layout(
        {"proj/.npmrc": G, "home/.npmrc": "@sc:registry=https://u.example/\n"},
        env={"npm_config_global": "true"},
    ),
}


@pytest.fixture(scope="module")
def npm_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the installed npm that a test may add an ``npmrc`` to (``node_modules``
    linked, not copied: Node finds npm's folder from the real path of ``lib/npm.js``)."""
    assert NPM is not None
    real = Path(NPM).resolve().parent.parent
    copy = tmp_path_factory.mktemp("npm") / "npm"
    copy.mkdir()
    for part in ("bin", "lib"):
        shutil.copytree(real / part, copy / part)
    shutil.copy2(real / "package.json", copy / "package.json")
    (copy / "node_modules").symlink_to(real / "node_modules")
    return copy


def _lay_out(tmp: Path, npm_copy: Path, layout: Layout) -> tuple[Path, dict[str, str]]:
    case = tmp
    npm_dir = case / "npm"
    shutil.copytree(npm_copy, npm_dir, symlinks=True)
    for part in ("home", "proj/sub", "pfx", "x"):
        (case / part).mkdir(parents=True, exist_ok=True)
    (case / "proj/package.json").write_text("{}")
    for rel, text in layout.files.items():
        path = case / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{T}", str(case)))
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.pop("CI", None)
    env.update(
        HOME=str(case / "home"),
        PREFIX=str(case / "pfx"),
        NPMGUARD_NPM=str(npm_dir / "bin" / "npm-cli.js"),
        npm_config_cache=str(case / "cache"),
        npm_config_update_notifier="false",
    )
    env.update({k: v.replace("{T}", str(case)) for k, v in layout.env.items()})
    return case / layout.cwd, env


def _npmguard_says(cwd: Path, env: dict[str, str]) -> list[str | None]:
    config = load_npm_config(cwd, env=env)
    return [config.registry, config.scopes.get("@sc"), str(config.verify is not False).lower()]


def _npm_said(out: str) -> list[str | None]:
    said = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    scope = said["@sc:registry"]
    return [
        normalise_registry(said["registry"]),
        None if scope == "undefined" else normalise_registry(scope),
        said["strict-ssl"],
    ]


@needs_npm
def test_file_locations_are_npm_config_gets(tmp_path: Path, npm_copy: Path) -> None:
    assert NODE is not None
    cases = {}
    for i, (name, layout) in enumerate(LAYOUTS.items()):
        cwd, env = _lay_out(tmp_path / str(i), npm_copy, layout)
        cli = [NODE, env["NPMGUARD_NPM"], "config", "get", "registry", "@sc:registry", "strict-ssl"]
        proc = subprocess.Popen(cli, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
        cases[name] = (cwd, env, proc)
    differ = {}
    for name, (cwd, env, proc) in cases.items():
        out, _ = proc.communicate(timeout=60)
        npm_says, ours = _npm_said(out), _npmguard_says(cwd, env)
        if npm_says != ours:
            differ[name] = (npm_says, ours)
    assert not differ
    # the layouts do what their names say: each changes at least one answer from the default
    defaults = ["https://registry.npmjs.org/", None, "true"]
    unchanged = [n for n, (c, e, _) in cases.items() if _npmguard_says(c, e) == defaults]
    assert not unchanged


def test_no_npm_means_no_builtin_layer(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": str(tmp_path / "nothing"), "PREFIX": str(tmp_path)}
    assert npm_root(env) is None
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/npmrc").write_text("registry=https://pfx.example/\n")
    config = load_npm_config(tmp_path, env=env)
    assert config.registry == "https://pfx.example/"
    assert config.sources == (tmp_path / "etc/npmrc",)


def test_builtin_file_is_read_from_the_npm_that_runs(tmp_path: Path) -> None:
    root = tmp_path / "lib/node_modules/npm"
    (root / "lib/utils").mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "lib/utils/cmd-list.js").write_text("")
    (root / "bin/npm-cli.js").write_text("")
    (root / "bin/npm-cli.js").chmod(0o755)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/npm").symlink_to(root / "bin/npm-cli.js")
    (root / "npmrc").write_text("globalconfig=/etc/npmguard-test-none\nprefix=/usr/local\n")
    (tmp_path / "home").mkdir()
    (tmp_path / "home/.npmrc").write_text("registry=https://user.example/\n")
    env = {"HOME": str(tmp_path / "home"), "PATH": str(tmp_path / "bin")}
    assert npm_root(env) == root
    config = load_npm_config(tmp_path, env=env)
    assert config.sources == (root / "npmrc", tmp_path / "home/.npmrc")
    assert config.get("prefix") == "/usr/local"
    assert config.registry == "https://user.example/"


def test_a_file_over_the_limit_found_through_userconfig_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"#" * (NPMRC_BYTES + 1))
    (tmp_path / ".npmrc").write_text(f"userconfig={tmp_path}/big\n")
    (tmp_path / "package.json").write_text("{}")
    env = {"HOME": str(tmp_path / "h"), "PATH": "", "PREFIX": str(tmp_path)}
    with pytest.raises(UsageError, match="big"):
        load_npm_config(tmp_path, env=env)


def test_bad_utf8_is_read_with_replacement_as_node_reads_it(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / ".npmrc").write_bytes(b"x=\xff\nregistry=https://p.example/\n")
    env = {"HOME": str(tmp_path / "h"), "PATH": "", "PREFIX": str(tmp_path)}
    config = load_npm_config(tmp_path, env=env)
    assert config.registry == "https://p.example/"
    assert config.get("x") == "\ufffd"
