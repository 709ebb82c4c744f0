"""Real proxy servers for the tests: `pproxy` (HTTP CONNECT / plain HTTP, the same over TLS,
SOCKS5) in its own process, so that killing it drops every connection through it, as a dead
proxy would.

Each proxy leaves from its own loopback address (`egress_ip`, 127.0.0.2 and up): the fake
upstreams see that address as the peer of every request that came through the proxy, and
127.0.0.1 for a direct one. That is the per-proxy marker the tests check, and it is what a
provider sees: the proxy's address, not the gateway's. `connections()` reads the proxy's own
log (one line per tunnel: `<protocol> <client> -> <target>`).

An `https` proxy listens with TLS (`TestCertificate`: a self-signed certificate for
`localhost` and 127.0.0.1 that the tests trust through an `ssl.SSLContext`).
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_PPROXY = (
    "import asyncio, sys; sys.modules['uvloop'] = None; "  # pproxy's uvloop start-up fails here
    "asyncio.set_event_loop(asyncio.new_event_loop()); "
    "from pproxy.server import main; sys.argv[0] = 'pproxy'; main()"
)
_egress = itertools.count(2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestCertificate:
    """A self-signed certificate (and its key) for `localhost` and 127.0.0.1, in PEM files."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._dir = Path(tempfile.mkdtemp(prefix="tls-"))
        self.cert_file = self._dir / "cert.pem"
        self.key_file = self._dir / "key.pem"
        self.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def remove(self) -> None:
        self.cert_file.unlink(missing_ok=True)
        self.key_file.unlink(missing_ok=True)
        self._dir.rmdir()


class FakeProxy:
    """`protocol` is `http`, `https` (TLS with `certificate`) or `socks5`; with `username`,
    clients must authenticate."""

    def __init__(
        self,
        protocol: str = "http",
        *,
        username: str | None = None,
        password: str | None = None,
        certificate: TestCertificate | None = None,
    ) -> None:
        if (protocol == "https") != (certificate is not None):
            raise ValueError("an https proxy needs a certificate, and only it takes one")
        self.protocol = protocol
        self.username = username
        self.password = password
        self.certificate = certificate
        self.egress_ip = f"127.0.0.{next(_egress)}"
        self.port = free_port()
        self._log = Path(tempfile.mkstemp(prefix="pproxy-", suffix=".log")[1])
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL the gateway is given (credentials included)."""
        auth = f"{self.username}:{self.password}@" if self.username else ""
        return f"{self.protocol}://{auth}127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> FakeProxy:
        scheme = "http+ssl" if self.protocol == "https" else self.protocol
        listen = f"{scheme}://127.0.0.1:{self.port}/@{self.egress_ip}"
        if self.username:
            listen += f"#{self.username}:{self.password}"
        tls = []
        if self.certificate is not None:
            tls = ["--ssl", f"{self.certificate.cert_file},{self.certificate.key_file}"]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _PPROXY, "-l", listen, "-v", "--auth", "0", *tls],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pproxy exited: {self._log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pproxy did not listen on {self.port}")

    def process_id(self) -> int | None:
        """The pproxy process (to read its CPU time), None when it is not running."""
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """Gone at once, as a crashed proxy: its tunnels drop, new connections are refused."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(5)
        self._process = None

    def connections(self) -> list[str]:
        """The tunnels the proxy opened, from its own log."""
        lines = self._log.read_text(errors="replace").splitlines()
        return [line for line in lines if " -> " in line]

    def close(self) -> None:
        self.kill()
        self._log.unlink(missing_ok=True)
