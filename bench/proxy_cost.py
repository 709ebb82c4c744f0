"""The proxy's own cost, the reference for G's `openai-proxied` rows.

G's route through the proxy costs what G does plus what the hop through the proxy costs. To
tell the two apart, the same fake upstream is also reached by a plain aiohttp client (uvloop,
one session, `concurrency` workers in a closed loop, the scenario's body, for the same
duration, in rounds that alternate the two) directly and through the same proxy, as G's own
aiohttp transport reaches it: an absolute-form request carrying `Proxy-Authorization`. What
that client loses through the proxy (req/s kept, p50/p99 added) is the proxy's own cost; G is
expected to lose no more (its own work per request is larger, so the same hop weighs less).

Runs in the bench's process, while G idles.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import uvloop

import procs
from summary import NOISY_CORES

if TYPE_CHECKING:
    from scenarios import Scenario
    from targets import Target

ROUNDS = 3  # alternating direct / through the proxy


@dataclass(frozen=True)
class OutboundProxy:
    """The HTTP proxy G's `openai-proxied` accounts leave through (a pproxy process)."""

    server: procs.Server
    port: int
    username: str
    password: str

    @property
    def url(self) -> str:
        """What G is given (with the credentials)."""
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authorization(self) -> str:
        return aiohttp.encode_basic_auth(self.username, self.password)


@dataclass
class Loop:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def add(self, other: Loop) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms
        self.error_samples += other.error_samples[: 3 - len(self.error_samples)]

    def percentile(self, share: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def closed_loop(
    url: str,
    body: bytes,
    *,
    stream: bool,
    concurrency: int,
    duration_s: float,
    via: OutboundProxy | None = None,
) -> Loop:
    """`concurrency` workers posting `body` to `url` back to back for `duration_s`."""
    result = Loop()
    headers = {"Content-Type": "application/json"}
    if stream:
        headers["Accept"] = "text/event-stream"
    extra: dict[str, Any] = {}
    if via is not None:
        headers["Proxy-Authorization"] = via.authorization
        extra["proxy"] = via.address
    timeout = aiohttp.ClientTimeout(total=60)

    async def worker(session: aiohttp.ClientSession, until: float) -> None:
        while time.perf_counter() < until:
            began = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers, **extra) as response:
                    data = await response.read()
                    good = response.status == 200 and (
                        not stream or data.rstrip().endswith(b"data: [DONE]")
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                good, data = False, repr(exc).encode()
            result.requests += 1
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
            if not good:
                result.errors += 1
                if len(result.error_samples) < 3:
                    result.error_samples.append(data[:200].decode("utf-8", "replace"))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()
        until = began + duration_s
        await asyncio.gather(*(worker(session, until) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - began
    return result


def row(loop: Loop, spent: dict[str, float], noisy_cores: float) -> dict[str, Any]:
    """A result row shaped like a wrk row (so the summary's ratios apply to it)."""
    requests = loop.requests

    def per_request(seconds: float) -> float | None:
        return seconds * 1000 / requests if requests else None

    errors = loop.errors + (0 if requests else 1)
    return {
        "status": "ok",
        "requests": requests,
        "seconds": loop.seconds,
        "rps": requests / loop.seconds if loop.seconds else 0.0,
        "p50_ms": loop.percentile(0.50),
        "p99_ms": loop.percentile(0.99),
        "errors": errors,
        "flagged": errors > 0,
        "error_text": f"{loop.errors} failed: {loop.error_samples[:1]}" if errors else "",
        "client_cpu_ms_per_req": per_request(spent["own"]),
        "proxy_cpu_ms_per_req": per_request(spent["proxy"]),
        "upstream_cpu_ms_per_req": per_request(spent["upstream"]),
        "other_cpu_cores": spent["other_cores"],
        "noisy": spent["other_cores"] > noisy_cores,
    }


def measure(
    target: Target,
    scenario: Scenario,
    *,
    duration_s: float,
    warmup_s: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The same fake upstream and scenario body from the plain client at the scenario's
    concurrency, directly and through G's proxy: a warm-up of each, then `ROUNDS` rounds that
    alternate them (so that drift on a shared machine hits both alike), `duration_s` in all
    for each, pooled."""
    assert target.proxy is not None
    url = target.upstream_url + "/v1/chat/completions"
    body = scenario.body_bytes("openai")
    services = procs.pids_named("mariadbd", "mysqld", "redis-server")
    proxy = target.proxy.server
    options = {"direct": None, "proxied": target.proxy}
    pooled = {name: Loop() for name in options}
    spent: dict[str, dict[str, float]] = {name: {} for name in options}

    def run(name: str, seconds: float) -> Loop:
        shape = {"stream": scenario.stream, "concurrency": scenario.connections}
        return uvloop.run(closed_loop(url, body, duration_s=seconds, via=options[name], **shape))

    for name in options:
        run(name, warmup_s)
    order = list(options)
    for _ in range(ROUNDS):
        for name in order:
            before = procs.CpuSample.take(target.server, target.upstream, services, proxy)
            loop = run(name, max(1.0, duration_s / ROUNDS))
            after = procs.CpuSample.take(target.server, target.upstream, services, proxy)
            pooled[name].add(loop)
            used = after.since(before)
            total = spent[name]
            for key, value in used.items():  # other_cores: weighted by wall time below
                weight = used["wall"] if key == "other_cores" else 1.0
                total[key] = total.get(key, 0.0) + value * weight
        order.reverse()
    rows: dict[str, Any] = {}
    for name, loop in pooled.items():
        total = spent[name]
        total["other_cores"] = total["other_cores"] / total["wall"] if total["wall"] else 0.0
        rows[name] = found = row(loop, total, NOISY_CORES)
        flag = f"  ERRORS: {found['error_text']}" if found["flagged"] else ""
        if found["noisy"]:
            flag += f"  (other processes used {found['other_cpu_cores']:.2f} cores meanwhile)"
        log(
            f"  [aiohttp {name}] {scenario.key:<24} {found['rps']:>10,.1f} req/s  "
            f"p50 {found['p50_ms'] or 0:.3f} ms  p99 {found['p99_ms'] or 0:.3f} ms  "
            f"proxy CPU {found['proxy_cpu_ms_per_req'] or 0:.3f} ms/req{flag}"
        )
    return rows
