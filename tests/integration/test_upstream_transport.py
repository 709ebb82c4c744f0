"""The aiohttp upstream transport against a local server: timeouts, over-large bodies and
decompression bombs end in UpstreamUnavailable or bounded chunks, never in memory growth."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from aigateway.adapters.upstream.aiohttp_transport import MAX_BODY_BYTES, AiohttpUpstream
from aigateway.application.ports.upstream import UpstreamRequest, UpstreamUnavailable
from aigateway.domain.errors import NetworkErrorKind
from aigateway.domain.proxies import DIRECT
from tests.e2e.harness import free_port


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
        url=url,
        headers={},
        body=b"{}",
        route=DIRECT,
        timeout_s=timeout_s,
        total_timeout_s=total_timeout_s,
    )


async def test_a_silent_upstream_times_out_at_the_read_timeout(slow_server: str) -> None:
    upstream = AiohttpUpstream()
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="timed out") as caught:
        await upstream.open(request(f"{slow_server}/late", timeout_s=0.3))
    assert time.monotonic() - started < 3
    assert caught.value.kind is NetworkErrorKind.TIMEOUT  # cools the model, not the account
    await upstream.aclose()


async def test_a_refused_connection_is_a_connect_failure() -> None:
    upstream = AiohttpUpstream()
    with pytest.raises(UpstreamUnavailable, match="cannot connect") as caught:
        await upstream.open(request(f"http://127.0.0.1:{free_port()}/v1", timeout_s=5))
    assert caught.value.kind is NetworkErrorKind.CONNECT
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


# A gzip of zeros: ~130 KB on the wire, 128 MiB once decompressed (a ratio of ~1000).
_BOMB_BYTES = 128 * 1024 * 1024


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(zeros) for _ in range(_BOMB_BYTES // len(zeros))]
    return b"".join([*parts, compressor.flush()])


@pytest.fixture
async def hostile_server(gzip_bomb: bytes) -> AsyncIterator[str]:
    async def oversized(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (MAX_BODY_BYTES + 1), content_type="application/json")

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip_bomb,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    async def bomb_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
        )
        await response.prepare(request)
        await response.write(gzip_bomb)
        return response

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b'{"ok": true}'),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    app = web.Application()
    app.router.add_post("/oversized", oversized)
    app.router.add_post("/bomb", bomb)
    app.router.add_post("/bomb-stream", bomb_stream)
    app.router.add_post("/gzipped", gzipped)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_an_over_large_body_fails_as_unavailable(hostile_server: str) -> None:
    upstream = AiohttpUpstream()
    response = await upstream.open(request(f"{hostile_server}/oversized", timeout_s=10))
    with pytest.raises(UpstreamUnavailable, match=f"exceeds {MAX_BODY_BYTES} bytes"):
        await response.read()
    await response.close()
    await upstream.aclose()


async def test_a_gzip_bomb_is_cut_at_the_body_cap(hostile_server: str) -> None:
    upstream = AiohttpUpstream()
    response = await upstream.open(request(f"{hostile_server}/bomb", timeout_s=10))
    with pytest.raises(UpstreamUnavailable, match=f"exceeds {MAX_BODY_BYTES} bytes"):
        await response.read()
    await response.close()
    await upstream.aclose()


async def test_a_gzip_bomb_on_a_stream_arrives_in_bounded_chunks(hostile_server: str) -> None:
    upstream = AiohttpUpstream()
    response = await upstream.open(request(f"{hostile_server}/bomb-stream", timeout_s=10))
    largest = received = 0
    async for chunk in response.iter_chunks():
        largest = max(largest, len(chunk))
        received += len(chunk)
        if received > 8 * 1024 * 1024:
            break
    await response.close()
    await upstream.aclose()
    assert received > 8 * 1024 * 1024
    assert largest <= 1024 * 1024  # never the whole expansion of one compressed chunk


async def test_a_compressed_body_within_the_cap_is_read_decompressed(hostile_server: str) -> None:
    upstream = AiohttpUpstream()
    response = await upstream.open(request(f"{hostile_server}/gzipped", timeout_s=10))
    assert await response.read() == b'{"ok": true}'
    await response.close()
    await upstream.aclose()
