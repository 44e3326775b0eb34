"""Live-shaped campaign packages and ordinary controls for ``live_shapes.py``.

The campaign side follows the public write-ups of the IndonesianFoods campaign (2023-2025) and
the 2024 tea.xyz waves: every account publishes from one script, so its packages share a
template (a Next.js or Vite app with real dependencies, code cloned from a small utility, a
stub, or nothing but a README); many carry a ``tea.yaml`` naming a wallet; many ship the
script itself (``auto.js``, ``publishScript.js``, ...) that removes ``"private": true``, makes
up a new name and version and runs ``npm publish`` in a loop; and packages depend on other
packages of the same account. Publish times are seconds apart (one every ~7 s in the 2025
wave) or spread over days, the publisher is the account. Names come from the campaign list
(``../shared/data/campaign/``); nothing here is shipped with npmguard.

Each account draws its own template, loop style, script file name and signal mix from a seeded
random generator, so the rules meet the kind of package, not one file.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

NOW = datetime.now(timezone.utc).replace(microsecond=0)

# --- campaign content --------------------------------------------------------------------------

TEMPLATES = ("next-app", "vite-app", "cloned-lib", "stub", "empty")

_UTILS = (
    "function clamp(n, lo, hi) {\n  return Math.min(hi, Math.max(lo, n));\n}\n"
    "module.exports = clamp;\n",
    "module.exports = function chunk(list, size) {\n  const out = [];\n"
    "  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));\n"
    "  return out;\n};\n",
    "exports.slugify = (s) => String(s).toLowerCase().trim()\n"
    "  .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');\n",
    "module.exports = function debounce(fn, wait) {\n  let t;\n  return function (...args) {\n"
    "    clearTimeout(t);\n    t = setTimeout(() => fn.apply(this, args), wait);\n  };\n};\n",
    "const isObject = (v) => v && typeof v === 'object' && !Array.isArray(v);\n"
    "function merge(a, b) {\n  const out = { ...a };\n  for (const k of Object.keys(b)) {\n"
    "    out[k] = isObject(a[k]) && isObject(b[k]) ? merge(a[k], b[k]) : b[k];\n  }\n"
    "  return out;\n}\nmodule.exports = merge;\n",
    "module.exports = (s, n, c = ' ') => String(s).padStart(n, c);\n",
    "export function capitalize(s) {\n  return s.charAt(0).toUpperCase() + s.slice(1);\n}\n",
)

_LOOPS = {
    # a while(true) loop with async sleeps, the 2025 auto.js shape
    "while-true": """const {{ execSync }} = require('child_process');
const fs = require('fs');
const {words} = {pool};
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {{
  while (true) {{
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
    delete pkg.private;
    pkg.name = `${{pick({words})}}-${{pick({words})}}${{Math.floor(Math.random() * 100)}}-{suffix}`;
    pkg.version = `1.${{Math.floor(Math.random() * 50)}}.${{Math.floor(Math.random() * 999)}}`;
    fs.writeFileSync('package.json', JSON.stringify(pkg, null, 2));
    try {{ execSync('npm publish --access public', {{ stdio: 'inherit' }}); }} catch (e) {{}}
    await sleep(7000);
  }}
}})();
""",
    "for-ever": """const cp = require('child_process');
const fs = require('fs');
const file = require('path').join(__dirname, 'package.json');
const {words} = {pool};
for (;;) {{
  const meta = require(file);
  meta.private = false;
  meta.name = {words}[Math.random() * {words}.length | 0] + '-' + Date.now().toString(36);
  meta.version = '0.0.' + Math.floor(Math.random() * 10000);
  fs.writeFileSync(file, JSON.stringify(meta));
  cp.spawnSync('npm', ['publish', '--access', 'public'], {{ stdio: 'inherit' }});
}}
""",
    "interval": """import {{ exec }} from 'child_process';
import {{ readFileSync, writeFileSync }} from 'fs';
const {words} = {pool};
let n = 0;
setInterval(() => {{
  const pkg = JSON.parse(readFileSync('./package.json'));
  pkg.name = `{suffix}-${{{words}[n % {words}.length]}}${{n++}}`;
  pkg.version = `2.0.${{n}}`;
  writeFileSync('./package.json', JSON.stringify(pkg, null, 2));
  exec('npm publish --access public');
}}, 10000);
""",
    "recursive": """const {{ execSync }} = require("child_process");
