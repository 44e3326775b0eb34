"""A real ``redis-server`` on a free loopback port, with a password, for the team-cache tests.

``.ci/run`` installs the Debian package; without the binary the tests that need it skip,
saying so. Each server has its own folder and no persistence; :meth:`RedisServer.stop` and
:meth:`RedisServer.start` stop and start it on the same port (a team cache going down and
coming back mid-run).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

PASSWORD = "test-secret-0"
BINARY = shutil.which("redis-server")
SKIP_REASON = "redis-server is not installed (.ci/run installs the Debian package redis-server)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """``redis-server`` with ``requirepass``; ``url`` has no password (tests pass it through
    the environment, as users do); ``admin`` is a client that has it."""

    def __init__(self, *extra: str) -> None:
        assert BINARY is not None, SKIP_REASON
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="npmguard-redis-"))
        self.extra = extra
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def url_with_password(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            str(BINARY),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--requirepass", PASSWORD,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
            "--logfile", str(self.folder / "redis.log"),
            *self.extra,
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.admin().ping():
                    return self
            except Exception:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start: {self.folder / 'redis.log'}")

    def admin(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
