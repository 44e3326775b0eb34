"""Rebuild the package-manager oracles for the pnpm and yarn lockfiles in the shared data.

    .venv/bin/python scripts/lockfile_oracles.py [--tools DIR] [--only SUBSTRING]

Needs node and npm, and the npm registry once (to install the tools into ``--tools``, default
``$TMPDIR/npmguard-oracle-tools``); the package managers then run offline against stand-in
projects. Writes ``tests/fixtures/lockfiles/oracles/<format>/<lockfile>.<kind>.json.gz``, which
``tests/lockfile/test_pm_oracles.py`` compares with what npmguard reads. Each file is the tool's
own output, trimmed to the fields the test reads (integrity strings and dependency lists are
dropped: they are most of the bytes and the test does not use them).

How each tool is asked (``*__package.json`` in the shared data is the project's root manifest):

- pnpm 9.x lockfiles: ``pnpm ls -r --depth Infinity --json --lockfile-only`` (pnpm 10.34.9),
  in a stand-in workspace: ``pnpm-workspace.yaml`` naming every importer, a package.json per
  importer with the specifiers the lockfile records (named after the ``link:`` that points at
  it), the catalogs.
- pnpm 5.x and 6.x lockfiles: pnpm 7.33.7 (5.x) and 8.15.9 (6.x), which have no
  ``--lockfile-only`` listing. ``pnpm audit`` walks the lockfile with pnpm's own walker and
  ``nameVerFromPkgSnapshot`` and posts the tree to the registry; a loopback server here
  receives it. One line of the CLI bundle is changed, in a copy: the tree is keyed by
  dependency path instead of by name, because keyed by name a second dependency of the same
  name (``slash`` and ``slash3: npm:slash@3``) overwrites the first.
- yarn classic: ``yarn list --json --offline --frozen-lockfile`` (yarn 1.22.22) with stand-in
  workspaces holding the lockfile's root patterns (no entry depends on them) and, for patterns
  no entry satisfies, workspaces of that name (yarn classic does not lock workspaces). yarn's
  own parser (``@yarnpkg/lockfile``) gives each entry's ``resolved``, to tell registry packages
  from the rest and aliases from real names.
- Yarn Berry: ``yarn info --all --recursive --json`` with the yarn that wrote the file
  (``__metadata`` 4: 2.4.2; 8: 4.9.2; 10: 4.17.1), workspaces recreated from the lockfile's
  ``workspace:`` entries, the root's ``resolutions`` from the shared package.json, network off.
  ``yarn install --immutable`` then reports the entries yarn would drop from the lockfile
  (stale ones), saved as ``stale``: npmguard reads every entry, these included.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NPMGUARD_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "tests" / "fixtures" / "lockfiles" / "oracles"
TOOLS = {
    "pnpm7": "pnpm@7.33.7",
    "pnpm8": "pnpm@8.15.9",
    "pnpm10": "pnpm@10.34.9",
    "yarn1": "yarn@1.22.22",
    "berry2": "@yarnpkg/cli-dist@2.4.2",
    "berry49": "@yarnpkg/cli-dist@4.9.2",
    "berry417": "@yarnpkg/cli-dist@4.17.1",
    "yarnlib": "@yarnpkg/lockfile@1.1.0",
    "semver": "semver@7.7.2",
}
BERRY_BY_METADATA = {"4": "berry2", "8": "berry49", "10": "berry417"}
PATCH_STUB = (
    "diff --git a/npmguard-stub.txt b/npmguard-stub.txt\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/npmguard-stub.txt\n@@ -0,0 +1 @@\n+stub\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--tools", type=Path, default=Path(tempfile.gettempdir()) / "npmguard-oracle-tools"
    )
    parser.add_argument("--only", default="", help="only lockfiles whose path contains this")
    args = parser.parse_args()
    tools = install_tools(args.tools)
    rows = [
        r
        for r in manifest_rows()
        if r["format"].startswith(("pnpm", "yarn")) and args.only in r["path"]
    ]
    for row in rows:
        src = SHARED / "lockfiles" / row["path"]
        text = gzip.decompress(src.read_bytes()).decode("utf-8")
        root_manifest = json.loads(
            (src.parent / src.name.replace(src.name.split("__")[-1], "package.json")).read_text()
        )
        base = Path(row["path"]).name.removesuffix(".gz")
        out = OUT / row["format"]
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="npmguard-oracle-") as tmp:
            work = Path(tmp)
            if row["format"] == "pnpm-v9":
                data = pnpm_ls(tools, text, root_manifest, work)
                save(out / f"{base}.pnpm-ls.json.gz", data)
            elif row["format"].startswith("pnpm"):
                tool = "pnpm7" if row["format"] == "pnpm-v5" else "pnpm8"
                save(out / f"{base}.pnpm-audit-tree.json.gz", pnpm_audit(tools, tool, text, work))
            elif row["format"] == "yarn-v1":
                save(out / f"{base}.yarn-list.json.gz", yarn_classic(tools, text, work))
            else:
                save(
                    out / f"{base}.yarn-info.json.gz", yarn_berry(tools, text, root_manifest, work)
                )
        print(f"{row['path']}: done", file=sys.stderr)
    return 0


def manifest_rows() -> list[dict[str, str]]:
    import csv

    with (SHARED / "lockfiles" / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def save(path: Path, data: Any) -> None:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def run(cmd: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done


def install_tools(base: Path) -> dict[str, Path]:
    """Each tool in its own prefix (several versions of one package side by side)."""
    found = {}
    for key, spec in TOOLS.items():
        prefix = base / key
        name = spec.rsplit("@", 1)[0]
        if not (prefix / "node_modules" / name / "package.json").is_file():
            prefix.mkdir(parents=True, exist_ok=True)
            run(
                [
                    "npm",
                    "install",
                    "--prefix",
                    str(prefix),
                    "--no-save",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    spec,
                ],
                prefix,
            )
        found[key] = prefix / "node_modules" / name
    for key in ("pnpm7", "pnpm8"):  # the one-line patch described in the module docs
        bundle = found[key] / "dist" / "pnpm.cjs"
        source = bundle.read_text(encoding="utf-8")
        start = source.index("function lockfileToAuditNode(")
        old = "dependencies[name] = dep;"
        at = source.index(old, start)
        patched = (
            source[:at]
            + "dependencies[depPath] = Object.assign(dep, { name });"
            + source[at + len(old) :]
        )
        (bundle.parent / "pnpm-oracle.cjs").write_text(patched, encoding="utf-8")
    return found


# -- pnpm ------------------------------------------------------------------------------------


def pnpm_project(text: str, root_manifest: dict[str, Any], work: Path) -> dict[str, Any]:
    """Stand-in workspace for a pnpm lockfile; returns the parsed lockfile."""
    doc = yaml.load(text, Loader=yaml.CBaseLoader)
    (work / "pnpm-lock.yaml").write_text(text, encoding="utf-8")
    importers = doc.get("importers") or {
        ".": {
            k: doc[k]
            for k in ("specifiers", "dependencies", "devDependencies", "optionalDependencies")
            if k in doc
        }
    }
    names: dict[str, str] = {}
    for project, importer in importers.items():
        for fld in ("dependencies", "devDependencies", "optionalDependencies"):
            for alias, ref in (importer.get(fld) or {}).items():
                ref = ref["version"] if isinstance(ref, dict) else ref
                if ref.startswith("link:"):
                    names.setdefault(posixpath.normpath(posixpath.join(project, ref[5:])), alias)
    for project, importer in importers.items():
        manifest: dict[str, Any] = {
            "name": names.get(project, f"stub-{project.replace('/', '-')}"),
            "version": "0.0.0",
        }
        specs = importer.get("specifiers") or {}
        for fld in ("dependencies", "devDependencies", "optionalDependencies"):
            deps = {
                alias: ref["specifier"] if isinstance(ref, dict) else specs.get(alias, "*")
                for alias, ref in (importer.get(fld) or {}).items()
            }
            if deps:
                manifest[fld] = deps
        if project == "." and root_manifest.get("pnpm"):
            manifest["pnpm"] = {
                k: v for k, v in root_manifest["pnpm"].items() if k != "patchedDependencies"
            }
        (work / project).mkdir(parents=True, exist_ok=True)
        (work / project / "package.json").write_text(json.dumps(manifest, indent=1))
    workspace: dict[str, Any] = {"packages": [p for p in importers if p != "."]}
    catalogs = doc.get("catalogs") or {}
    if catalogs:
        workspace["catalog"] = {k: v["specifier"] for k, v in catalogs.get("default", {}).items()}
        workspace["catalogs"] = {
            n: {k: v["specifier"] for k, v in c.items()}
            for n, c in catalogs.items()
            if n != "default"
        }
    (work / "pnpm-workspace.yaml").write_text(yaml.safe_dump(workspace))
    return doc


def pnpm_ls(tools: dict[str, Path], text: str, root_manifest: dict[str, Any], work: Path) -> Any:
    pnpm_project(text, root_manifest, work)
    done = run(
        [
            "node",
            str(tools["pnpm10"] / "bin" / "pnpm.cjs"),
            "ls",
            "-r",
            "--depth",
            "Infinity",
            "--json",
            "--lockfile-only",
        ],
        work,
    )
    listing = json.loads(done.stdout)

    def trim(node: dict[str, Any]) -> dict[str, Any]:
        out = {k: node[k] for k in ("version", "resolved") if k in node}
        for fld in (
            "dependencies",
            "devDependencies",
            "optionalDependencies",
            "unsavedDependencies",
        ):
            if node.get(fld):
                out[fld] = {alias: trim(child) for alias, child in node[fld].items()}
        return out

    return {
        "tool": "pnpm 10.34.9",
        "command": "pnpm ls -r --depth Infinity --json --lockfile-only",
        "projects": [trim(p) for p in listing],
    }


class _Capture(http.server.BaseHTTPRequestHandler):
    body: bytes = b""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        type(self).body = raw
        reply = json.dumps(
            {
                "actions": [],
                "advisories": {},
                "muted": [],
                "metadata": {
                    "vulnerabilities": {
                        k: 0 for k in ("info", "low", "moderate", "high", "critical")
                    },
                    "dependencies": 0,
                    "devDependencies": 0,
                    "optionalDependencies": 0,
                    "totalDependencies": 0,
                },
            }
        )
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args: Any) -> None:
        pass


def pnpm_audit(tools: dict[str, Path], tool: str, text: str, work: Path) -> Any:
    pnpm_project(text, {}, work)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run(
            [
                "node",
                str(tools[tool] / "dist" / "pnpm-oracle.cjs"),
                "audit",
                "--json",
                "--registry",
                f"http://127.0.0.1:{server.server_address[1]}/",
            ],
            work,
            check=False,
        )
    finally:
        server.shutdown()
    tree = json.loads(_Capture.body)

    def trim(node: dict[str, Any]) -> dict[str, Any]:
        out = {k: node[k] for k in ("name", "version", "dev") if k in node}
        if node.get("dependencies"):
            out["dependencies"] = {k: trim(v) for k, v in node["dependencies"].items()}
        return out

    version = TOOLS[tool].rsplit("@", 1)[1]
    return {
        "tool": f"pnpm {version} (audit tree keyed by dependency path)",
        "command": "pnpm audit --json --registry <loopback>",
        "importers": {k: trim(v) for k, v in tree["dependencies"].items()},
    }


# -- yarn classic ----------------------------------------------------------------------------

_YARN1_STUB = r"""
const lf = require(process.argv[1]); const semver = require(process.argv[2]);
const fs = require('fs'), path = require('path'); const out = process.argv[3];
const obj = lf.parse(fs.readFileSync(path.join(out, 'yarn.lock'), 'utf8')).object;
const split = (p) => { const i = p.indexOf('@', 1); return [p.slice(0, i), p.slice(i + 1)]; };
const referenced = new Set(), missing = new Map();
for (const e of Object.values(obj)) for (const f of ['dependencies', 'optionalDependencies'])
  for (const [n, r] of Object.entries(e[f] || {})) {
    const p = `${n}@${r}`; referenced.add(p);
    if (!(p in obj)) { if (!missing.has(n)) missing.set(n, new Set()); missing.get(n).add(r); }
  }
