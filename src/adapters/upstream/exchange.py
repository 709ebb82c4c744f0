"""Relaying an upstream answer to the client: byte passthrough, or translated by codecs.

Either way the client receives its own wire format, including errors: an upstream error
status is re-rendered in the client's format, and a stream that breaks after the first byte
ends with an error event in the client's format (never a silent cut).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

import msgspec

from aigateway.adapters.codecs.base import WireCodec, WireFormatError
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.application.ports.upstream import UpstreamResponse, UpstreamUnavailable, Usage
from aigateway.domain.llm import ApiError, ErrorType, StreamError
from aigateway.domain.llm import Usage as CanonicalUsage

JSON = "application/json"


class UsageScanner(Protocol):
    """What a passthrough stream needs to notice usage without decoding every event."""

    @property
    def usage(self) -> Usage | None: ...

    def feed(self, chunk: bytes) -> None: ...


def port_usage(usage: CanonicalUsage | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.output_tokens)


class PassthroughExchange:
    """Same format both ends: bytes untouched; usage read on the side."""

    __slots__ = (
        "_client",
        "_make_scanner",
        "_response",
        "_scanner",
        "_usage",
        "_usage_from_body",
        "content_type",
        "status",
        "stream_error",
    )

    def __init__(
        self,
        response: UpstreamResponse,
        client: WireCodec,
        usage_from_body: Callable[[bytes], Usage | None],
        make_scanner: Callable[[], UsageScanner],
    ) -> None:
        self._response = response
        self._client = client
        self._usage_from_body = usage_from_body
        self._make_scanner = make_scanner
        self._scanner: UsageScanner | None = None
        self._usage: Usage | None = None
        self.status = response.status
        self.content_type = response.content_type
        self.stream_error: str | None = None

    @property
    def usage(self) -> Usage | None:
        return self._scanner.usage if self._scanner is not None else self._usage

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self) -> bytes:
        body = await self._response.read()
        if self.status < 400:
            self._usage = self._usage_from_body(body)
        return body

    async def read_error(self) -> tuple[bytes, bytes]:
        body = await self._response.read()
        return body, body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        scanner = self._scanner = self._make_scanner()
        try:
            async for chunk in self._response.iter_chunks():
                scanner.feed(chunk)
                yield chunk
        except UpstreamUnavailable as exc:
            self.stream_error = f"upstream stream broke: {exc}"
            yield self._client.encode_stream_error(StreamError(ErrorType.API_ERROR, str(exc)))

    async def close(self) -> None:
        await self._response.close()


class TranslatedExchange:
    """Upstream format -> canonical -> client format, for whole bodies and for streams."""

    __slots__ = (
        "_client",
        "_include_usage",
        "_model",
        "_response",
        "_translator",
        "_upstream",
        "_usage",
        "content_type",
        "status",
        "stream_error",
    )

    def __init__(
        self,
        response: UpstreamResponse,
        upstream: WireCodec,
        client: WireCodec,
        *,
        client_model: str,
        include_usage: bool,
    ) -> None:
        self._response = response
        self._upstream = upstream
        self._client = client
        self._model = client_model
        self._include_usage = include_usage
        self._translator: StreamTranslator | None = None
        self._usage: Usage | None = None
        self.status = response.status
        self.content_type = JSON if response.status >= 400 else response.content_type
        self.stream_error: str | None = None

    @property
    def usage(self) -> Usage | None:
        if self._translator is not None:
            return port_usage(self._translator.usage)
        return self._usage

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read_error(self) -> tuple[bytes, bytes]:
        body = await self._response.read()
        self.content_type = JSON
        return body, self._client.encode_error(self._upstream.decode_error(self.status, body))

    async def read(self) -> bytes:
        if self.status >= 400:
            return (await self.read_error())[1]
        body = await self._response.read()
        self.content_type = JSON
        try:
            answer = self._upstream.decode_response(body)
        except WireFormatError as exc:
            self.status = 502
            return self._client.encode_error(
                ApiError(
                    status=502, type=ErrorType.API_ERROR, message=f"bad upstream answer: {exc}"
                )
            )
        self._usage = port_usage(answer.usage)
        answer = msgspec.structs.replace(answer, model=self._model)
        return self._client.encode_response(answer, created=int(time.time()))

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        translator = self._translator = StreamTranslator(
            self._upstream.stream_decoder(),
            self._client.stream_encoder(
                include_usage=self._include_usage, created=int(time.time()), model=self._model
            ),
        )
        try:
            async for chunk in self._response.iter_chunks():
                out = translator.feed(chunk)
                if out:
                    yield out
                if translator.done:
                    break
            tail = translator.finish()
        except UpstreamUnavailable as exc:
            tail = translator.fail(f"upstream stream broke: {exc}")
        if translator.error is not None:
            self.stream_error = translator.error.message
        if tail:
            yield tail

    async def close(self) -> None:
        await self._response.close()