const fs = require("fs");
const {words} = {pool};
function rand(a) {{ return a[Math.floor(Math.random() * a.length)]; }}
function publishOnce() {{
  const data = JSON.parse(fs.readFileSync("package.json"));
  data.name = rand({words}) + rand({words}) + Math.floor(Math.random() * 999);
  data.version = [1, 0, Math.floor(Math.random() * 1e4)].join(".");
  fs.writeFileSync("package.json", JSON.stringify(data, null, 2));
  execSync("npm publish");
  setTimeout(publishOnce, 5000);
}}
publishOnce();
""",
    "shell-while": """#!/bin/bash
# keep publishing
while true; do
  NAME="{suffix}-$(shuf -n1 words.txt)$((RANDOM % 100))"
  VER="1.0.$((RANDOM % 1000))"
  sed -i "s/\\"name\\": \\".*\\"/\\"name\\": \\"$NAME\\"/" package.json
  sed -i "s/\\"version\\": \\".*\\"/\\"version\\": \\"$VER\\"/" package.json
  npm publish --access public
  sleep 7
done
""",
    "shell-seq": """#!/usr/bin/env sh
for i in $(seq 1 1000); do
  jq ".name = \\"{suffix}-$i\\" | .version = \\"0.1.$i\\" | del(.private)" package.json > p.tmp
  mv p.tmp package.json
  npm publish
