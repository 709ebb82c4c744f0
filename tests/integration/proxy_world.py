"""What the proxy tests route calls to: a target server (plain HTTP and HTTPS, on 127.0.0.1)
that records who each request came from, and the routes to real pproxy proxies."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web

from aigateway.application.ports.upstream import UpstreamRequest
from aigateway.domain.proxies import Route, parse_proxy_url
from tests.fakes.proxies import FakeProxy, TestCertificate

STREAM_CHUNKS = [f'data: {{"n": {i}}}\n\n'.encode() for i in range(5)]


@dataclass(frozen=True)
class Seen:
    path: str
    peer: str  # the address the request came from
    port: int  # its source port: one per connection
    proxy_authorization: str | None


class Target:
    """An aiohttp app on its own thread and loop: `http_url` / `https_url` (the certificate's
    `localhost`) are the roots; `seen` lists every request."""

    def __init__(self, certificate: TestCertificate) -> None:
        self._certificate = certificate
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        self.active = 0
        self.most_active = 0
        self.http_port = self.https_port = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def start(self) -> Target:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.most_active = 0

    def peers(self) -> list[str]:
        with self._lock:
            return [s.peer for s in self.seen]

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/echo", self._echo)
        app.router.add_post("/stream", self._stream)
        app.router.add_post("/hold", self._hold)
        app.router.add_route("*", "/silent", self._silent)
        app.router.add_get("/generate_204", self._no_content)
        app.router.add_get("/endless", self._endless)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        plain = web.TCPSite(self._runner, "127.0.0.1", 0)
        await plain.start()
        tls = web.TCPSite(
            self._runner, "127.0.0.1", 0, ssl_context=self._certificate.server_context()
        )
        await tls.start()
        self.http_port = int(plain.name.rsplit(":", 1)[1])
        self.https_port = int(tls.name.rsplit(":", 1)[1])

    def _record(self, request: web.Request) -> Seen:
        peername = request.transport.get_extra_info("peername") if request.transport else None
        seen = Seen(
            path=request.path,
            peer=request.remote or "",
            port=int(peername[1]) if peername else 0,
            proxy_authorization=request.headers.get("Proxy-Authorization"),
        )
        with self._lock:
            self.seen.append(seen)
        return seen

    async def _echo(self, request: web.Request) -> web.Response:
        seen = self._record(request)
        body = await request.read()
        return web.json_response({"peer": seen.peer, "body": body.decode()})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in STREAM_CHUNKS:
            await response.write(chunk)
            await asyncio.sleep(0.02)
        return response

    async def _hold(self, request: web.Request) -> web.Response:
        self._record(request)
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(0.3)
        finally:
            with self._lock:
                self.active -= 1
        return web.json_response({})

    async def _silent(self, request: web.Request) -> web.Response:
        self._record(request)
        await asyncio.sleep(5)
        return web.json_response({})

    async def _no_content(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.Response(status=204)

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        """A body that does not end (for 30 s): a probe must not wait for its end."""
        self._record(request)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await response.write(b"x" * 16384)
            await asyncio.sleep(0.001)
        return response


def route(proxy: FakeProxy, proxy_id: int, *, scheme: str | None = None) -> Route:
    """The route through `proxy` (`scheme` replaces its protocol, e.g. socks5h)."""
    url = proxy.url if scheme is None else proxy.url.replace(f"{proxy.protocol}://", f"{scheme}://")
    return Route(proxy_id, parse_proxy_url(url))


def post(url: str, via: Route, *, timeout_s: float = 10.0, body: bytes = b"{}") -> UpstreamRequest:
    return UpstreamRequest(url=url, headers={}, body=body, route=via, timeout_s=timeout_s)


def decoded(raw: bytes) -> dict[str, str]:
    value = json.loads(raw)
    assert isinstance(value, dict)
    return value
