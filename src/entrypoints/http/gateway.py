"""Client-facing routes, built from the client wire-format specs (`entrypoints/http/formats`):
one chat route per format, and `GET /v1/models` in the format the client speaks.

The chat routes are raw ASGI handlers: the gateway's own request path skips the framework's
per-request machinery (signature parsing, response objects), reads the body against the size
limit itself, renders every error in the client's own format, and watches for the client going
away so the upstream request is cancelled at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.handlers import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.types import Receive, Scope, Send

from aigateway.application.errors import GatewayError, internal_error
from aigateway.application.use_cases.chat_request import ChatResult, InboundChat
from aigateway.entrypoints.http.formats.spec import ClientFormat, ModelEntry
from aigateway.entrypoints.http.runtime import Runtime

log = logging.getLogger(__name__)

AsgiMessage = dict[str, Any]
RawReceive = Callable[[], Awaitable[AsgiMessage]]
RawSend = Callable[[AsgiMessage], Awaitable[None]]

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ClientDisconnected(Exception):
    pass


def client_token(headers: list[tuple[bytes, bytes]] | Any) -> str | None:
    """`Authorization: Bearer <key>` or `x-api-key: <key>`."""
    api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip()
    return api_key or None


async def read_body(scope: AsgiMessage, receive: RawReceive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise GatewayError(413, f"request body is larger than {limit} bytes", code="too_large")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise GatewayError(413, f"request body is larger than {limit} bytes", code="too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send_body(
    send: RawSend, status: int, content_type: str, body: bytes, headers: list[Any]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode("latin-1")), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def forwarded(headers: Sequence[tuple[bytes, bytes]], names: tuple[bytes, ...]) -> dict[str, str]:
    """The client headers a same-format upstream receives (repeated headers joined)."""
    found: dict[str, str] = {}
    if names:
        for name, value in headers:
            if name in names:
                key = name.decode("latin-1")
                text = value.decode("latin-1").strip()
                found[key] = f"{found[key]},{text}" if key in found else text
    return found


async def relay(
    scope: AsgiMessage,
    receive: RawReceive,
    send: RawSend,
    client_format: ClientFormat,
    runtime: Runtime,
) -> None:
    services = runtime.services
    proxy = services.proxy_chat
    task = asyncio.current_task()
    assert task is not None
    watching = False  # between the body read and the end of the response
    disconnected = False
    responded = False

    async def watch_disconnect() -> None:
        nonlocal disconnected
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if watching:
                    disconnected = True
                    task.cancel()
                return

    watcher: asyncio.Task[None] | None = None
    try:
        try:
            if scope["method"] != "POST":
                raise GatewayError(405, "use POST", code="method_not_allowed")
            client = proxy.authenticate(client_token(scope["headers"]))
            try:
                body = await read_body(scope, receive, services.settings.server.max_body_bytes)
                model, stream = client_format.head(body)
            except GatewayError as exc:  # too large or unreadable: logged, then answered
                chat = InboundChat(model="", stream=False, body=b"", format=client_format.format)
                proxy.refuse(chat, client, exc)
                raise
            watching = True
            watcher = asyncio.ensure_future(watch_disconnect())
            chat = InboundChat(
                model=model,
                stream=stream,
                body=body,
                format=client_format.format,
                forward_headers=forwarded(scope["headers"], client_format.forwarded_headers),
                query=scope.get("query_string", b"").decode("latin-1"),
            )
            result = await proxy.start(chat, client)
        except GatewayError as exc:
            watching = False
            responded = True
            headers = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            await _send_body(
                send, exc.status, "application/json", client_format.render_error(exc), headers
            )
            return
        request_id = (b"x-request-id", result.request_id.encode())
        responded = True
        if result.chunks is None:
            watching = False
            extra = [(k.lower().encode(), v.encode()) for k, v in result.headers.items()]
            await _send_body(
                send, result.status, result.content_type, result.body, [request_id, *extra]
            )
            return
        await _stream(send, result, request_id)
        watching = False
    except ClientDisconnected:
        return
    except asyncio.CancelledError:
        if not disconnected:
            raise
    except Exception:
        log.exception("unhandled error on the gateway path")
        if not responded:
            error = client_format.render_error(internal_error())
            await _send_body(send, 500, "application/json", error, [])
    finally:
        watching = False
        if watcher is not None:
            watcher.cancel()


async def _stream(send: RawSend, result: ChatResult, request_id: tuple[bytes, bytes]) -> None:
    chunks: AsyncIterator[bytes] = result.chunks  # type: ignore[assignment]
    try:
        # started before anything is sent, so that its clean-up (closing the upstream, the log
        # row) runs however the response ends; its first bytes were read already
        first = await anext(chunks, None)
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": [*SSE_HEADERS, request_id],
            }
        )
        if first is not None:
            await send({"type": "http.response.body", "body": first, "more_body": True})
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


def chat_route(client_format: ClientFormat, runtime: Runtime) -> ASGIRouteHandler:
    async def chat(scope: Scope, receive: Receive, send: Send) -> None:
        await relay(scope, receive, send, client_format, runtime)  # type: ignore[arg-type]

    chat.__name__ = f"chat_{client_format.format}"
    return asgi(client_format.path, copy_scope=False)(chat)


def models_route(formats: Sequence[ClientFormat], runtime: Runtime) -> HTTPRouteHandler:
    """`GET /v1/models` in the first format whose marker header the client sent, else in the
    format without a marker (OpenAI's)."""
    default = next(f for f in formats if f.models_header is None)
    marked = [(f.models_header.decode(), f) for f in formats if f.models_header is not None]

    @get("/v1/models")
    async def list_models(request: Request[object, object, State]) -> Response[bytes]:
        headers = request.headers
        client_format = next((f for name, f in marked if name in headers), default)
        services = runtime.services
        try:
            services.proxy_chat.authenticate(client_token(request.scope["headers"]))
        except GatewayError as exc:
            return Response(
                client_format.render_error(exc), status_code=exc.status, media_type=MediaType.JSON
            )
        owners: dict[str, str] = {}
        reported = services.upstream_models
        for provider in services.catalog.current.router.active:
            # the provider's own list, then what its accounts report (kept, never fetched here)
            for model in (*provider.listed_models(), *reported.listed(provider.id)):
                owners.setdefault(model, provider.id)
        entries = [ModelEntry(model, owner) for model, owner in owners.items()]
        listing = client_format.render_models(entries, int(services.started_at))
        return Response(listing, media_type=MediaType.JSON)

    return list_models


def gateway_routes(
    formats: Sequence[ClientFormat], runtime: Runtime
) -> list[ASGIRouteHandler | HTTPRouteHandler]:
    return [*(chat_route(f, runtime) for f in formats), models_route(formats, runtime)]