done
""",
}
_SCRIPT_FILES = {
    "js": ("auto.js", "publishScript.js", "publish.js", "bot.js", "run.cjs", "index.js"),
    "mjs": ("auto.mjs", "publish.mjs"),
    "sh": ("publish.sh", "auto.sh", "scripts/loop.sh", "run.sh"),
}


def tea_yaml(wallet: str, style: int) -> str:
    lines = ["---", "version: 1.0.0", "codeOwners:", f"  - '{wallet}'", "quorum: 1", ""]
    if style == 1:
        lines.insert(0, "# https://tea.xyz/what-is-this-file")
    if style == 2:
        lines = ["version: 1.0.0", "codeOwners:", f"  - {wallet}", "quorum: 1", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Profile:
    """How one account publishes: its template, script style and signal mix."""

    account: str
    seen: bool  # the word lists were designed on this account's names
    template: str
    loop: str
    script_file: str
    script_referenced: bool  # package.json "scripts" runs the file
    tea_share: float
    tea_file: str
    tea_style: int
    script_share: float
    wallet: str
    burst_seconds: tuple[int, int]  # gap between two publishes
    suffix: str


def profile(account: str, seen: bool) -> Profile:
    rnd = random.Random(f"profile:{account}")
    loop = rnd.choice(sorted(_LOOPS))
    kind = "sh" if loop.startswith("shell") else ("mjs" if loop == "interval" else "js")
    slow = rnd.random() < 0.25  # some accounts publish over days, not in one burst
    return Profile(
        account=account,
        seen=seen,
        template=rnd.choice(TEMPLATES),
        loop=loop,
        script_file=rnd.choice(_SCRIPT_FILES[kind]),
        script_referenced=rnd.random() < 0.3,
        tea_share=rnd.choice((0.0, 0.3, 0.5, 0.8, 1.0)),
        tea_file=rnd.choice(("tea.yaml", "tea.yaml", "tea.yml")),
        tea_style=rnd.randrange(3),
        script_share=rnd.choice((0.0, 0.2, 0.5, 0.8)),
        wallet="0x" + "".join(rnd.choice("0123456789abcdef") for _ in range(40)),
        burst_seconds=(3600, 4 * 86400) if slow else (4, 60),
        suffix="".join(rnd.choice("aeioukrstmnbl") for _ in range(5)),
    )


@dataclass
class Planned:
    """One package version to publish on the loopback registry."""

    name: str
    version: str
    files: dict[str, str]
    manifest: dict[str, object]  # package.json as served (the tarball's own is in files)
    publisher: str
    published: datetime
    dependencies: dict[str, str] = field(default_factory=dict)
    history: list[tuple[str, datetime]] = field(default_factory=list)  # earlier versions
    kind: str = "campaign"  # "campaign" or "control"
    account: str = ""
    seen: bool = False
    shape: str = ""  # what it carries, for the table
    planted: tuple[str, ...] = ()  # content and graph signals built into it


def _template_files(template: str, name: str, rnd: random.Random) -> tuple[dict[str, str], bool]:
    """(files, is a library with a main) for a template."""
    readme = f"# {name}\n\n"
    if template == "next-app":
        page = "app/page.tsx" if rnd.random() < 0.6 else "pages/index.js"
        return {
            "README.md": readme + "This is a Next.js project bootstrapped with create-next-app.\n",
            rnd.choice(("next.config.js", "next.config.mjs")): "module.exports = {};\n",
            page: "export default function Home() {\n  return <main>Hello</main>;\n}\n",
            "app/layout.tsx": "export default function Root({ children }) { return children; }\n",
            "public/next.svg": "<svg></svg>\n",
        }, False
    if template == "vite-app":
        return {
            "README.md": readme + "React + Vite\n",
            "index.html": '<div id="root"></div><script type="module" src="/src/main.jsx">',
            "vite.config.js": "export default {};\n",
            "src/main.jsx": "import App from './App.jsx';\n",
            "src/App.jsx": "export default function App() { return <h1>Vite</h1>; }\n",
        }, False
    if template == "cloned-lib":
        return {
            "README.md": readme
            + "A small utility.\n\n```js\nconst f = require('"
            + name
            + "')\n```\n",
            "index.js": rnd.choice(_UTILS),
            "LICENSE": "MIT License\n",
        }, True
    if template == "stub":
        return {"index.js": f"console.log('Hello from {name}');\n", "README.md": readme}, True
    return {"README.md": readme + "Coming soon.\n"}, False


def campaign_package(
    name: str, prof: Profile, rnd: random.Random, when: datetime, words: list[str]
) -> Planned:
    files, library = _template_files(prof.template, name, rnd)
    planted: list[str] = []
    if prof.template in ("next-app", "vite-app"):
        planted.append("app-template")
    elif prof.template == "empty":
        planted.append("no-code")
    scripts: dict[str, str] = {}
    if prof.template == "next-app":
        scripts = {"dev": "next dev", "build": "next build", "start": "next start"}
    elif prof.template == "vite-app":
        scripts = {"dev": "vite", "build": "vite build"}
    if rnd.random() < prof.tea_share:
        files[prof.tea_file] = tea_yaml(prof.wallet, prof.tea_style)
        planted.append("tea.yaml")
    if rnd.random() < prof.script_share:
        pool = json.dumps(rnd.sample(words, min(6, len(words))))
        text = _LOOPS[prof.loop].format(words="names", pool=pool, suffix=prof.suffix)
        files[prof.script_file] = text
        if prof.script_referenced:
            runner = "bash" if prof.script_file.endswith(".sh") else "node"
            scripts["auto"] = f"{runner} {prof.script_file}"
        planted.append("autopublish")
    version = rnd.choice(
        (
            f"1.0.{rnd.randrange(100)}",
            f"{rnd.randrange(1, 30)}.{rnd.randrange(10)}.{rnd.randrange(1000)}",
            "1.0.0",
        )
    )
    manifest: dict[str, object] = {"name": name, "version": version, "license": "ISC"}
    manifest["description"] = rnd.choice(("", f"{name} package", "My first package"))
    if library:
        manifest["main"] = "index.js"
    if scripts:
        manifest["scripts"] = scripts
    if prof.template == "next-app":
        manifest["dependencies"] = {"next": "^15.0.0", "react": "^19.0.0", "react-dom": "^19.0.0"}
    elif prof.template == "vite-app":
        manifest["dependencies"] = {"react": "^19.0.0", "react-dom": "^19.0.0"}
    shape = "+".join(planted) if planted else "name-only"
    return Planned(
        name=name,
        version=version,
        files=files,
        manifest=manifest,
        publisher=prof.account,
        published=when,
        dependencies=dict(manifest.get("dependencies") or {}),  # type: ignore[call-overload]
        account=prof.account,
        seen=prof.seen,
        shape=shape,
        planted=tuple(planted),
    )


# --- ordinary packages -------------------------------------------------------------------------

PEOPLE = ("mjackson", "ljharb", "sindre", "tjholo", "isaacs-test", "wooorm", "kettanaito")

# real npm names that spam-name flagged before this round (docs/measurements.md): ordinary
# packages whose names happen to look generated, some of them families from one publisher
FLAGGED_LOOKALIKES = (
    ("neutrino-middleware-html-loader", "neutrino-middleware-loader-merge",
     "neutrino-middleware-html-template"),
    ("react-cosmos-router-proxy", "react-cosmos-redux-proxy"),
    ("tikuidoc-tikui",), ("yasgui-yasqe",), ("priyanshu-fca",), ("angry-purple-tiger",),
    ("chaos-guinea-pig",), ("minmax-wt-alpha-beta-pruning",), ("nail-salon",),
)  # fmt: skip
# a brand-new monorepo whose generated-looking names share one scope
NEW_SCOPED_FAMILY = (
    "@subql/x-cosmology-utils", "@subql/x-cosmology-types", "@subql/x-cosmology-ast",
    "@subql/x-cosmology-telescope",
)  # fmt: skip
MODULAR_FAMILY = ("lodash.get", "lodash.set", "lodash.merge", "lodash.debounce", "lodash.pick")
MONOREPO = ("button", "dialog", "theme", "icons", "utils", "core")


_LAYOUTS = (
    ("index.js",),
    ("index.js", "lib/core.js", "lib/util.js"),
    ("dist/index.js", "dist/index.mjs", "dist/index.d.ts"),
    ("lib/index.js", "lib/index.d.ts", "CHANGELOG.md"),
    ("src/index.js", "src/parse.js", "index.js", "HISTORY.md"),
)


def _library_files(name: str, rnd: random.Random) -> dict[str, str]:
    """A real library's shape: its own layout and code of its own size."""
    files = {"README.md": f"# {name}\n\n" + "Usage: see the docs.\n" * rnd.randrange(1, 40)}
    if rnd.random() < 0.8:
        files["LICENSE"] = "MIT License\n" + "Permission is hereby granted.\n" * rnd.randrange(3)
    for path in rnd.choice(_LAYOUTS):
        if path.endswith(".md"):
            files[path] = "## 1.0.0\n" * rnd.randrange(1, 30)
            continue
        body = "\n".join(rnd.sample(_UTILS, rnd.randrange(1, 4)))
        files[path] = f"// {name}: {path}\n" + body + "/* pad */\n" * rnd.randrange(0, 400)
    return files


