"""A few files served over http on 127.0.0.1, for tests that fetch from a URL."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class StaticServer:
    """Serves ``files`` (URL path -> bytes) and ``redirects`` (path -> location, 302).

    Both may be changed while it runs; ``hits`` records every path asked for, and
    ``sent`` the body bytes served. ``validators``: send an ``ETag`` and ``Last-Modified``
    and answer a matching ``If-None-Match`` with 304 Not Modified (no body), as web servers
    and object stores do.
    """

    def __init__(
        self,
        files: dict[str, bytes] | None = None,
        redirects: dict[str, str] | None = None,
        *,
        validators: bool = False,
        encodings: dict[str, str] | None = None,
    ) -> None:
        self.files = dict(files or {})
        self.encodings = dict(encodings or {})  # path -> Content-Encoding sent with it
        self.redirects = dict(redirects or {})
        self.hits: list[str] = []
        self.not_modified = 0
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.end_headers()
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                if validators:
                    import hashlib

                    tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == tag:
                        server.not_modified += 1
                        self.send_response(304)
                        self.send_header("ETag", tag)
                        self.end_headers()
                        return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if self.path in server.encodings:
                    self.send_header("Content-Encoding", server.encodings[self.path])
                if validators:
                    self.send_header("ETag", tag)
                    self.send_header("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
                self.end_headers()
                self.wfile.write(body)
                server.sent += len(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> StaticServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
