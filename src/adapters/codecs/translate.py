"""Stream translation: upstream bytes -> canonical events -> client bytes, one stream at a time.

Usage (an executor relaying an upstream stream in another format):

    translator = StreamTranslator(upstream.stream_decoder(), client.stream_encoder(...))
    async for chunk in upstream_chunks:
        out = translator.feed(chunk)
        if out:
            yield out
        if translator.done:
            break
    yield translator.finish()  # or translator.fail("...") when the connection broke

Upstream events the client format cannot show, and upstream bytes that cannot be read, end
the stream with an error event in the client's format (never an exception mid-response).
"""

from __future__ import annotations

from aigateway.adapters.codecs.base import (
    UPSTREAM_NESTED_TOO_DEEPLY,
    StreamDecoder,
    StreamEncoder,
    WireFormatError,
)
from aigateway.domain.llm import (
    ErrorType,
    MessageDelta,
    MessageStart,
    StreamError,
    StreamEvent,
    UnsupportedContent,
    Usage,
)


class StreamTranslator:
    __slots__ = ("_decoder", "_encoder", "error", "events", "usage")

    def __init__(self, decoder: StreamDecoder, encoder: StreamEncoder) -> None:
        self._decoder = decoder
        self._encoder = encoder
        self.usage: Usage | None = None  # the latest usage seen (for the request log)
        self.error: StreamError | None = None  # set when the stream ended in an error
        self.events = 0

    @property
    def done(self) -> bool:
        return self._encoder.done

    def feed(self, chunk: bytes) -> bytes:
        if self._encoder.done:
            return b""
        try:
            return self._encode(self._decoder.feed(chunk))
        except WireFormatError as exc:
            return self.fail(str(exc))

    def finish(self) -> bytes:
        """The upstream stream ended: flush, or end with an error if it ended too early."""
        if self._encoder.done:
            return b""
        try:
            return self._encode(self._decoder.finish())
        except WireFormatError as exc:
            return self.fail(str(exc))

    def fail(self, message: str, error_type: ErrorType = ErrorType.API_ERROR) -> bytes:
        """End the client stream with an error event (e.g. the upstream connection broke)."""
        if self._encoder.done:
            return b""
        self.error = StreamError(error_type, message)
        return self._encoder.encode(self.error)

    def _encode(self, events: list[StreamEvent]) -> bytes:
        out: list[bytes] = []
        for event in events:
            self.events += 1
            if isinstance(event, MessageStart | MessageDelta) and event.usage is not None:
                self.usage = event.usage
            elif isinstance(event, StreamError):
                self.error = event
            try:
                out.append(self._encoder.encode(event))
            except UnsupportedContent as exc:
                out.append(self.fail(str(exc), ErrorType.INVALID_REQUEST))
                break
            except RecursionError:
                out.append(self.fail(UPSTREAM_NESTED_TOO_DEEPLY))
                break
        return b"".join(out)
