"""What hostile answers cost (issue 13): time and peak memory of ``npmguard check`` against a
loopback registry that serves huge, flooded, dripping or cut documents.

    .venv/bin/python benchmarks/bench_hostile.py            # every scenario
    .venv/bin/python benchmarks/bench_hostile.py --only versions-10000,drip

Scenarios (each a fresh ``python -m npmguard check`` child; peak memory is its
``ru_maxrss``; the popular-names store is built once beforehand, as a user's cache has it):

- ``versions-10000`` / ``versions-100000``: one package whose document lists that many
  versions, all published within a day (so ``version-flood`` fires), every strict rule on;
  cold, then warm. Targets: cold <= 10 s, warm <= 2 s (the quadratic version-flood took 60 s
  at 10,000 and did not finish at 100,000).
- ``packument-300mb``: a 300 MB document, with and without ``Content-Length``: refused at the
  100 MB limit as it arrives (exit 3). Target: peak <= 250 MB (it was 933 MB).
- ``packument-90mb``: a 90 MB document, under the limit: read and judged. Reported.
- ``drip``: a server sending one byte every 3 s with ``fetch-timeout=5000``: the whole run.
  Target: <= 15 s (it held a run for 409 s).
- ``long-name``: a 40,000-character package name through the text, JSON and SARIF reports
  (``--lockfile-only``). Target: <= 3 s each (the URL scrubber took 12 s).

Runs offline: the registry is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakeregistry import FakeRegistry, Misbehaviour, build_tarball, sri_sha512  # noqa: E402

SCENARIOS = (
    "versions-10000",
    "versions-100000",
    "packument-300mb",
    "packument-90mb",
    "drip",
    "long-name",
)
TARGETS = {
    "versions-10000 cold": 10.0,
    "versions-10000 warm": 2.0,
    "versions-100000 cold": 20.0,
    "versions-100000 warm": 4.0,
    "packument-300mb peak MB": 250.0,
    "drip s": 15.0,
    "long-name s": 3.0,
}


# A child's peak RSS (ru_maxrss) counts what it inherited from the process that forked it,
# and this process holds the registry's documents: the check is started by a small launcher
# process instead, which reports its own child's figures.
LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - started} {usage.ru_maxrss} {code}")
"""


