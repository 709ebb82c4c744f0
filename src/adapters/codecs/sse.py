"""Server-sent events: an incremental parser (bytes in, events out) and a frame writer.

The parser follows the WHATWG event-stream rules — lines end with CRLF, LF or CR; `:` starts a
comment; `data:` lines of one event are joined with LF; a blank line dispatches — and gives the
same events however the bytes are split. It is lenient at the end: a final event without its
blank line is still dispatched by `finish()`.
"""

from __future__ import annotations

import msgspec

from aigateway.domain.llm import StreamEvent

DONE = b"[DONE]"
_BOM = b"\xef\xbb\xbf"


class SSEEvent(msgspec.Struct, frozen=True):
    data: bytes
    event: str = ""  # the `event:` name, "" when absent (the spec's "message")
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """OpenAI's end-of-stream sentinel, `data: [DONE]`."""
        return self.data.strip() == DONE


class SSEParser:
    __slots__ = ("_buffer", "_data", "_event", "_id", "_pending_cr", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._pending_cr = False  # the last chunk ended in CR: drop an LF that starts the next
        self._started = False
        self._data: list[bytes] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if not chunk:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._pending_cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[end + 1 :]
        events: list[SSEEvent] = []
        for line in buffer[:end].split(b"\n"):
            self._line(line, events)
        return events

    def finish(self) -> list[SSEEvent]:
        """End of stream: dispatch what is left (an unterminated last line or event)."""
        events: list[SSEEvent] = []
        if self._buffer:
            line, self._buffer = self._buffer, b""
            self._line(line, events)
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent(b"\n".join(self._data), self._event, self._id))
                self._data = []
            self._event = ""
            return
        if line[0] == 0x3A:  # ":" comment (keep-alive)
            return
        field, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"id" and b"\x00" not in value:
            self._id = value.decode("utf-8", "replace")
        # `retry` and unknown fields are ignored


def frame(data: bytes, event: str | None = None) -> bytes:
    """One SSE frame; `data` must not contain newlines (compact JSON never does)."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


DONE_FRAME = b"data: [DONE]\n\n"


ENDED_EARLY = "upstream stream ended before the answer was complete"


class SSEStreamDecoder:
    """What every stream decoder shares: SSE framing over arbitrary byte splits. Subclasses
    turn one SSE event into canonical events (`_event`) and close the stream when the upstream
    ends it (`_end_of_stream`)."""

    __slots__ = ("_parser",)

    def __init__(self) -> None:
        self._parser = SSEParser()

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self._parser.feed(chunk):
            self._event(sse, events)
        return events

    def feed_event(self, sse: SSEEvent) -> list[StreamEvent]:
        """One already-framed SSE event (for callers that parse SSE themselves)."""
        events: list[StreamEvent] = []
        self._event(sse, events)
        return events

    def finish(self) -> list[StreamEvent]:
        """The upstream stream ended: flush what is held, then end the canonical stream."""
        events: list[StreamEvent] = []
        for sse in self._parser.finish():
            self._event(sse, events)
        self._end_of_stream(events)
        return events

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        raise NotImplementedError

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        raise NotImplementedError
