"""Client-facing routes, built from the client endpoint specs (`entrypoints/http/formats`):
one route per endpoint, and the model lists (`GET /v1/models` in the format the client speaks,
`GET /v1beta/models` in Gemini's).

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
from aigateway.domain.llm import Operation
from aigateway.entrypoints.http.formats.spec import ClientFormat, Headers, ModelEntry, Target
from aigateway.entrypoints.http.runtime import Runtime, Services

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
            query = scope.get("query_string", b"").decode("latin-1")
            client = proxy.authenticate(client_format.token(scope["headers"], query))
            try:
                body = await read_body(scope, receive, services.settings.server.max_body_bytes)
                target = Target(scope.get("path_params") or {}, query)
                model, stream = client_format.head(body, target)
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
                operation=client_format.operation,
                forward_headers=forwarded(scope["headers"], client_format.forwarded_headers),
                query=query,
            )
            counting = client_format.operation is Operation.COUNT_TOKENS
            serve = services.token_counting.count if counting else proxy.start
            result = await serve(chat, client)
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

    chat.__name__ = "relay_" + "".join(c if c.isalnum() else "_" for c in client_format.path)
    return asgi(client_format.path, copy_scope=False)(chat)


def _listing_format(formats: Sequence[ClientFormat], headers: Headers) -> ClientFormat:
    """The first format whose marker header the client sent, else the one without a marker."""
    names = {name for name, _ in headers}
    for client_format in formats:
        if client_format.models_header is not None and client_format.models_header in names:
            return client_format
    return next(f for f in formats if f.models_header is None)


def mounted_route(
    endpoint: ClientFormat, listing: Sequence[ClientFormat], runtime: Runtime
) -> ASGIRouteHandler:
    """The subtree under the endpoint's path: `GET` on the path itself is the model list (in the
    format `listing` picks by the client's headers); `POST path/<target>` is the endpoint, with
    `<target>` its path parameter."""

    async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
        rest = scope["path"]  # what follows the mount path ("/" for the path itself)
        headers = scope["headers"]
        if rest == "/" and scope.get("method") == "GET":
            client_format = _listing_format(listing, headers)
            query = scope.get("query_string", b"").decode("latin-1")
            status, body = model_listing(runtime.services, client_format, headers, query)
            await _send_body(send, status, "application/json", body, [])  # type: ignore[arg-type]
            return
        target = rest.strip("/")
        if not rest.startswith("/") or not target or scope.get("method") != "POST":
            # e.g. `GET /v1/models/<id>`: answered in the format the list there would take
            shown = endpoint if scope.get("method") == "POST" else _listing_format(listing, headers)
            error = GatewayError(404, f"no such endpoint: {scope['raw_path'].decode('latin-1')}")
            body = shown.render_error(error)
            await _send_body(send, 404, "application/json", body, [])  # type: ignore[arg-type]
            return
        scope["path_params"] = {"target": target}
        await relay(scope, receive, send, endpoint, runtime)  # type: ignore[arg-type]

    mounted.__name__ = "mount_" + "".join(c if c.isalnum() else "_" for c in endpoint.path)
    return asgi(endpoint.path, is_mount=True, copy_scope=False)(mounted)


def model_listing(
    services: Services, client_format: ClientFormat, headers: Headers, query: str
) -> tuple[int, bytes]:
    """(status, body) of the format's model list for the client whose key is in the request."""
    render = client_format.render_models
    assert render is not None
    try:
        services.proxy_chat.authenticate(client_format.token(headers, query))
    except GatewayError as exc:
        return exc.status, client_format.render_error(exc)
    owners: dict[str, str] = {}
    reported = services.upstream_models
    for provider in services.catalog.current.router.active:
        # the provider's own list, then what its accounts report (kept, never fetched here)
        for model in (*provider.listed_models(), *reported.listed(provider.id)):
            owners.setdefault(model, provider.id)
    entries = [ModelEntry(model, owner) for model, owner in owners.items()]
    return 200, render(entries, int(services.started_at))


def models_route(path: str, formats: Sequence[ClientFormat], runtime: Runtime) -> HTTPRouteHandler:
    @get(path, name=f"models{path.replace('/', '_')}")
    async def list_models(request: Request[object, object, State]) -> Response[bytes]:
        headers = request.scope["headers"]
        client_format = _listing_format(formats, headers)
        query = request.scope.get("query_string", b"").decode("latin-1")
        status, body = model_listing(runtime.services, client_format, headers, query)
        return Response(body, status_code=status, media_type=MediaType.JSON)

    return list_models


def gateway_routes(
    formats: Sequence[ClientFormat], runtime: Runtime
) -> list[ASGIRouteHandler | HTTPRouteHandler]:
    """A route per endpoint; a model list per `models_path`. A mounted endpoint shares its path
    with the model list there (one handler serves both)."""
    listed: dict[str, list[ClientFormat]] = {}
    for client_format in formats:
        if client_format.render_models is not None:
            listed.setdefault(client_format.models_path, []).append(client_format)
    routes: list[ASGIRouteHandler | HTTPRouteHandler] = []
    for client_format in formats:
        if client_format.mounted:
            routes.append(mounted_route(client_format, listed.pop(client_format.path), runtime))
        else:
            routes.append(chat_route(client_format, runtime))
    routes += [models_route(path, group, runtime) for path, group in listed.items()]
    return routes
