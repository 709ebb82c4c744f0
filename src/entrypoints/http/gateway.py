"""Client-facing routes: `/v1/chat/completions` and `/v1/models` (OpenAI format)."""

from __future__ import annotations

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Stream

from aigateway.adapters.codecs.openai_chat import decode_request
from aigateway.application.use_cases.proxy_chat import InboundChat, ProxyChat

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def client_token(request: Request[object, object, State]) -> str | None:
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
    return headers.get("x-api-key")


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[object, object, State]) -> Response[bytes] | Stream:
    proxy: ProxyChat = request.app.state.proxy_chat
    client = proxy.authenticate(client_token(request))
    body = await request.body()
    head = decode_request(body)
    result = await proxy.start(
        InboundChat(model=head.model, stream=bool(head.stream), body=body), client
    )
    headers = {"x-request-id": result.request_id}
    if result.chunks is not None:
        return Stream(
            result.chunks,
            status_code=result.status,
            media_type="text/event-stream",
            headers=SSE_HEADERS | headers,
        )
    return Response(
        result.body, status_code=result.status, media_type=result.content_type, headers=headers
    )


class ModelCard(msgspec.Struct):
    id: str
    owned_by: str
    created: int
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


@get("/v1/models", media_type=MediaType.JSON)
async def list_models(request: Request[object, object, State]) -> ModelList:
    proxy: ProxyChat = request.app.state.proxy_chat
    proxy.authenticate(client_token(request))
    catalog = request.app.state.catalog.current
    seen: set[str] = set()
    cards: list[ModelCard] = []
    created = int(request.app.state.started_at)
    for provider in catalog.router.active:
        for model in provider.listed_models():
            if model not in seen:
                seen.add(model)
                cards.append(ModelCard(id=model, owned_by=provider.id, created=created))
    return ModelList(data=cards)
