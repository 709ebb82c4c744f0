"""Real proxy servers for the tests: `pproxy` (HTTP CONNECT / plain HTTP, SOCKS5) in its own
process, so that killing it drops every connection through it, as a dead proxy would.

Each proxy leaves from its own loopback address (`egress_ip`, 127.0.0.2 and up): the fake
upstreams see that address as the peer of every request that came through the proxy, and
127.0.0.1 for a direct one. That is the per-proxy marker the tests check, and it is what a
provider sees: the proxy's address, not the gateway's. `connections()` reads the proxy's own
log (one line per tunnel: `<protocol> <client> -> <target>`).
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


class FakeProxy:
    """`protocol` is `http` or `socks5`; with `username`, clients must authenticate."""

    def __init__(
        self, protocol: str = "http", *, username: str | None = None, password: str | None = None
    ) -> None:
        self.protocol = protocol
        self.username = username
        self.password = password
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
        listen = f"{self.protocol}://127.0.0.1:{self.port}/@{self.egress_ip}"
        if self.username:
            listen += f"#{self.username}:{self.password}"
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _PPROXY, "-l", listen, "-v", "--auth", "0"],
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