def control_package(
    name: str,
    rnd: random.Random,
    *,
    shape: str = "library",
    publisher: str | None = None,
    latest_at: datetime | None = None,
    history_years: float | None = None,
    files: dict[str, str] | None = None,
    version: str | None = None,
) -> Planned:
    """An ordinary library: code, a README, a licence, a release history over years."""
    publisher = publisher or rnd.choice(PEOPLE)
    latest_at = latest_at or NOW - timedelta(days=rnd.randrange(20, 400))
    years = rnd.uniform(1, 6) if history_years is None else history_years
    count = rnd.randrange(4, 14) if years else 0
    history = [
        (f"{i // 5}.{i % 5}.0", latest_at - timedelta(days=years * 365 * (count - i) / count))
        for i in range(count)
    ]
    version = version or f"{count // 5}.{count % 5}.{rnd.randrange(1, 9)}"
    body = files or _library_files(name, rnd)
    manifest: dict[str, object] = {
        "name": name,
        "version": version,
        "description": f"{name.split('/')[-1].replace('-', ' ')} for node and the browser",
        "main": "index.js",
        "license": "MIT",
        "repository": {"type": "git", "url": f"git+https://example.org/{publisher}/{name}.git"},
    }
    return Planned(
        name=name,
        version=version,
        files=dict(body),
        manifest=manifest,
        publisher=publisher,
        published=latest_at,
        history=history,
        kind="control",
        shape=shape,
    )