def run_check(folder: Path, env: dict[str, str], *extra: str) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, stderr) of one ``npmguard check`` child."""
    cmd = [sys.executable, "-m", "npmguard", "check", str(folder / "package-lock.json")]
    cmd += ["-q", "--format", "json", "-o", str(folder / "report.json"), *extra]
    figures = folder / "figures.txt"
    with tempfile.TemporaryFile() as err:
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(figures), *cmd], env=env, stderr=err, check=True
        )
        err.seek(0)
        text = err.read().decode(errors="replace")
    seconds, peak_kb, code = figures.read_text().split()
    return float(seconds), int(peak_kb) / 1024, int(code), text


def project(reg: FakeRegistry, folder: Path, name: str, version: str, npmrc: str = "") -> Path:
    """A project locking ``name@version``, whose tarball the registry serves."""
    folder.mkdir(parents=True, exist_ok=True)
    tarball = build_tarball(
        {"package/package.json": json.dumps({"name": name}), "package/i.js": "1"}
    )
    reg.tarballs[f"{name}/-/{name}-{version}.tgz"] = tarball
    lock = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {name: version}},
            f"node_modules/{name}": {
                "version": version,
                "resolved": f"{reg.url}{name}/-/{name}-{version}.tgz",
                "integrity": sri_sha512(tarball),
            },
        },
    }
    (folder / "package-lock.json").write_text(json.dumps(lock))
    (folder / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    (folder / ".npmrc").write_text(f"registry={reg.url}\n{npmrc}")
    (folder / "npmguard.toml").write_text('extends = ["npmguard:strict"]\n')
    return folder


def flood_document(name: str, count: int) -> bytes:
    versions = {}
    times = {"created": "2019-06-01T00:00:00.000Z", "modified": "2019-06-02T00:00:00.000Z"}
    for i in range(count):
        v = f"1.{i // 1000}.{i % 1000}"
        versions[v] = {
            "name": name,
            "version": v,
            "_npmUser": {"name": "alice"},
            "dist": {"integrity": "sha512-" + "A" * 86 + "==", "tarball": f"x/{v}.tgz"},
        }
        second = i * 86399 // count  # spread over one day
        times[v] = f"2019-06-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
    return json.dumps(
        {"name": name, "dist-tags": {"latest": "1.0.0"}, "versions": versions, "time": times}
    ).encode()


def big_document(name: str, megabytes: int) -> Callable[[], Iterator[bytes]]:
    """A document of about ``megabytes`` MB, generated as it is sent (10 KB per version)."""
    pad = "x" * 10_000

    def chunks() -> Iterator[bytes]:
        yield f'{{"name": "{name}", "dist-tags": {{"latest": "1.0.0"}}, "versions": {{'.encode()
        count = megabytes * 100
        for i in range(count):
            comma = "," if i < count - 1 else ""
            yield (
                f'"1.{i // 1000}.{i % 1000}": {{"name": "{name}", "readme": "{pad}", '
                f'"_npmUser": {{"name": "alice"}}}}{comma}'
            ).encode()
        yield b"}}"

    return chunks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--only", default=",".join(SCENARIOS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="npmguard-hostile-"))
    env = {
        **os.environ,
        "NPMGUARD_CACHE_DIR": str(work / "cache"),
        "NPMGUARD_DATA_DIR": str(work / "data"),
        "NPM_CONFIG_USERCONFIG": str(work / "no-user-npmrc"),
    }
    env.pop("npm_config_registry", None)
    subprocess.run(
        [sys.executable, "-c", "from npmguard.names.store import open_store; open_store()"],
        env=env,
        check=True,
    )
    reg = FakeRegistry()
    reg.start()
    results: dict[str, float] = {}
    failed = False
    try:
        for scenario in args.only.split(","):
            try:
                results.update(_scenario(scenario, reg, work / scenario, env))
            except AssertionError as e:  # the outcome is not the one expected: say so, go on
                failed = True
                print(f"{scenario}: unexpected outcome {str(e)[:300]}")
    finally:
        reg.stop()
    for key, value in results.items():
        target = TARGETS.get(key)
        mark = "" if target is None else (" ok" if value <= target else f" OVER {target}")
        failed |= target is not None and value > target
        print(f"{key:32} {value:10.2f}{mark}")
    return 1 if failed else 0


def _scenario(name: str, reg: FakeRegistry, folder: Path, env: dict[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    if name.startswith("versions-"):
        count = int(name.split("-")[1])
        pkg = f"flood{count}"
        reg.misbehave(pkg, body=flood_document(pkg, count))
        project(reg, folder, pkg, "1.0.0")
        for run in ("cold", "warm"):
            seconds, peak, code, err = run_check(folder, env)
            assert code in (0, 1), (code, err)
            report = json.loads((folder / "report.json").read_text())
            rules = {f["rule"] for f in report["findings"]}
            assert "version-flood" in rules, (code, err, rules)
            out[f"{name} {run}"] = seconds
            out[f"{name} {run} peak MB"] = peak
    elif name == "packument-300mb":
        for declared in (True, False):
            pkg = f"huge{int(declared)}"
            chunks = big_document(pkg, 300)
            length = sum(len(c) for c in chunks()) if declared else -1
            reg.misbehave(pkg, Misbehaviour(body=chunks, length=length))
            project(reg, folder / pkg, pkg, "1.0.0", "fetch-retries=0\n")
            seconds, peak, code, err = run_check(folder / pkg, env)
            label = "with Content-Length" if declared else "streamed"
            out[f"{name} {label} s"] = seconds
            out[f"{name} {label} peak MB"] = peak
            if code != 3 or "over the 100 MB limit" not in err:
                print(f"{name} {label}: unexpected outcome (exit {code}) {err[:200]}")
        out[f"{name} peak MB"] = max(v for k, v in out.items() if k.endswith("peak MB"))
    elif name == "packument-90mb":
        reg.misbehave("big90", Misbehaviour(body=big_document("big90", 90), length=-1))
        project(reg, folder, "big90", "1.0.0", "fetch-retries=0\n")
        seconds, peak, code, err = run_check(folder, env)
        assert code in (0, 1), (code, err)
        out[f"{name} s"] = seconds
        out[f"{name} peak MB"] = peak
    elif name == "drip":
        reg.misbehave("dripping", Misbehaviour(body=flood_document("dripping", 3), drip=3.0))
        project(reg, folder, "dripping", "1.0.0", "fetch-timeout=5000\n")
        seconds, _, code, err = run_check(folder, env)
        assert code == 3 and "fetch-timeout" in err, (code, err)
        out["drip s"] = seconds
    elif name == "long-name":
        long = "a" * 40_000
        folder.mkdir(parents=True, exist_ok=True)
        resolved = f"https://registry.npmjs.org/{long}/-/{long}-1.0.0.tgz"
        entry = {"version": "1.0.0", "resolved": resolved, "integrity": "sha512-AAAA"}
        doc = {"lockfileVersion": 3, "packages": {"": {}, f"node_modules/{long}": entry}}
        (folder / "package-lock.json").write_text(json.dumps(doc))
        worst = 0.0
        for fmt in ("text", "json", "sarif"):
            seconds, _, code, err = run_check(folder, env, "--lockfile-only", "--format", fmt)
            assert code in (0, 1), (code, err)
            worst = max(worst, seconds)
        out["long-name s"] = worst
    else:
        raise SystemExit(f"unknown scenario {name}")
    return out


if __name__ == "__main__":
    sys.exit(main())
