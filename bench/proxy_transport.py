"""HTTP proxies for the upstream transport: aiohttp's own proxy support against aiohttp-socks.

Runs N POSTs at concurrency C through a real `pproxy` HTTP proxy (with a user and password, as
operators' proxies have) to a local target, once over plain HTTP and once over HTTPS, with:

    aiohttp      aiohttp's own proxy support: CONNECT for an https target, the absolute-form
                 request for an http one; Proxy-Authorization from the endpoint's credentials
    aiohttp-socks  `aiohttp_socks.ProxyConnector(ProxyType.HTTP)` (python-socks): CONNECT for
                 every target
    direct       no proxy (the ceiling of this rig)
    socks5       `aiohttp_socks.ProxyConnector(ProxyType.SOCKS5)` through a pproxy SOCKS5 proxy
                 (for reference: SOCKS5 has no alternative)
    transport    the gateway's `AiohttpUpstream` through the HTTP proxy's route (what the
                 choice became: CONNECT by python-socks for https, absolute form for http)

and prints, per option and target: requests per second, the client's CPU per request (the
gateway's cost: what the choice is about), the proxy's CPU per request, and the connections
the proxy opened. The rounds alternate the options so that drift hits all of them alike.
Everything runs on 127.0.0.1; the client uses uvloop, as the gateway does.

    python bench/proxy_transport.py [--requests 3000] [--concurrency 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from aiohttp import web
from aiohttp_socks import ProxyConnector, ProxyType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aigateway.adapters.upstream.aiohttp_transport import AiohttpUpstream
from aigateway.application.ports.upstream import UpstreamRequest, UpstreamUnavailable
from aigateway.domain.proxies import Route, parse_proxy_url
from tests.fakes.proxies import FakeProxy, TestCertificate, free_port

BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
ANSWER = (
    b'{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"message":{"role":"assistant","content":"'
    + b"Hello there. " * 40
    + b'"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":80}}'
)
USER, PASSWORD = "bench", "bench-secret"


def serve_target(http_port: int, https_port: int, cert: str, key: str) -> None:
    """The target (in its own process): a fixed chat answer over HTTP and HTTPS."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=ANSWER, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        await web.TCPSite(runner, "127.0.0.1", http_port).start()
        await web.TCPSite(runner, "127.0.0.1", https_port, ssl_context=context).start()
        await asyncio.Event().wait()

    uvloop.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    rps: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    proxy_ms: list[float] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)
    failures: int = 0


Send = Callable[[str], Awaitable[int]]  # one request to the URL; its status
Kwargs = dict[str, Any]


class Client:
    """One option, set up for one measurement: `send` and `close`."""

    def __init__(self, send: Send, close: Callable[[], Awaitable[None]]) -> None:
        self.send = send
        self.close = close


def session_client(session: aiohttp.ClientSession, plain: Kwargs, tls: Kwargs) -> Client:
    async def send(url: str) -> int:
        extra = tls if url.startswith("https:") else plain
        async with session.post(url, data=BODY, **extra) as response:
            await response.read()
            return response.status

    return Client(send, session.close)


@dataclass
class Option:
    name: str
    proxy: FakeProxy | None
    build: Callable[[ssl.SSLContext], Client]


