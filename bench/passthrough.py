"""P: the passthrough floor the gateway is compared against (PERFORMANCE.md).

Litestar on uvicorn (one worker, uvloop, httptools, no access log). `POST /v1/chat/completions`
(and `POST /v1/messages`) reads the body, decodes it once with a reused msgspec decoder,
forwards the same bytes through ONE shared aiohttp session, and returns the upstream's bytes;
streams are relayed chunk by chunk. No auth, no routing, no logging, no translation.

    python bench/passthrough.py --upstream http://127.0.0.1:9100 --port 9200
    (or BENCH_UPSTREAM_URL / BENCH_PORT in the environment)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import uvicorn
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Stream


class ChatHead(msgspec.Struct):
    model: str
    messages: list[dict[str, Any]]
    stream: bool | None = None


decode_head = msgspec.json.Decoder(ChatHead).decode


def create_app(upstream: str) -> Litestar:
    upstream = upstream.rstrip("/")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=10_000)
        async with aiohttp.ClientSession(connector=connector) as session:
            app.state.session = session
            yield

    async def forward(request: Request[Any, Any, State], path: str) -> Response[bytes] | Stream:
        body = await request.body()
        head = decode_head(body)
        session: aiohttp.ClientSession = request.app.state.session
        response = await session.post(
            upstream + path, data=body, headers={"Content-Type": "application/json"}
        )
        content_type = response.headers.get("Content-Type", "application/json")
        if not head.stream:
            data = await response.read()
            return Response(data, status_code=response.status, media_type=content_type)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.content.iter_any():
                    yield chunk
            finally:
                response.release()

        return Stream(relay(), status_code=response.status, media_type=content_type)

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, State]) -> Response[bytes] | Stream:
        return await forward(request, "/v1/chat/completions")

    @post("/v1/messages", status_code=200)
    async def messages(request: Request[Any, Any, State]) -> Response[bytes] | Stream:
        return await forward(request, "/v1/messages")

    @get("/health")
    async def health() -> str:
        return "ok"

    return Litestar(
        route_handlers=[chat, messages, health],
        lifespan=[lifespan],
        logging_config=None,
        openapi_config=None,
        debug=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the P passthrough reference app")
    parser.add_argument("--upstream", default=os.environ.get("BENCH_UPSTREAM_URL"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "0")))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not args.upstream or not args.port:
        parser.error("--upstream and --port (or BENCH_UPSTREAM_URL and BENCH_PORT) are required")
    uvicorn.run(
        create_app(args.upstream),
        host=args.host,
        port=args.port,
        workers=None,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
        backlog=4096,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
