"""Child processes of the bench: start in their own process group, wait, stop; /proc figures.

Every process started here is registered, so `stop_all()` (called from run.py's `finally`)
ends whatever is still running, even after an error.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_running: list[Server] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A long-running child in its own session (so its whole group can be signalled)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        self.pid = self.process.pid
        _running.append(self)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(
        self, url: str | None = None, port: int | None = None, timeout: float = 90
    ) -> None:
        """Until GET `url` answers 200 (or `port` accepts a connection); bounded by `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if url is not None and http_status(url) == 200:
                return
            if port is not None and url is None and port_open(port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, grace: float = 10) -> None:
        if self in _running:
            _running.remove(self)
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(5)
        # children that outlived the leader still carry its group id
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss_mib(self) -> float:
        return tree_rss_bytes(self.pid) / (1024 * 1024)


def stop_all() -> None:
    for server in reversed(list(_running)):
        server.stop(grace=5)


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; everything after its ')' is space-separated
    return text[text.rindex(")") + 2 :].split()


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root: int) -> float:
    """utime + stime (+ those of reaped children) of the process tree, in seconds."""
    ticks = 0
    for pid in tree_pids(root):
        fields = _stat_fields(pid)
        if fields is not None:  # fields[11:15]: utime stime cutime cstime
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / CLOCK_TICKS


def tree_rss_bytes(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), to spot foreign load."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of `names` (read only: the bench never signals them)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry}/comm").read_text().strip() in names:
                    found.append(int(entry))
    return found


def pids_cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU of this process's reaped children (wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far of everything a measurement involves, and of the whole machine."""

    wall: float
    machine: float
    server: float
    upstream: float
    services: float  # MariaDB and Redis: used by G's path, otherwise idle
    load_generator: float  # reaped children of this process: the wrk runs
    own: float  # this process (the TTFB, soak, memory and proxy-cost clients run here)
    proxy: float  # G's outbound proxy, when it has one (idle unless a route goes through it)

    @classmethod
    def take(
        cls, server: Server, upstream: Server, services: list[int], proxy: Server | None = None
    ) -> CpuSample:
        return cls(
            wall=time.monotonic(),
            machine=machine_busy_seconds(),
            server=server.cpu_seconds(),
            upstream=upstream.cpu_seconds() if upstream is not server else 0.0,
            services=pids_cpu_seconds(services),
            load_generator=children_cpu_seconds(),
            own=time.process_time(),
            proxy=proxy.cpu_seconds() if proxy is not None else 0.0,
        )

    def since(self, before: CpuSample) -> dict[str, float]:
        spent = {f: getattr(self, f) - getattr(before, f) for f in self.__dataclass_fields__}
        ours = sum(v for k, v in spent.items() if k not in ("wall", "machine"))
        # whatever else ran meanwhile (plus kernel work not charged to any process)
        spent["other_cores"] = (spent["machine"] - ours) / spent["wall"] if spent["wall"] else 0.0
        return spent
