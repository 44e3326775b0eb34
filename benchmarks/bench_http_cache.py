"""What the HTTP cache (requests-cache, ETag / Last-Modified revalidation) saves on the two
things fetched by URL: a policy ``extends`` URL and a feed download (``db update``).

    .venv/bin/python benchmarks/bench_http_cache.py [--records 20000] [--runs 5]

Offline: a loopback server stands in for the policy host and the feed host, answering with an
``ETag`` and ``304 Not Modified`` for a matching ``If-None-Match``, as web servers and object
stores do. Each figure is a fresh ``npmguard`` child (interpreter start included):

- *policy*: ``npmguard policy show`` on a project whose policy extends a URL (an org policy
  of about 6 KB). Cold (empty cache), fresh (cache younger than an hour: no request at all),
  stale (older than an hour: revalidated, 304), and without any cache (each run downloads).
- *feed*: ``npmguard db update --from URL`` on a generated OSV zip (``--records`` tea.xyz-like
  records). First import, then again unchanged (304: no body, no import), and the same
  second run without an HTTP cache (body again, every record compared again).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """Files on 127.0.0.1 with ETags; counts requests, 304s and body bytes."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests = self.not_modified = self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = server.files[self.path]
                tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == tag:
                    server.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", tag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                server.sent += len(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def take(self) -> tuple[int, int, int]:
        out = (self.requests, self.not_modified, self.sent)
        self.requests = self.not_modified = self.sent = 0
        return out


def feed_zip(records: int) -> bytes:
    buffer = io.BytesIO()
    details = "This package appears to be part of the tea.xyz spam campaign. " * 8
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(records):
            record = {
                "id": f"MAL-2099-{100000 + i}",
                "modified": "2099-01-01T00:00:00Z",
                "published": "2099-01-01T00:00:00Z",
                "summary": f"Malicious code in gen-pkg-{i} (npm)",
                "details": details,
                "affected": [
                    {"package": {"ecosystem": "npm", "name": f"gen-pkg-{i}"}, "versions": ["1.0.0"]}
                ],
            }
            zf.writestr(f"MAL-2099-{100000 + i}.json", json.dumps(record))
    return buffer.getvalue()


def org_policy() -> bytes:
    lines = ['[settings]\nfail-on = "warn"\n']
    for i in range(60):
        lines.append(
            f'[[deny]]\npackage = "bad-pkg-{i}"\nreason = "security team ticket SEC-{1000 + i}: '
            'known malicious, do not use"\n'
        )
    return "".join(lines).encode()


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def expire(cache: Path) -> None:
    from datetime import datetime, timezone

    from requests_cache.backends.sqlite import SQLiteCache

    store = SQLiteCache(cache / "http.sqlite")
    store.reset_expiration(datetime(2000, 1, 1, tzinfo=timezone.utc))
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="npmguard-bench-http-"))
    policy = org_policy()
    feed = feed_zip(args.records)
    server = Server({"/org.toml": policy, "/feed.zip": feed})
    try:
        project = work / "project"
        project.mkdir()
        (project / "npmguard.toml").write_text(f'extends = ["{server.url}/org.toml"]\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("NPMGUARD_")}
        cache = work / "cache"
        env.update(NPMGUARD_CACHE_DIR=str(cache), NPMGUARD_DATA_DIR=str(work / "data"))
        py = [sys.executable, "-m", "npmguard"]
        show = [*py, "policy", "show"]
        figures: dict[str, object] = {"policy_bytes": len(policy), "feed_bytes": len(feed)}

        cold = run(show, env, project)
        figures["policy_cold"] = (round(cold, 3), server.take())
        fresh = [run(show, env, project) for _ in range(args.runs)]
        figures["policy_fresh"] = (round(statistics.median(fresh), 3), server.take())
        stale = []
        for _ in range(args.runs):
            expire(cache)
            stale.append(run(show, env, project))
        figures["policy_stale_revalidated"] = (round(statistics.median(stale), 3), server.take())
        uncached = []
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            uncached.append(run(show, env, project))
        figures["policy_no_cache"] = (round(statistics.median(uncached), 3), server.take())

        update = [*py, "db", "update", "-q", "--from", f"{server.url}/feed.zip"]
        shutil.rmtree(cache, ignore_errors=True)
        first = run(update, env, project)
        figures["feed_first_import"] = (round(first, 2), server.take())
        again = [run(update, env, project) for _ in range(args.runs)]
        figures["feed_unchanged_revalidated"] = (round(statistics.median(again), 2), server.take())
        uncached = []
        for _ in range(args.runs):
            (cache / "http.sqlite").unlink(missing_ok=True)
            uncached.append(run(update, env, project))
        figures["feed_unchanged_no_cache"] = (round(statistics.median(uncached), 2), server.take())

        print("figure: (median seconds, (requests, 304 answers, body bytes) over all runs)")
        for key, value in figures.items():
            print(f"{key:>28}: {value}")
        return 0
    finally:
        server.httpd.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
