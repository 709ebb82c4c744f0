"""Server-sent events: an incremental parser (bytes in, events out) and a frame writer.

The parser follows the WHATWG event-stream rules — lines end with CRLF, LF or CR; `:` starts a
comment; `data:` lines of one event are joined with LF; a blank line dispatches — and gives the
same events however the bytes are split. It is lenient at the end: a final event without its
blank line is still dispatched by `finish()`. Lines and events are capped (`MAX_LINE_BYTES`,
`MAX_EVENT_BYTES`): past a cap the stream is malformed (`WireFormatError`).
"""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.base import UPSTREAM_NESTED_TOO_DEEPLY, WireFormatError
from aigateway.domain.llm import StreamEvent

DONE = b"[DONE]"
_BOM = b"\xef\xbb\xbf"
# No event of a chat stream comes near these; an upstream that exceeds them is broken or hostile.
MAX_LINE_BYTES = 8 << 20
MAX_EVENT_BYTES = 8 << 20


class SSEEvent(msgspec.Struct, frozen=True):
    data: bytes
    event: str = ""  # the `event:` name, "" when absent (the spec's "message")
    id: str | None = None

    @property
    def is_done(self) -> bool:
        """OpenAI's end-of-stream sentinel, `data: [DONE]`."""
        return self.data.strip() == DONE


class SSEParser:
    """Bytes of one SSE stream, split anywhere -> events. A line or an event longer than
    `MAX_LINE_BYTES` / `MAX_EVENT_BYTES` raises `WireFormatError`, so an upstream that never
    ends a line cannot grow the buffer without bound."""

    __slots__ = ("_buffer", "_data", "_event", "_id", "_pending_cr", "_size", "_started")

    def __init__(self) -> None:
        self._buffer = bytearray()  # an unfinished line (or, before the first byte, a BOM prefix)
        self._pending_cr = False  # the last chunk ended in CR: drop an LF that starts the next
        self._started = False
        self._data: list[bytes] = []
        self._size = 0  # bytes in `_data`
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
        if not self._started:
            chunk = bytes(self._buffer) + chunk
            self._buffer.clear()
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._buffer += chunk
                return []
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        end = chunk.rfind(b"\n")
        if end < 0:
            self._buffer += chunk
            self._check_line(len(self._buffer))
            return []
        if self._buffer:
            self._buffer += chunk[:end]
            block = bytes(self._buffer)
            self._buffer.clear()
        else:
            block = chunk[:end]
        self._buffer += chunk[end + 1 :]
        self._check_line(len(self._buffer))
        events: list[SSEEvent] = []
        for line in block.split(b"\n"):
            self._line(line, events)
        return events

    def finish(self) -> list[SSEEvent]:
        """End of stream: dispatch what is left (an unterminated last line or event)."""
        events: list[SSEEvent] = []
        if self._buffer:
            line = bytes(self._buffer)
            self._buffer.clear()
            self._line(line, events)
        self._line(b"", events)
        return events

    @staticmethod
    def _check_line(size: int) -> None:
        if size > MAX_LINE_BYTES:
            raise WireFormatError(f"upstream SSE line longer than {MAX_LINE_BYTES} bytes")

    def _line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent(b"\n".join(self._data), self._event, self._id))
                self._data = []
                self._size = 0
            self._event = ""
            return
        self._check_line(len(line))
        if line[0] == 0x3A:  # ":" comment (keep-alive)
            return
        field, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._size += len(value) + 1
            if self._size > MAX_EVENT_BYTES:
                raise WireFormatError(f"upstream SSE event longer than {MAX_EVENT_BYTES} bytes")
            self._data.append(value)
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"id" and b"\x00" not in value:
            self._id = value.decode("utf-8", "replace")
        # `retry` and unknown fields are ignored


class LineSplitter:
    """Complete lines of a byte stream split anywhere, for scanners that may miss a line
    (usage on passthrough streams): at most `max_line` bytes of an unfinished line are held;
    the rest of a longer line is skipped, so the scanner's memory stays bounded."""

    __slots__ = ("_max_line", "_skipping", "_tail")

    def __init__(self, max_line: int = 1 << 20) -> None:
        self._max_line = max_line
        self._tail = bytearray()
        self._skipping = False  # inside a line longer than max_line: drop up to its end

    def feed(self, chunk: bytes) -> bytes:
        """The lines this chunk completes (held bytes included), ending in LF; or b""."""
        if self._skipping:
            start = chunk.find(b"\n")
            if start < 0:
                return b""
            self._skipping = False
            chunk = chunk[start + 1 :]
        end = chunk.rfind(b"\n")
        if end < 0:
            self._hold(chunk)
            return b""
        if self._tail:
            self._tail += chunk[: end + 1]
            complete = bytes(self._tail)
            self._tail.clear()
        else:
            complete = chunk[: end + 1]
        self._hold(chunk[end + 1 :])
        return complete

    def _hold(self, part: bytes) -> None:
        if len(self._tail) + len(part) > self._max_line:
            self._tail.clear()
            self._skipping = True
        else:
            self._tail += part


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
        return self._events(self._parser.feed(chunk))

    def finish(self) -> list[StreamEvent]:
        """The upstream stream ended: flush what is held, then end the canonical stream."""
        events = self._events(self._parser.finish())
        self._end_of_stream(events)
        return events

    def _events(self, found: list[SSEEvent]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        try:
            for sse in found:
                self._event(sse, events)
        except RecursionError:
            raise WireFormatError(UPSTREAM_NESTED_TOO_DEEPLY) from None
        return events

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        raise NotImplementedError

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        raise NotImplementedError
