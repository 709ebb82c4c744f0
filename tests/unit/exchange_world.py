"""The chat executor and its exchanges on production code (the registered profiles and codecs)
over a scripted upstream response in place of the network: shared by test_exchange.py and
test_executor.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.upstream.executors import HttpChatExecutor
from aigateway.application.ports.upstream import (
    ChatCall,
    ChatExchange,
    UpstreamRequest,
)
from aigateway.domain.accounts import Account, credential_from_auth_data
from aigateway.domain.llm import WireFormat
from aigateway.domain.providers import Provider, ProviderKind
from aigateway.domain.proxies import DIRECT
from aigateway.entrypoints.ioc.providers import CODECS, PROFILES
from tests.doubles.routes import CallsOnly
from tests.unit.chat_world import (
    ANTHROPIC_OK,
    ANTHROPIC_OVERLOADED,
    ANTHROPIC_STREAM,
    OK_BODY,
    STREAM,
    ScriptedResponse,
)

OPENAI, ANTHROPIC = openai_chat.FORMAT, anthropic_messages.FORMAT
CODEC: dict[WireFormat, WireCodec] = {c.format: c for c in CODECS}
OPENAI_ERROR = b'{"error":{"message":"slow down","type":"rate_limit_error","code":null}}'
ANTHROPIC_ERROR = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
ERROR_BODY = {OPENAI: OPENAI_ERROR, ANTHROPIC: ANTHROPIC_ERROR}
OK = {OPENAI: OK_BODY, ANTHROPIC: ANTHROPIC_OK}
STREAMS = {OPENAI: STREAM, ANTHROPIC: ANTHROPIC_STREAM}
ERROR_EVENT = {
    OPENAI: b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n',
    ANTHROPIC: b"event: error\ndata: %s\n\n" % ANTHROPIC_OVERLOADED,
}
# (client format, upstream format): both passthrough pairs and both translated pairs
PAIRS = [(OPENAI, OPENAI), (ANTHROPIC, ANTHROPIC), (OPENAI, ANTHROPIC), (ANTHROPIC, OPENAI)]
KIND = {OPENAI: ProviderKind.OPENAI, ANTHROPIC: ProviderKind.ANTHROPIC}


class Upstream(CallsOnly):
    """Hands out one scripted response and records the requests."""

    def __init__(self, response: ScriptedResponse | None = None) -> None:
        self.response = response or ScriptedResponse(200, b"", [], {})
        self.requests: list[UpstreamRequest] = []

    async def open(self, request: UpstreamRequest) -> ScriptedResponse:
        self.requests.append(request)
        return self.response

    async def aclose(self) -> None:
        pass


def provider(upstream: WireFormat, **config: Any) -> Provider:
    return Provider(
        id="p", name="P", kind=KIND[upstream], base_url="http://up", models=("*",), config=config
    )


def executor(
    upstream: WireFormat, transport: Upstream, timeout_s: float = 600.0
) -> HttpChatExecutor:
    profile = next(p for p in PROFILES if p.codec.format == upstream)
    return HttpChatExecutor(transport, profile, CODEC, timeout_s=timeout_s)


def body(client: WireFormat, *, model: str = "m", stream: bool = False, **extra: Any) -> bytes:
    doc: dict[str, Any] = {"model": model, "stream": stream, **extra}
    if client == ANTHROPIC:
        doc["max_tokens"] = 64
    doc["messages"] = [{"role": "user", "content": "hi"}]
    return json.dumps(doc).encode()


def call(
    client: WireFormat,
    upstream: WireFormat,
    *,
    stream: bool = False,
    model: str = "m",
    requested: str = "m",
    config: dict[str, Any] | None = None,
    **fields: Any,
) -> ChatCall:
    return ChatCall(
        provider=provider(upstream, **(config or {})),
        model=model,
        requested_model=requested,
        body=fields.pop("body", None) or body(client, model=requested, stream=stream),
        client_format=client,
        stream=stream,
        **fields,
    )


API_KEY = Account(
    id="a1",
    provider_id="p",
    label="a1",
    credential=credential_from_auth_data({"api_key": "sk-secret"}),
)
OAUTH = Account(
    id="a2",
    provider_id="p",
    label="a2",
    credential=credential_from_auth_data({"access_token": "oat-token", "refresh_token": "r"}),
)


async def exchange_for(
    client: WireFormat,
    upstream: WireFormat,
    response: ScriptedResponse,
    *,
    stream: bool = False,
) -> ChatExchange:
    transport = Upstream(response)
    run = executor(upstream, transport)
    return await run.open(
        run.prepare(call(client, upstream, stream=stream)),
        API_KEY,
        API_KEY.credential.secret,
        DIRECT,
    )


async def drain(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


def sse_data(stream: bytes) -> list[Any]:
    return [
        json.loads(line[6:])
        for line in stream.split(b"\n")
        if line.startswith(b"data: ") and line != b"data: [DONE]"
    ]
