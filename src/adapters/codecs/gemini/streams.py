"""Gemini `?alt=sse` streams <-> canonical stream events."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import WireFormatError, json_encode
from aigateway.adapters.codecs.gemini.errors import error_body
from aigateway.adapters.codecs.gemini.wire import (
    FORMAT,
    STATUS_TYPES,
    decode_answer,
    error_message,
    finish_reason,
    finish_reason_out,
    next_call_id,
    unsupported,
    usage_in,
    usage_out,
)
from aigateway.adapters.codecs.sse import ENDED_EARLY, SSEEvent, SSEStreamDecoder, frame
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    BlockStop,
    ErrorType,
    MessageDelta,
    MessageStart,
    MessageStop,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
    Usage,
    parse_tool_arguments,
)


class GeminiStreamDecoder(SSEStreamDecoder):
    """Gemini `?alt=sse` bytes -> canonical events. Blocks open and close as the part kind
    changes; each functionCall is a whole tool block; the finish reason and usage (which may
    come on separate last chunks) end the message at `finish()`."""

    __slots__ = (
        "_calls",
        "_counter",
        "_done",
        "_finish",
        "_index",
        "_open",
        "_started",
        "_usage",
    )

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._done = False
        self._index = 0  # the next block index
        self._open: BlockKind | None = None  # kind of the open block (index `_index - 1`)
        self._counter = [0]
        self._calls = False
        self._finish: str | None = None
        self._usage: Usage | None = None

    @property
    def done(self) -> bool:
        return self._done

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if self._done:
            return
        self._done = True
        self._close(events)
        if self._finish is None:
            message = ENDED_EARLY if self._started else "upstream stream was empty"
            events.append(StreamError(ErrorType.API_ERROR, message))
            return
        stop = finish_reason(self._finish, has_calls=self._calls)
        events.append(MessageDelta(stop_reason=stop, usage=self._usage))
        events.append(MessageStop())

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done or not sse.data.strip() or sse.is_done:
            return
        try:
            wire = decode_answer(sse.data)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"malformed Gemini stream chunk: {exc}") from None
        if wire.error is not None:
            self._done = True
            code = wire.error.status if isinstance(wire.error.status, str) else ""
            message = error_message(wire.error.message) if wire.error.message else ""
            events.append(
                StreamError(
                    STATUS_TYPES.get(code, ErrorType.API_ERROR),
                    message or "upstream stream error",
                )
            )
            return
        if not self._started:
            self._started = True
            events.append(MessageStart(id=wire.responseId or "", model=wire.modelVersion or ""))
        if wire.usageMetadata is not None:
            self._usage = usage_in(wire.usageMetadata)
        if not wire.candidates:
            return
        candidate = wire.candidates[0]
        if candidate.content is not None:
            for raw in candidate.content.parts:
                if isinstance(raw, dict):
                    self._part(raw, events)
        if candidate.finishReason is not None:
            self._finish = candidate.finishReason

    def _open_block(self, kind: BlockKind, events: list[StreamEvent], **fields: Any) -> int:
        self._close(events)
        index = self._index
        self._index += 1
        self._open = kind
        events.append(BlockStart(index=index, kind=kind, **fields))
        return index

    def _close(self, events: list[StreamEvent]) -> None:
        if self._open is not None:
            events.append(BlockStop(self._index - 1))
            self._open = None

    def _part(self, raw: dict[str, Any], events: list[StreamEvent]) -> None:
        signature = raw.get("thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        text = raw.get("text")
        if raw.get("thought") is True:
            if self._open is not BlockKind.THINKING:
                self._open_block(BlockKind.THINKING, events)
            index = self._index - 1
            if isinstance(text, str) and text:
                events.append(ThinkingDelta(index, text))
            if signature is not None:
                events.append(SignatureDelta(index, signature))
            return
        if signature is not None:  # a signature on a call or text: its own thinking block
            index = self._open_block(BlockKind.THINKING, events)
            events.append(SignatureDelta(index, signature))
        if isinstance(text, str):
            if not text and signature is None:
                return
            if self._open is not BlockKind.TEXT:
                self._open_block(BlockKind.TEXT, events)
            if text:
                events.append(TextDelta(self._index - 1, text))
            return
        call = raw.get("functionCall")
        if isinstance(call, dict):
            self._calls = True
            name = str(call.get("name") or "")
            given = call.get("id")
            call_id = next_call_id(given if isinstance(given, str) else None, self._counter)
            index = self._open_block(BlockKind.TOOL_USE, events, id=call_id, name=name)
            args = call.get("args")
            events.append(
                ToolArgumentsDelta(index, json_encode(args if args is not None else {}).decode())
            )
            self._close(events)
            return
        name = next((key for key in raw if key != "thoughtSignature"), "part")
        data = {k: v for k, v in raw.items() if k != "thoughtSignature"}
        self._open_block(BlockKind.OPAQUE, events, name=name, data=data, format=FORMAT)
        self._close(events)


class GeminiStreamEncoder:
    """Canonical events -> Gemini `?alt=sse` chunks: a chunk per text or thought delta, a whole
    functionCall when its tool block stops, and a last chunk with finishReason and
    usageMetadata at the message stop. A signature-only thinking block rides on the next part."""

    __slots__ = (
        "_args",
        "_blocks",
        "_done",
        "_id",
        "_model",
        "_model_override",
        "_pending",
        "_stop",
        "_thought_text",
        "_usage",
    )

    def __init__(self, *, model: str | None = None) -> None:
        self._model_override = model
        self._model = ""
        self._id = ""
        self._done = False
        self._blocks: dict[int, BlockStart] = {}
        self._args: dict[int, list[str]] = {}
        self._thought_text: set[int] = set()  # thinking blocks that had text
        self._pending: str | None = None  # signature waiting for the next part
        self._stop: StopReason | None = None
        self._usage: Usage | None = None

    @property
    def done(self) -> bool:
        return self._done

    def _chunk(
        self,
        parts: list[dict[str, Any]],
        finish: str | None = None,
        usage: Usage | None = None,
    ) -> bytes:
        if self._pending is not None and parts:
            parts[0] = {**parts[0], "thoughtSignature": self._pending}
            self._pending = None
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        body: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            body["usageMetadata"] = usage_out(usage)
        body["modelVersion"] = self._model_override or self._model
        body["responseId"] = self._id
        return frame(json_encode(body))

    def _flush_pending(self) -> bytes:
        if self._pending is None:
            return b""
        signature, self._pending = self._pending, None
        return self._chunk([{"text": "", "thought": True, "thoughtSignature": signature}])

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, TextDelta):
            return self._chunk([{"text": event.text}]) if event.text else b""
        if isinstance(event, ThinkingDelta):
            if not event.text:
                return b""
            self._thought_text.add(event.index)
            return self._flush_pending() + self._chunk([{"text": event.text, "thought": True}])
        if isinstance(event, SignatureDelta):
            out = self._flush_pending()
            if event.index in self._thought_text:
                part = {"text": "", "thought": True, "thoughtSignature": event.signature}
                return out + self._chunk([part])
            self._pending = event.signature
            return out
        if isinstance(event, ToolArgumentsDelta):
            self._args.setdefault(event.index, []).append(event.partial_json)
            return b""
        if isinstance(event, BlockStart):
            self._blocks[event.index] = event
            if event.kind is BlockKind.OPAQUE:
                if event.format != FORMAT or not isinstance(event.data, dict):
                    raise unsupported(f"{event.format} block `{event.name}`")
                return self._chunk([dict(event.data)])
            return b""
        if isinstance(event, BlockStop):
            start = self._blocks.get(event.index)
            if start is None or start.kind is not BlockKind.TOOL_USE:
                return b""
            arguments, _ = parse_tool_arguments("".join(self._args.pop(event.index, [])))
            call = {
                "id": start.id or "",
                "name": start.name or "",
                "args": arguments if isinstance(arguments, dict) else {},
            }
            return self._chunk([{"functionCall": call}])
        if isinstance(event, MessageStart):
            self._id, self._model = event.id, event.model
            if event.usage is not None:
                self._usage = event.usage
            return b""
        if isinstance(event, MessageDelta):
            self._stop = event.stop_reason
            if event.usage is not None:
                self._usage = event.usage
            return b""
        if isinstance(event, MessageStop):
            self._done = True
            parts: list[dict[str, Any]] = []
            if self._pending is not None:
                parts.append({"text": "", "thought": True, "thoughtSignature": self._pending})
                self._pending = None
            return self._chunk(parts, finish_reason_out(self._stop), self._usage or Usage())
        if isinstance(event, StreamError):
            self._done = True
            return frame(error_body(event.message, type=event.type))
        return b""  # Ping: Gemini streams have no keep-alive event
