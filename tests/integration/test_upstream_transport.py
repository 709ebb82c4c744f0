"""The aiohttp upstream transport against a local server: timeouts end in UpstreamUnavailable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from aigateway.adapters.upstream.aiohttp_transport import AiohttpUpstream
from aigateway.application.ports.upstream import UpstreamRequest, UpstreamUnavailable


@pytest.fixture
async def slow_server() -> AsyncIterator[str]:
    async def headers_late(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    async def body_stalls(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: 1\n\n")
        await asyncio.sleep(5)
        return response

    app = web.Application()
    app.router.add_post("/late", headers_late)
    app.router.add_post("/stall", body_stalls)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site.name
    await runner.cleanup()


def request(url: str, timeout_s: float, total_timeout_s: float | None = None) -> UpstreamRequest:
    return UpstreamRequest(
        url=url, headers={}, body=b"{}", timeout_s=timeout_s, total_timeout_s=total_timeout_s
    )


async def test_a_silent_upstream_times_out_at_the_read_timeout(slow_server: str) -> None:
    upstream = AiohttpUpstream()
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        await upstream.open(request(f"{slow_server}/late", timeout_s=0.3))
    assert time.monotonic() - started < 3
    await upstream.aclose()


async def test_a_stream_that_goes_idle_times_out_between_chunks(slow_server: str) -> None:
    upstream = AiohttpUpstream()
    response = await upstream.open(request(f"{slow_server}/stall", timeout_s=0.3))
    chunks: list[bytes] = []

    async def drain() -> None:
        async for chunk in response.iter_chunks():
            chunks.append(chunk)

    with pytest.raises(UpstreamUnavailable, match="timed out"):
        await drain()
    assert chunks == [b"data: 1\n\n"]
    await response.close()
    await upstream.aclose()


async def test_the_total_timeout_bounds_the_whole_exchange(slow_server: str) -> None:
    upstream = AiohttpUpstream()
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        await upstream.open(request(f"{slow_server}/late", timeout_s=60, total_timeout_s=0.3))
    await upstream.aclose()
