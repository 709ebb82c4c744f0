"""One upstream attempt's answer: decided on the raw upstream bytes, then relayed.

Whether the attempt failed is read from what the upstream sent, before anything is rendered for
the client: an error status, an error object inside a 2xx body, a stream whose first event is
an error, or a stream that ends before its first event. Such an answer is a `Refusal` (the use
case classifies it and may move to another account). Otherwise the answer reaches the client in
its own wire format: the bytes untouched when both ends speak the same format, translated
through the canonical model when not. A stream that breaks after its first byte ends with an
error event in the client's format (never a silent cut).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import msgspec

from aigateway.adapters.codecs.base import WireCodec, WireFormatError
from aigateway.adapters.codecs.sse import SSEEvent, SSEParser
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.application.ports.upstream import (
    Answer,
    Refusal,
    UpstreamResponse,
    UpstreamUnavailable,
    Usage,
)
from aigateway.domain.errors import error_in_success, status_in_success
from aigateway.domain.llm import ApiError, ErrorType, StreamError
from aigateway.domain.llm import Usage as CanonicalUsage

log = logging.getLogger(__name__)

JSON = "application/json"
# A stream's bytes are held back until its first event is complete, at most this much: an
# error event is small, so a longer first event is an answer.
FIRST_EVENT_LIMIT = 256 * 1024
MAX_SUMMARY = 500
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")  # the blank line that ends an SSE event


class UsageScanner(Protocol):
    """What a passthrough stream needs to notice usage without decoding every event."""

    @property
    def usage(self) -> Usage | None: ...

    def feed(self, chunk: bytes) -> None: ...


def port_usage(usage: CanonicalUsage | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(usage.prompt_tokens, usage.output_tokens)


def error_summary(body: bytes) -> str:
    """The upstream's error message for the request log (bounded; bodies are not stored)."""
    try:
        decoded = msgspec.json.decode(body[: 64 * 1024])
    except (msgspec.DecodeError, RecursionError):
        return body[:MAX_SUMMARY].decode("utf-8", "replace")
    if isinstance(decoded, dict):
        err = decoded.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:MAX_SUMMARY]
        if isinstance(err, str):
            return err[:MAX_SUMMARY]
    return body[:MAX_SUMMARY].decode("utf-8", "replace")


def _is_error_event(event: SSEEvent) -> bool:
    return event.event == "error" or error_in_success(event.data)


class _Held(msgspec.Struct):
    """The first bytes of a stream, read until its first event was complete."""

    chunks: list[bytes]
    first: SSEEvent | None
    ended: bool  # the upstream stream ended within these bytes


class _Exchange:
    """What both kinds of exchange share: deciding on the raw answer."""

    __slots__ = ("_chunks", "_client", "_response", "stream_error")

    def __init__(self, response: UpstreamResponse, client: WireCodec) -> None:
        self._response = response
        self._client = client
        self._chunks: AsyncIterator[bytes] | None = None
        self.stream_error: str | None = None

    async def answer(self) -> Answer | Refusal:
        body = await self._response.read()
        if self._response.status >= 400:
            return self._refusal(body)
        return self._success(body)

    def _error_in_success(self, body: bytes, summary: str) -> Refusal:
        """An error object in a 2xx answer, or as a stream's first event. When it says the
        request is wrong, the client gets it (as a 4xx); otherwise there is nothing to show."""
        response = self._response
        status = status_in_success(body)
        client_body = None
        if status is not None and status < 500:
            client_body = self._render_error(status, body)
        return Refusal(
            status=response.status,
            body=body,
            headers=response.headers,
            client_body=client_body,
            summary=summary,
        )

    async def open_stream(self) -> AsyncIterator[bytes] | Refusal:
        response = self._response
        if response.status >= 400:
            return self._refusal(await response.read())
        held = await self._hold_first_event()
        first = held.first
        if (first is None and held.ended) or (first is not None and first.is_done):
            return Refusal(
                status=response.status,
                body=b"",
                headers=response.headers,
                client_body=None,
                summary="empty stream",
            )
        if first is not None and _is_error_event(first):
            summary = f"stream began with an error: {error_summary(first.data)}"
            return self._error_in_success(first.data, summary)
        return self._relay(held)

    async def _hold_first_event(self) -> _Held:
        """Read until the stream's first event is complete; only that event is parsed (an
        upstream may send the whole stream in one chunk: the rest is the relay's)."""
        chunks = self._chunks = self._response.iter_chunks()
        parser = SSEParser()
        held: list[bytes] = []
        unread = b""  # held bytes not yet given to the parser, at most FIRST_EVENT_LIMIT
        try:
            async for chunk in chunks:
                held.append(chunk)
                unread += chunk
                while (end := _EVENT_END.search(unread)) is not None:
                    events = parser.feed(unread[: end.end()])
                    unread = unread[end.end() :]
                    if events:
                        return _Held(held, events[0], ended=False)
                if len(unread) > FIRST_EVENT_LIMIT:
                    return _Held(held, None, ended=False)
            events = parser.feed(unread) + parser.finish()
        except WireFormatError:  # not an error event: relayed, the client decoder decides
            return _Held(held, None, ended=False)
        return _Held(held, events[0] if events else None, ended=True)

    def _refusal(self, body: bytes) -> Refusal:
        response = self._response
        return Refusal(
            status=response.status,
            body=body,
            headers=response.headers,
            client_body=self._render_error(response.status, body),
            summary=error_summary(body),
        )

    def _render_error(self, status: int, body: bytes) -> bytes:
        raise NotImplementedError

    def _success(self, body: bytes) -> Answer | Refusal:
        raise NotImplementedError

    def _relay(self, held: _Held) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def _rest(self) -> AsyncIterator[bytes]:
        assert self._chunks is not None
        async for chunk in self._chunks:
            yield chunk

    async def close(self) -> None:
        await self._response.close()