const stubs = [];
for (const p of Object.keys(obj).filter(p => !referenced.has(p))) {
  const [n, r] = split(p);
  let s = stubs.find(s => !(n in s.dependencies));
  if (!s) {
    s = {name: `stub-w${stubs.length}`, version: '0.0.0', dependencies: {}};
    stubs.push(s);
  }
  s.dependencies[n] = r;
}
const dirs = []; let i = 0;
const write = (d, m) => { dirs.push(d); fs.mkdirSync(path.join(out, d), {recursive: true});
  fs.writeFileSync(path.join(out, d, 'package.json'), JSON.stringify(m)); };
for (const s of stubs) write(`stubs/w${i++}`, s);
for (const [n, ranges] of missing) {
  let v = '1.0.0'; for (const r of ranges) { const m = semver.minVersion(r); if (m) v = m.version; }
  write(`stubs/w${i++}`, {name: n, version: v});
}
const root = {name: 'stub-root', private: true, workspaces: dirs};
fs.writeFileSync(path.join(out, 'package.json'), JSON.stringify(root));
// name@version (as `yarn list` names them: aliases by alias) -> resolved, without the #sha1
// fragment: 40 incompressible digits per entry that the test does not read
const reduced = {}; for (const [k, e] of Object.entries(obj))
  reduced[`${split(k)[0]}@${e.version}`] =
    /^https?:/.test(e.resolved || '') ? e.resolved.split('#')[0] : e.resolved;
