"""Reassembling a canonical stream into the response it describes: how the codec tests and
properties compare a stream with an answer. Written apart from the gateway's own fold (the
Cloud Code exchange's `assemble`, for Claude answers streamed upstream) so that it can judge
the codecs independently: it also keeps what Gemini never sends (redacted thinking, stop
sequences)."""

from __future__ import annotations

from collections.abc import Iterable

from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    ChatResponse,
    MessageDelta,
    MessageStart,
    OpaquePart,
    Part,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolArgumentsDelta,
    ToolCallPart,
    Usage,
    parse_tool_arguments,
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
