"""Canonical stream events (Anthropic-shaped: one block at a time, indexed from 0) and an
accumulator that folds a stream into a `ChatResponse`."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import msgspec

from aigateway.domain.llm.chat import ChatResponse, StopReason, Usage
from aigateway.domain.llm.content import (
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    parse_tool_arguments,
)
from aigateway.domain.llm.errors import ErrorType


class BlockKind(enum.StrEnum):
    TEXT = "text"
    TOOL_USE = "tool_use"
    THINKING = "thinking"
    REDACTED_THINKING = "redacted_thinking"
    OPAQUE = "opaque"  # a block of one format with no canonical equivalent


class _Event(msgspec.Struct, frozen=True, tag_field="event"):
    pass


class MessageStart(_Event, frozen=True, tag="message_start", kw_only=True):
    id: str
    model: str
    usage: Usage | None = None


class BlockStart(_Event, frozen=True, tag="block_start", kw_only=True):
    """`id`/`name` for tool_use; `data` is the redacted-thinking payload, or for an opaque block
    the raw block of `format`."""

    index: int
    kind: BlockKind
    id: str | None = None
    name: str | None = None
    data: Any = None
    format: str | None = None


class TextDelta(_Event, frozen=True, tag="text_delta"):
    index: int
    text: str


class ToolArgumentsDelta(_Event, frozen=True, tag="tool_arguments_delta"):
    index: int
    partial_json: str


class ThinkingDelta(_Event, frozen=True, tag="thinking_delta"):
    index: int
    text: str


class SignatureDelta(_Event, frozen=True, tag="signature_delta"):
    index: int
    signature: str


class BlockStop(_Event, frozen=True, tag="block_stop"):
    index: int


class MessageDelta(_Event, frozen=True, tag="message_delta", kw_only=True):
    """End of the answer: why it stopped and the final (cumulative) usage, when known."""

    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None


class MessageStop(_Event, frozen=True, tag="message_stop"):
    pass


class StreamError(_Event, frozen=True, tag="error"):
    type: ErrorType
    message: str


class Ping(_Event, frozen=True, tag="ping"):
    pass


StreamEvent = (
    MessageStart
    | BlockStart
    | TextDelta
    | ToolArgumentsDelta
    | ThinkingDelta
    | SignatureDelta
    | BlockStop
    | MessageDelta
    | MessageStop
    | StreamError
    | Ping
)


class _Block:
    __slots__ = ("chunks", "signature", "start")

    def __init__(self, start: BlockStart) -> None:
        self.start = start
        self.chunks: list[str] = []
        self.signature: str | None = None

    def part(self) -> Part:
        start, text = self.start, "".join(self.chunks)
        if start.kind is BlockKind.TEXT:
            return TextPart(text)
        if start.kind is BlockKind.THINKING:
            return ThinkingPart(text=text, signature=self.signature)
        if start.kind is BlockKind.REDACTED_THINKING:
            return ThinkingPart(redacted_data=start.data if isinstance(start.data, str) else "")
        if start.kind is BlockKind.TOOL_USE:
            arguments, raw = parse_tool_arguments(text)
            return ToolCallPart(
                id=start.id or "", name=start.name or "", arguments=arguments, raw_arguments=raw
            )
        return OpaquePart(
            format=start.format or "", kind="block", name=start.name or "", data=start.data
        )


class StreamAccumulator:
    """Folds canonical events into the response they describe (blocks ordered by index)."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.usage: Usage | None = None
        self.stop_reason: StopReason | None = None
        self.stop_sequence: str | None = None
        self.error: StreamError | None = None
        self._blocks: dict[int, _Block] = {}

    def feed(self, event: StreamEvent) -> None:
        if isinstance(event, TextDelta | ThinkingDelta | ToolArgumentsDelta):
            block = self._blocks.get(event.index)
            if block is not None:
                block.chunks.append(
                    event.partial_json if isinstance(event, ToolArgumentsDelta) else event.text
                )
        elif isinstance(event, BlockStart):
            self._blocks[event.index] = _Block(event)
        elif isinstance(event, SignatureDelta):
            block = self._blocks.get(event.index)
            if block is not None:
                block.signature = (block.signature or "") + event.signature
        elif isinstance(event, MessageStart):
            self.id, self.model = event.id, event.model
            if event.usage is not None:
                self.usage = event.usage
        elif isinstance(event, MessageDelta):
            self.stop_reason, self.stop_sequence = event.stop_reason, event.stop_sequence
            if event.usage is not None:
                self.usage = event.usage
        elif isinstance(event, StreamError):
            self.error = event

    def feed_all(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            self.feed(event)

    def response(self) -> ChatResponse:
        return ChatResponse(
            id=self.id,
            model=self.model,
            content=tuple(self._blocks[i].part() for i in sorted(self._blocks)),
            stop_reason=self.stop_reason,
            stop_sequence=self.stop_sequence,
            usage=self.usage or Usage(),
        )


def accumulate(events: Iterable[StreamEvent]) -> ChatResponse:
    acc = StreamAccumulator()
    acc.feed_all(events)
    return acc.response()