// and a digest of yarn's whole parse (every key and field), to compare npmguard's parser with
const sorted = (v) => (v && typeof v === 'object' && !Array.isArray(v))
  ? Object.fromEntries(Object.keys(v).sort().map(k => [k, sorted(v[k])])) : v;
const digest = require('crypto').createHash('sha256')
  .update(JSON.stringify(sorted(obj))).digest('hex');
process.stdout.write(JSON.stringify({resolved: reduced, parse_sha256: digest}));
"""


def yarn_classic(tools: dict[str, Path], text: str, work: Path) -> Any:
    (work / "yarn.lock").write_text(text, encoding="utf-8")
    parsed = run(
        ["node", "-e", _YARN1_STUB, str(tools["yarnlib"]), str(tools["semver"]), str(work)], work
    )
    done = run(
        [
            "node",
            str(tools["yarn1"] / "bin" / "yarn.js"),
            "list",
            "--json",
            "--offline",
            "--frozen-lockfile",
            "--ignore-engines",
        ],
        work,
    )
    tree = next(json.loads(line) for line in done.stdout.splitlines() if '"type":"tree"' in line)

    def trim(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "name": n["name"],
                **({"shadow": True} if n.get("shadow") else {}),
                **({"children": trim(n["children"])} if n.get("children") else {}),
            }
            for n in nodes
        ]

    return {
        "tool": "yarn 1.22.22",
        "command": "yarn list --json --offline --frozen-lockfile",
        "trees": trim(tree["data"]["trees"]),
        **json.loads(parsed.stdout),  # resolved, parse_sha256
        "parse": "parse_sha256: sha256 of @yarnpkg/lockfile's parse as compact JSON, keys sorted",
    }


# -- yarn berry ------------------------------------------------------------------------------


def yarn_berry(tools: dict[str, Path], text: str, root_manifest: dict[str, Any], work: Path) -> Any:
    doc = yaml.load(text, Loader=yaml.CBaseLoader)
    tool = BERRY_BY_METADATA[doc["__metadata"]["version"]]
    (work / "yarn.lock").write_text(text, encoding="utf-8")
    workspaces: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, entry in doc.items():
        if key == "__metadata":
            continue
        at = entry["resolution"].index("@", 1)
        name, ref = entry["resolution"][:at], entry["resolution"][at + 1 :]
        if ref.startswith("workspace:"):
            workspaces[ref[len("workspace:") :]] = (name, entry)
    for folder, (name, entry) in workspaces.items():
        manifest: dict[str, Any] = {
            "name": name,
            "version": entry.get("version", "0.0.0").replace("0.0.0-use.local", "0.0.0"),
        }
        for fld in ("dependencies", "peerDependencies", "peerDependenciesMeta", "bin"):
            if entry.get(fld):
                manifest[fld] = entry[fld]
        if folder == ".":
            manifest.update(private=True, workspaces=[f for f in sorted(workspaces) if f != "."])
            if "resolutions" in root_manifest:
                manifest["resolutions"] = root_manifest["resolutions"]
        (work / folder).mkdir(parents=True, exist_ok=True)
        (work / folder / "package.json").write_text(json.dumps(manifest, indent=1))
    (work / ".yarnrc.yml").write_text(
        "enableNetwork: false\nenableTelemetry: false\nenableGlobalCache: false\n"
    )
    yarn = ["node", str(next((tools[tool] / "bin").glob("yarn.js")))]
    done = run([*yarn, "info", "--all", "--recursive", "--json"], work)
    packages = []
    for line in done.stdout.splitlines():
        item = json.loads(line)
        packages.append(
            {"value": item["value"], "version": item.get("children", {}).get("Version")}
        )
    for patch in set(
        re.findall(r"\./\.yarn/patches/[^#:\"]+\.patch|\./patches/[^#:\"]+\.patch", text)
    ):
        (work / patch).parent.mkdir(parents=True, exist_ok=True)
        (work / patch).write_text(PATCH_STUB)
    check = run([*yarn, "install", "--immutable", "--mode=skip-build"], work, check=False)
    stale = sorted(set(re.findall(r'YN0028: │ -(?! )"?([^"\n]+?)"?:$', check.stdout, re.MULTILINE)))
    version = TOOLS[tool].rsplit("@", 1)[1]
    return {
        "tool": f"yarn {version}",
        "command": "yarn info --all --recursive --json",
        "packages": packages,
        "stale": {
            "command": "yarn install --immutable --mode=skip-build (removed entries)",
            "keys": stale,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
