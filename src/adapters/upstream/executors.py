"""Chat executors, one per provider kind: how to reach the upstream, and when to translate.

A client speaking the upstream's own format gets a byte passthrough (only the model name is
rewritten when it differs); any other client format is translated through the canonical model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.upstream.exchange import (
    PassthroughExchange,
    TranslatedExchange,
    UsageScanner,
)
from aigateway.application.ports.upstream import (
    ChatCall,
    ChatExchange,
    Upstream,
    UpstreamRequest,
    UpstreamResponse,
    Usage,
)
from aigateway.domain.accounts import AuthType
from aigateway.domain.llm import WireFormat

USER_AGENT = "aigateway/0.1"
ANTHROPIC_VERSION = "2023-06-01"


def default_codecs() -> dict[WireFormat, WireCodec]:
    return {
        WireFormat.OPENAI_CHAT: openai_chat.OpenAIChatCodec(),
        WireFormat.ANTHROPIC_MESSAGES: anthropic_messages.AnthropicMessagesCodec(),
    }


class HttpChatExecutor:
    """Shared flow; subclasses say where the upstream lives and how it authenticates."""

    upstream_format: WireFormat
    usage_from_body: Callable[[bytes], Usage | None]
    make_scanner: Callable[[], UsageScanner]

    def __init__(
        self,
        transport: Upstream,
        *,
        codecs: Mapping[WireFormat, WireCodec] | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self._transport = transport
        self._codecs = dict(codecs or default_codecs())
        self._timeout_s = timeout_s

    def url(self, call: ChatCall) -> str:
        raise NotImplementedError

    def headers(self, call: ChatCall) -> dict[str, str]:
        raise NotImplementedError

    async def open(self, call: ChatCall) -> ChatExchange:
        client = self._codecs[call.client_format]
        if call.client_format is self.upstream_format:
            body = call.body
            if call.model != call.requested_model:
                body = openai_chat.rewrite_model(body, call.model)
            return PassthroughExchange(
                await self._send(call, body),
                client,
                type(self).usage_from_body,
                type(self).make_scanner,
            )
        upstream = self._codecs[self.upstream_format]
        request = client.decode_request(call.body)
        wants_usage = request.include_usage
        request = msgspec.structs.replace(request, model=call.model, include_usage=request.stream)
        body = upstream.encode_request(request)  # raises UnsupportedContent
        return TranslatedExchange(
            await self._send(call, body),
            upstream,
            client,
            client_model=call.requested_model,
            include_usage=wants_usage,
        )

    async def _send(self, call: ChatCall, body: bytes) -> UpstreamResponse:
        headers = self.headers(call)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        if call.stream:
            headers["Accept"] = "text/event-stream"
        config = call.provider.config
        request = UpstreamRequest(
            url=self.url(call),
            headers=headers,
            body=body,
            timeout_s=_seconds(config.get("read_timeout_s")) or self._timeout_s,
            connect_timeout_s=_seconds(config.get("connect_timeout_s")),
            total_timeout_s=None if call.stream else _seconds(config.get("total_timeout_s")),
        )
        return await self._transport.open(request)


def _seconds(value: object) -> float | None:
    """A positive number of seconds from provider config (validated when the provider is saved)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


class OpenAIChatExecutor(HttpChatExecutor):
    """Any OpenAI-compatible Chat Completions service (provider kind `openai`)."""

    upstream_format = WireFormat.OPENAI_CHAT
    usage_from_body = staticmethod(openai_chat.usage_from_body)
    make_scanner = openai_chat.StreamUsageScanner

    def url(self, call: ChatCall) -> str:
        return f"{call.provider.base_url}/chat/completions"

    def headers(self, call: ChatCall) -> dict[str, str]:
        return {"Authorization": f"Bearer {call.account.credential.secret}"}


class AnthropicExecutor(HttpChatExecutor):
    """Anthropic's Messages API (provider kind `anthropic`): `x-api-key` for API keys, a bearer
    token for OAuth accounts; `anthropic_version` and `anthropic_beta` come from the provider's
    config."""

    upstream_format = WireFormat.ANTHROPIC_MESSAGES
    usage_from_body = staticmethod(anthropic_messages.usage_from_body)
    make_scanner = anthropic_messages.StreamUsageScanner

    def url(self, call: ChatCall) -> str:
        return f"{call.provider.base_url}/v1/messages"

    def headers(self, call: ChatCall) -> dict[str, str]:
        config = call.provider.config
        credential = call.account.credential
        headers = {"anthropic-version": str(config.get("anthropic_version", ANTHROPIC_VERSION))}
        if config.get("anthropic_beta"):
            headers["anthropic-beta"] = str(config["anthropic_beta"])
        if credential.auth_type is AuthType.API_KEY:
            headers["x-api-key"] = credential.secret
        else:
            headers["Authorization"] = f"Bearer {credential.secret}"
        return headers
