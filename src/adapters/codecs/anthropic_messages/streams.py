"""Anthropic SSE streams <-> canonical stream events."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.anthropic_messages.errors import error_body
from aigateway.adapters.codecs.anthropic_messages.wire import (
    ERROR_TYPES,
    ERROR_TYPES_IN,
    FORMAT,
    STOP_OUT,
    StreamMessage,
    WireErrorObject,
    decode_stream_event,
    error_message,
    stop_reason,
    tool_id,
    unsupported,
    usage_in,
    usage_merge,
    usage_out,
)
from aigateway.adapters.codecs.base import WireFormatError, json_encode
from aigateway.adapters.codecs.sse import ENDED_EARLY, SSEEvent, SSEStreamDecoder, frame
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    BlockStop,
    ErrorType,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
    Usage,
)


class AnthropicStreamDecoder(SSEStreamDecoder):
    """Anthropic SSE bytes -> canonical events (one to one, usage merged to cumulative)."""

    __slots__ = ("_done", "_usage")

    def __init__(self) -> None:
        super().__init__()
        self._usage = Usage()
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if not self._done:
            self._done = True
            events.append(StreamError(ErrorType.API_ERROR, ENDED_EARLY))

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done:
            return
        try:
            event = decode_stream_event(sse.data)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"malformed Anthropic stream event: {exc}") from None
        kind = event.type
        delta = event.delta
        if kind == "content_block_delta" and delta is not None:
            if delta.type == "text_delta" and delta.text is not None:
                events.append(TextDelta(event.index, delta.text))
            elif delta.type == "input_json_delta" and delta.partial_json is not None:
                events.append(ToolArgumentsDelta(event.index, delta.partial_json))
            elif delta.type == "thinking_delta" and delta.thinking is not None:
                events.append(ThinkingDelta(event.index, delta.thinking))
            elif delta.type == "signature_delta" and delta.signature is not None:
                events.append(SignatureDelta(event.index, delta.signature))
            # citations_delta: annotations of text already sent; not carried
        elif kind == "content_block_start":
            self._block_start(event.index, event.content_block or {}, events)
        elif kind == "content_block_stop":
            events.append(BlockStop(event.index))
        elif kind == "message_start":
            start = event.message or StreamMessage()
            if start.usage is not None:
                self._usage = usage_in(start.usage)
            events.append(MessageStart(id=start.id, model=start.model, usage=self._usage))
        elif kind == "message_delta":
            if event.usage is not None:
                self._usage = usage_merge(self._usage, event.usage)
            events.append(
                MessageDelta(
                    stop_reason=stop_reason(delta.stop_reason if delta else None),
                    stop_sequence=delta.stop_sequence if delta else None,
                    usage=self._usage,
                )
            )
        elif kind == "message_stop":
            self._done = True
            events.append(MessageStop())
        elif kind == "ping":
            events.append(Ping())
        elif kind == "error":
            self._done = True
            error = event.error or WireErrorObject()
            name = error.type if isinstance(error.type, str) else ""
            message = error_message(error.message) if error.message else "upstream stream error"
            events.append(StreamError(ERROR_TYPES_IN.get(name, ErrorType.API_ERROR), message))

    def _block_start(self, index: int, block: dict[str, Any], events: list[StreamEvent]) -> None:
        kind = block.get("type")
        if kind == "text":
            events.append(BlockStart(index=index, kind=BlockKind.TEXT))
            text = block.get("text")
            if isinstance(text, str) and text:
                events.append(TextDelta(index, text))
        elif kind == "tool_use":
            events.append(
                BlockStart(
                    index=index,
                    kind=BlockKind.TOOL_USE,
                    id=str(block.get("id") or ""),
                    name=str(block.get("name") or ""),
                )
            )
            given = block.get("input")
            if given:  # some proxies send the whole input here
                events.append(ToolArgumentsDelta(index, json_encode(given).decode()))
        elif kind == "thinking":
            events.append(BlockStart(index=index, kind=BlockKind.THINKING))
            text, signature = block.get("thinking"), block.get("signature")
            if isinstance(text, str) and text:
                events.append(ThinkingDelta(index, text))
            if isinstance(signature, str) and signature:
                events.append(SignatureDelta(index, signature))
        elif kind == "redacted_thinking":
            data = block.get("data")
            events.append(
                BlockStart(
                    index=index,
                    kind=BlockKind.REDACTED_THINKING,
                    data=data if isinstance(data, str) else "",
                )
            )
        else:
            events.append(
                BlockStart(
                    index=index, kind=BlockKind.OPAQUE, name=str(kind), data=block, format=FORMAT
                )
            )


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + json_encode(payload) + b"\n\n"


_PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


class AnthropicStreamEncoder:
    """Canonical events -> Anthropic SSE bytes, always in a valid order: one `message_start`
    first (synthesised if a block comes first, never repeated), blocks renumbered from 0 and
    closed before the next opens, open blocks closed before `message_delta`, which carries the
    stop reason and the full usage, then `message_stop`. `model` overrides the upstream's name.
    """

    __slots__ = (
        "_delta_sent",
        "_done",
        "_indices",
        "_kinds",
        "_model",
        "_open",
        "_started",
        "_usage",
    )

    def __init__(self, *, model: str | None = None) -> None:
        self._model = model
        self._started = False
        self._done = False
        self._delta_sent = False
        self._indices: dict[int, int] = {}  # canonical block index -> output index
        self._kinds: dict[int, BlockKind] = {}
        self._open: int | None = None  # canonical index of the open block
        self._usage = Usage()

    @property
    def done(self) -> bool:
        return self._done

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, TextDelta):
            return self._delta(
                event.index, BlockKind.TEXT, {"type": "text_delta", "text": event.text}
            )
        if isinstance(event, ToolArgumentsDelta):
            return self._delta(
                event.index,
                BlockKind.TOOL_USE,
                {"type": "input_json_delta", "partial_json": event.partial_json},
            )
        if isinstance(event, ThinkingDelta):
            return self._delta(
                event.index, BlockKind.THINKING, {"type": "thinking_delta", "thinking": event.text}
            )
        if isinstance(event, SignatureDelta):
            return self._delta(
                event.index,
                BlockKind.THINKING,
                {"type": "signature_delta", "signature": event.signature},
            )
        if isinstance(event, BlockStart):
            return self._block_start(event)
        if isinstance(event, BlockStop):
            return self._close() if self._open == event.index else b""
        if isinstance(event, MessageStart):
            if self._started:
                return b""  # never a second message_start (e.g. after a mid-stream failover)
            if event.usage is not None:
                self._usage = event.usage
            return self._message_start(event.id, event.model)
        if isinstance(event, MessageDelta):
            if event.usage is not None:
                self._usage = event.usage
            return self._message_delta(event.stop_reason, event.stop_sequence)
        if isinstance(event, MessageStop):
            out = b"" if self._delta_sent else self._message_delta(None, None)
            self._done = True
            return out + _MESSAGE_STOP
        if isinstance(event, StreamError):
            self._done = True
            body = error_body(event.message, type=ERROR_TYPES[event.type])
            return self._ensure_started() + frame(body, "error")
        return _PING if self._started else b""

    def _ensure_started(self) -> bytes:
        return b"" if self._started else self._message_start("msg_gateway", "")

    def _message_start(self, id_: str, model: str) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": id_,
            "type": "message",
            "role": "assistant",
            "model": self._model or model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_out(self._usage),
        }
        return _sse("message_start", {"type": "message_start", "message": message})

    def _block_start(self, event: BlockStart) -> bytes:
        out = self._ensure_started() + self._close()
        index = self._indices[event.index] = len(self._indices)
        self._kinds[event.index] = event.kind
        self._open = event.index
        block: dict[str, Any]
        if event.kind is BlockKind.TEXT:
            block = {"type": "text", "text": ""}
        elif event.kind is BlockKind.TOOL_USE:
            block = {
                "type": "tool_use",
                "id": tool_id(event.id or ""),
                "name": event.name or "",
                "input": {},
            }
        elif event.kind is BlockKind.THINKING:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        elif event.kind is BlockKind.REDACTED_THINKING:
            block = {"type": "redacted_thinking", "data": event.data or ""}
        else:
            if event.format != FORMAT or not isinstance(event.data, dict):
                raise unsupported(f"{event.format} block `{event.name}`")
            block = event.data
        payload = {"type": "content_block_start", "index": index, "content_block": block}
        return out + _sse("content_block_start", payload)

    def _delta(self, index: int, kind: BlockKind, delta: dict[str, Any]) -> bytes:
        out = b""
        if index not in self._indices:  # a delta with no block_start: open one
            out = self._block_start(BlockStart(index=index, kind=kind))
        payload = {"type": "content_block_delta", "index": self._indices[index], "delta": delta}
        return out + _sse("content_block_delta", payload)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index = self._indices[self._open]
        self._open = None
        return _sse("content_block_stop", {"type": "content_block_stop", "index": index})

    def _message_delta(self, stop: StopReason | None, stop_sequence: str | None) -> bytes:
        out = self._ensure_started() + self._close()
        if self._delta_sent:
            return out
        self._delta_sent = True
        if stop is None:
            has_tools = BlockKind.TOOL_USE in self._kinds.values()
            stop = StopReason.TOOL_USE if has_tools else StopReason.END_TURN
        payload = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_OUT[stop], "stop_sequence": stop_sequence},
            "usage": usage_out(self._usage),
        }
        return out + _sse("message_delta", payload)
