"""Client-facing routes: `/v1/chat/completions` (OpenAI), `/v1/messages` (Anthropic), `/v1/models`.

The two chat routes are raw ASGI handlers: the gateway's own request path skips the
framework's per-request machinery (signature parsing, response objects), reads the body
against the size limit itself, renders every error in the client's own format, and watches
for the client going away so the upstream request is cancelled at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.handlers import asgi
from litestar.types import Receive, Scope, Send

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.base import api_error_from_gateway
from aigateway.application.errors import GatewayError
from aigateway.application.use_cases.proxy_chat import ChatResult, InboundChat, ProxyChat
from aigateway.domain.llm import WireFormat

log = logging.getLogger(__name__)

AsgiMessage = dict[str, Any]
RawReceive = Callable[[], Awaitable[AsgiMessage]]
RawSend = Callable[[AsgiMessage], Awaitable[None]]

JSON_HEADER = (b"content-type", b"application/json")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ClientDisconnected(Exception):
    pass


class ClientFormat(msgspec.Struct, frozen=True):
    """What differs between the client-facing formats: validation and error rendering."""

    format: WireFormat
    head: Callable[[bytes], tuple[str, bool]]  # body -> (model, stream); raises GatewayError
    render_error: Callable[[GatewayError], bytes]


def _openai_head(body: bytes) -> tuple[str, bool]:
    return openai_chat.decode_head(body)


def _openai_error(exc: GatewayError) -> bytes:
    return openai_chat.error_body(exc.message, type=exc.type, code=exc.code, param=exc.param)


def _anthropic_head(body: bytes) -> tuple[str, bool]:
    return anthropic_messages.decode_head(body)


_anthropic_codec = anthropic_messages.AnthropicMessagesCodec()


def _anthropic_error(exc: GatewayError) -> bytes:
    return _anthropic_codec.encode_error(api_error_from_gateway(exc))


OPENAI = ClientFormat(WireFormat.OPENAI_CHAT, _openai_head, _openai_error)
ANTHROPIC = ClientFormat(WireFormat.ANTHROPIC_MESSAGES, _anthropic_head, _anthropic_error)


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


async def relay(
    scope: AsgiMessage, receive: RawReceive, send: RawSend, client_format: ClientFormat
) -> None:
    state = scope["app"].state
    proxy: ProxyChat = state.proxy_chat
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
            body = await read_body(scope, receive, state.settings.max_body_bytes)
            model, stream = client_format.head(body)
            watching = True
            watcher = asyncio.ensure_future(watch_disconnect())
            result = await proxy.start(
                InboundChat(model=model, stream=stream, body=body, format=client_format.format),
                client,
            )
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
            error = GatewayError(500, "internal error", type="api_error", code="internal_error")
            await _send_body(send, 500, "application/json", client_format.render_error(error), [])
    finally:
        watching = False
        if watcher is not None:
            watcher.cancel()


async def _stream(send: RawSend, result: ChatResult, request_id: tuple[bytes, bytes]) -> None:
    chunks: AsyncIterator[bytes] = result.chunks  # type: ignore[assignment]
    try:
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": [*SSE_HEADERS, request_id],
            }
        )
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]


@asgi("/v1/chat/completions", copy_scope=False)
async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
    await relay(scope, receive, send, OPENAI)  # type: ignore[arg-type]


@asgi("/v1/messages", copy_scope=False)
async def messages(scope: Scope, receive: Receive, send: Send) -> None:
    await relay(scope, receive, send, ANTHROPIC)  # type: ignore[arg-type]


class ModelCard(msgspec.Struct):
    id: str
    owned_by: str
    created: int
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


class AnthropicModel(msgspec.Struct):
    id: str
    display_name: str
    created_at: str
    type: str = "model"


class AnthropicModelList(msgspec.Struct):
    data: list[AnthropicModel]
    has_more: bool
    first_id: str | None
    last_id: str | None


@get("/v1/models")
async def list_models(request: Request[object, object, State]) -> Response[bytes]:
    """OpenAI's model list; Anthropic's when the client sends `anthropic-version`."""
    state = request.app.state
    client_format = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
    try:
        state.proxy_chat.authenticate(client_token(request.scope["headers"]))
    except GatewayError as exc:
        return Response(
            client_format.render_error(exc), status_code=exc.status, media_type=MediaType.JSON
        )
    owners: dict[str, str] = {}
    for provider in state.catalog.current.router.active:
        for model in provider.listed_models():
            owners.setdefault(model, provider.id)
    started = int(state.started_at)
    listing: ModelList | AnthropicModelList
    if client_format is ANTHROPIC:
        created = datetime.fromtimestamp(started, UTC).isoformat().replace("+00:00", "Z")
        cards = [AnthropicModel(id=m, display_name=m, created_at=created) for m in owners]
        listing = AnthropicModelList(
            data=cards,
            has_more=False,
            first_id=cards[0].id if cards else None,
            last_id=cards[-1].id if cards else None,
        )
    else:
        listing = ModelList(
            [ModelCard(id=m, owned_by=p, created=started) for m, p in owners.items()]
        )
    return Response(msgspec.json.encode(listing), media_type=MediaType.JSON)