class PassthroughExchange(_Exchange):
    """Same format both ends: bytes untouched; usage read on the side."""

    __slots__ = ("_make_scanner", "_read_answer", "_scanner", "_usage")

    def __init__(
        self,
        response: UpstreamResponse,
        client: WireCodec,
        read_answer: Callable[[bytes], tuple[bool, Usage | None]],
        make_scanner: Callable[[], UsageScanner] | None,  # None: the endpoint never streams
    ) -> None:
        super().__init__(response, client)
        self._read_answer = read_answer
        self._make_scanner = make_scanner
        self._scanner: UsageScanner | None = None
        self._usage: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        return self._scanner.usage if self._scanner is not None else self._usage

    def _render_error(self, status: int, body: bytes) -> bytes:
        return body

    def _success(self, body: bytes) -> Answer | Refusal:
        is_error, self._usage = self._read_answer(body)
        if is_error:
            return self._error_in_success(body, "error object inside a 2xx answer")
        return Answer(
            status=self._response.status,
            content_type=self._response.content_type,
            body=body,
            usage=self._usage,
        )

    async def _relay(self, held: _Held) -> AsyncIterator[bytes]:
        scanner = self._scanner = self._make_scanner() if self._make_scanner else None
        head = b"".join(held.chunks)
        if scanner is not None:
            scanner.feed(head)
        yield head
        if held.ended:
            return
        last = head
        try:
            async for chunk in self._rest():
                if scanner is not None:
                    scanner.feed(chunk)
                yield chunk
                last = chunk
        except UpstreamUnavailable as exc:
            self.stream_error = f"upstream stream broke: {exc}"
            error = self._client.encode_stream_error(StreamError(ErrorType.API_ERROR, str(exc)))
            # the break may fall inside an event: end it, so the error is an event of its own
            yield error if last.endswith(b"\n\n") else b"\n\n" + error


class TranslatedExchange(_Exchange):
    """Upstream format -> canonical -> client format, for whole bodies and for streams."""

    __slots__ = ("_include_usage", "_model", "_translator", "_upstream", "_usage")

    def __init__(
        self,
        response: UpstreamResponse,
        upstream: WireCodec,
        client: WireCodec,
        *,
        client_model: str,
        include_usage: bool,
    ) -> None:
        super().__init__(response, client)
        self._upstream = upstream
        self._model = client_model
        self._include_usage = include_usage
        self._translator: StreamTranslator | None = None
        self._usage: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        if self._translator is not None:
            return port_usage(self._translator.usage)
        return self._usage

    def _render_error(self, status: int, body: bytes) -> bytes:
        try:
            error = self._upstream.decode_error(status, body)
        except Exception:  # an undecodable error body still reaches the client as an error
            error = ApiError(status=status, type=ErrorType.API_ERROR, message=error_summary(body))
        return self._client.encode_error(error)

    def _success(self, body: bytes) -> Answer | Refusal:
        if error_in_success(body):
            return self._error_in_success(body, "error object inside a 2xx answer")
        try:
            answer = self._upstream.decode_response(body)
            self._usage = port_usage(answer.usage)
            answer = msgspec.structs.replace(answer, model=self._model)
            rendered = self._client.encode_response(answer, created=int(time.time()))
        except Exception as exc:  # the upstream's answer cannot be read or expressed
            return self._bad_answer(exc)
        return Answer(
            status=self._response.status, content_type=JSON, body=rendered, usage=self._usage
        )

    def _bad_answer(self, exc: Exception) -> Answer:
        message = f"bad upstream answer: {describe(exc)}"
        log.warning("%s", message)
        error = ApiError(status=502, type=ErrorType.API_ERROR, message=message)
        body = self._client.encode_error(error)
        return Answer(status=502, content_type=JSON, body=body, usage=None, error=message)

    async def _relay(self, held: _Held) -> AsyncIterator[bytes]:
        translator = self._translator = StreamTranslator(
            self._upstream.stream_decoder(),
            self._client.stream_encoder(
                include_usage=self._include_usage, created=int(time.time()), model=self._model
            ),
        )
        try:
            out = translator.feed(b"".join(held.chunks))
            if out:
                yield out
            finished = held.ended or translator.done
            if not finished:
                async for chunk in self._rest():
                    out = translator.feed(chunk)
                    if out:
                        yield out
                    if translator.done:
                        break
            tail = translator.finish()
        except UpstreamUnavailable as exc:
            tail = translator.fail(f"upstream stream broke: {exc}")
        except Exception as exc:  # a decoder error is the upstream's fault: a 502, logged
            log.warning("bad upstream stream: %s", describe(exc))
            tail = translator.fail(f"bad upstream stream: {describe(exc)}")
        if translator.error is not None:
            self.stream_error = translator.error.message
        if tail:
            yield tail


def describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:MAX_SUMMARY] or type(exc).__name__
