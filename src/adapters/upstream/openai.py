"""Executor for OpenAI-compatible providers (kind `openai`): Chat Completions passthrough."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aigateway.adapters.codecs.openai_chat import StreamUsageScanner, rewrite_model, usage_from_body
from aigateway.application.ports.upstream import (
    ChatCall,
    Upstream,
    UpstreamRequest,
    UpstreamResponse,
    Usage,
)

USER_AGENT = "aigateway/0.1"


class OpenAIExchange:
    __slots__ = ("_response", "_scanner", "_usage", "content_type", "status")

    def __init__(self, response: UpstreamResponse) -> None:
        self._response = response
        self.status = response.status
        self.content_type = response.content_type
        self._usage: Usage | None = None
        self._scanner: StreamUsageScanner | None = None

    @property
    def usage(self) -> Usage | None:
        return self._scanner.usage if self._scanner is not None else self._usage

    async def read(self) -> bytes:
        body = await self._response.read()
        if self.status < 400:
            self._usage = usage_from_body(body)
        return body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        scanner = self._scanner = StreamUsageScanner()
        async for chunk in self._response.iter_chunks():
            scanner.feed(chunk)
            yield chunk

    async def close(self) -> None:
        await self._response.close()


class OpenAIChatExecutor:
    def __init__(self, upstream: Upstream, *, timeout_s: float = 600.0) -> None:
        self._upstream = upstream
        self._timeout_s = timeout_s

    async def open(self, call: ChatCall) -> OpenAIExchange:
        body = (
            call.body
            if call.model == call.requested_model
            else rewrite_model(call.body, call.model)
        )
        headers = {
            "Authorization": f"Bearer {call.account.credential.secret}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if call.stream:
            headers["Accept"] = "text/event-stream"
        response = await self._upstream.open(
            UpstreamRequest(
                url=f"{call.provider.base_url}/chat/completions",
                headers=headers,
                body=body,
                timeout_s=self._timeout_s,
            )
        )
        return OpenAIExchange(response)