def aiohttp_native(proxy: FakeProxy) -> Callable[[ssl.SSLContext], Client]:
    def build(context: ssl.SSLContext) -> Client:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, ssl=context), trust_env=False
        )
        url = f"http://127.0.0.1:{proxy.port}"
        auth = {"Proxy-Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
        return session_client(
            session, {"proxy": url, "headers": auth}, {"proxy": url, "proxy_headers": auth}
        )

    return build


def socks_library(proxy: FakeProxy, kind: ProxyType) -> Callable[[ssl.SSLContext], Client]:
    def build(context: ssl.SSLContext) -> Client:
        connector = ProxyConnector(
            proxy_type=kind,
            host="127.0.0.1",
            port=proxy.port,
            username=USER,
            password=PASSWORD,
            limit=100,
            ssl=context,
        )
        return session_client(aiohttp.ClientSession(connector=connector, trust_env=False), {}, {})

    return build


def direct(context: ssl.SSLContext) -> Client:
    connector = aiohttp.TCPConnector(limit=100, ssl=context)
    return session_client(aiohttp.ClientSession(connector=connector, trust_env=False), {}, {})


def gateway_transport(proxy: FakeProxy) -> Callable[[ssl.SSLContext], Client]:
    """The gateway's own transport through the proxy's route (what the choice became)."""

    def build(context: ssl.SSLContext) -> Client:
        upstream = AiohttpUpstream(ssl_context=context)
        via = Route(1, parse_proxy_url(proxy.url))

        async def send(url: str) -> int:
            response = await upstream.open(
                UpstreamRequest(url=url, headers={}, body=BODY, route=via)
            )
            await response.read()
            await response.close()
            return response.status

        return Client(send, upstream.aclose)

    return build


async def run_one(
    option: Option, url: str, context: ssl.SSLContext, requests: int, conc: int
) -> tuple[float, float, float, int, int]:
    client = option.build(context)
    before = len(option.proxy.connections()) if option.proxy else 0
    failures = 0

    async def worker(count: int) -> None:
        nonlocal failures
        for _ in range(count):
            try:
                if await client.send(url) != 200:
                    failures += 1
            except (aiohttp.ClientError, UpstreamUnavailable):
                failures += 1

    await asyncio.gather(*(worker(10) for _ in range(conc)))  # warm-up: the pool fills
    process = option.proxy.process_id() if option.proxy else None
    cpu0, proxy0 = time.process_time(), cpu_seconds(process) if process else 0.0
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(requests // conc) for _ in range(conc)))
    elapsed = time.perf_counter() - t0
    done = requests // conc * conc
    client_cpu = time.process_time() - cpu0
    proxy_cpu = (cpu_seconds(process) - proxy0) if process else 0.0
    await client.close()
    opened = (len(option.proxy.connections()) - before) if option.proxy else 0
    return done / elapsed, client_cpu / done * 1000, proxy_cpu / done * 1000, opened, failures


async def bench(
    args: argparse.Namespace, http_port: int, https_port: int, cert: TestCertificate
) -> None:
    http_proxy = FakeProxy("http", username=USER, password=PASSWORD).start()
    socks_proxy = FakeProxy("socks5", username=USER, password=PASSWORD).start()
    try:
        options = [
            Option("direct", None, direct),
            Option("aiohttp", http_proxy, aiohttp_native(http_proxy)),
            Option("aiohttp-socks", http_proxy, socks_library(http_proxy, ProxyType.HTTP)),
            Option("socks5", socks_proxy, socks_library(socks_proxy, ProxyType.SOCKS5)),
            Option("transport", http_proxy, gateway_transport(http_proxy)),
        ]
        context = cert.client_context()
        targets = {
            "http": f"http://127.0.0.1:{http_port}/v1/chat/completions",
            "https": f"https://localhost:{https_port}/v1/chat/completions",
        }
        results: dict[tuple[str, str], Result] = {}
        for round_ in range(args.rounds):
            for target, url in targets.items():
                for option in options:
                    rps, client_ms, proxy_ms, opened, failed = await run_one(
                        option, url, context, args.requests, args.concurrency
                    )
                    result = results.setdefault((option.name, target), Result())
                    result.rps.append(rps)
                    result.client_ms.append(client_ms)
                    result.proxy_ms.append(proxy_ms)
                    result.connections.append(opened)
                    result.failures += failed
                    print(
                        f"round {round_ + 1} {target:5} {option.name:13} {rps:7.0f} req/s"
                        f"  client {client_ms:.3f} ms/req  proxy {proxy_ms:.3f} ms/req"
                        f"  {opened} proxy connections  {failed} failed",
                        flush=True,
                    )
    finally:
        http_proxy.close()
        socks_proxy.close()
    print(
        f"\nmedians of {args.rounds} rounds, {args.requests} requests at c={args.concurrency}:\n"
        f"{'target':6} {'option':13} {'req/s':>7} {'client CPU ms/req':>18}"
        f" {'proxy CPU ms/req':>17} {'proxy conns':>11} {'failed':>6}"
    )
    for (name, target), result in results.items():
        print(
            f"{target:6} {name:13} {statistics.median(result.rps):7.0f}"
            f" {statistics.median(result.client_ms):18.3f}"
            f" {statistics.median(result.proxy_ms):17.3f}"
            f" {max(result.connections):11d} {result.failures:6d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=4, metavar=("HTTP", "HTTPS", "CERT", "KEY"))
    args = parser.parse_args()
    if args.serve:
        serve_target(int(args.serve[0]), int(args.serve[1]), args.serve[2], args.serve[3])
        return
    cert = TestCertificate()
    http_port, https_port = free_port(), free_port()
    target = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(http_port),
            str(https_port),
            str(cert.cert_file),
            str(cert.key_file),
        ]
    )
    try:
        time.sleep(1.5)
        uvloop.run(bench(args, http_port, https_port, cert))
    finally:
        target.kill()
        target.wait(5)
        cert.remove()


if __name__ == "__main__":
    main()
