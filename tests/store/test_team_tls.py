"""``rediss://``: the team cache over TLS, with the organisation's own CA named in the URL."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from redisserver import BINARY, PASSWORD, SKIP_REASON, RedisServer, free_port

from npmguard.store.base import NewPackage
from npmguard.store.redis import SharedCache
from npmguard.store.redis_facts import RedisFacts

OPENSSL = shutil.which("openssl")
pytestmark = [
    pytest.mark.skipif(BINARY is None, reason=SKIP_REASON),
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (to make a test CA)"),
]
REG = "https://registry.example/"


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""

    def run(*args: str) -> None:
        subprocess.run([str(OPENSSL), *args], cwd=folder, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test ca",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName = IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")  # fmt: skip
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


def test_rediss_with_the_organisation_ca(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ca, cert, key = make_ca(tmp_path)
    tls = free_port()
    with RedisServer(
        "--tls-port", str(tls), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
    ):  # fmt: skip
        url = f"rediss://127.0.0.1:{tls}/0?ssl_ca_certs={ca}"
        facts = RedisFacts(SharedCache(url, password=PASSWORD), format=4, ttl=3600)
        facts.save([NewPackage(REG, "a", "ok", b"pic", {"1.0.0": b"m"})], {}, now=1000.0)
        assert facts.packages([(REG, "a")])[(REG, "a")].picture == b"pic"
        # a server whose certificate this CA did not sign: one warning, nothing read
        with caplog.at_level(logging.WARNING):
            plain = RedisFacts(
                SharedCache(f"rediss://127.0.0.1:{tls}/0", password=PASSWORD),
                format=4,
                ttl=3600,
            )
            assert plain.packages([(REG, "a")]) == {}
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
