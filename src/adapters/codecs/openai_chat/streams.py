"""OpenAI `chat.completion.chunk` SSE streams <-> canonical stream events."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.base import WireFormatError, json_encode
from aigateway.adapters.codecs.openai_chat.errors import error_body, stream_error_in
from aigateway.adapters.codecs.openai_chat.wire import (
    ERROR_TYPES,
    STOP_TO_FINISH,
    ChunkFunction,
    ChunkToolCall,
    decode_chunk,
    format_title,
    reasoning_text,
    stop_reason,
    unsupported,
    usage_in,
    usage_out,
)
from aigateway.adapters.codecs.sse import DONE_FRAME, ENDED_EARLY, SSEEvent, SSEStreamDecoder, frame
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    BlockStop,
    ErrorType,
    MessageDelta,
    MessageStart,
    MessageStop,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from aigateway.domain.llm import Usage as CanonicalUsage


class OpenAIStreamDecoder(SSEStreamDecoder):
    """OpenAI `chat.completion.chunk` SSE bytes -> canonical events.

    Opens one block per kind change (reasoning -> thinking, content -> text, each tool call ->
    tool_use), holds the finish reason until the usage chunk (or `[DONE]`) so that
    `MessageDelta` carries both, and synthesises missing tool-call ids.
    """

    __slots__ = (
        "_delta_sent",
        "_done",
        "_finish",
        "_id",
        "_next_index",
        "_open",
        "_open_kind",
        "_started",
        "_tools",
        "_usage",
    )

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._done = False
        self._id = ""
        self._next_index = 0
        self._open: int | None = None
        self._open_kind: BlockKind | None = None
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> block index
        self._finish: StopReason | None = None
        self._usage: CanonicalUsage | None = None
        self._delta_sent = False

    @property
    def done(self) -> bool:
        return self._done

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if not self._done:
            if self._finish is not None:
                self._end(events)
            else:
                self._done = True
                events.append(StreamError(ErrorType.API_ERROR, ENDED_EARLY))

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done:
            return
        if sse.is_done:
            self._end(events)
            return
        try:
            chunk = decode_chunk(sse.data)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"malformed OpenAI stream chunk: {exc}") from None
        if chunk.error is not None:
            self._done = True
            events.append(stream_error_in(chunk.error))
            return
        if not self._started:
            self._started = True
            self._id = chunk.id
            events.append(MessageStart(id=chunk.id, model=chunk.model))
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                reasoning = delta.reasoning_content or reasoning_text(delta.reasoning)
                if reasoning:
                    self._ensure(BlockKind.THINKING, events)
                    events.append(ThinkingDelta(self._index(), reasoning))
                if delta.content:
                    self._ensure(BlockKind.TEXT, events)
                    events.append(TextDelta(self._index(), delta.content))
                if delta.refusal:
                    self._ensure(BlockKind.TEXT, events)
                    events.append(TextDelta(self._index(), delta.refusal))
                if delta.tool_calls:
                    for position, call in enumerate(delta.tool_calls):
                        self._tool_delta(call, position, events)
            if choice.finish_reason is not None:
                self._close(events)
                stop = stop_reason(choice.finish_reason)
                if self._tools and stop is StopReason.END_TURN:
                    stop = StopReason.TOOL_USE
                self._finish = stop
        if chunk.usage is not None:
            self._usage = usage_in(chunk.usage)
            if self._finish is not None and not self._delta_sent:
                self._delta_sent = True
                events.append(MessageDelta(stop_reason=self._finish, usage=self._usage))

    def _index(self) -> int:
        assert self._open is not None
        return self._open

    def _tool_delta(self, call: ChunkToolCall, position: int, events: list[StreamEvent]) -> None:
        key = call.index if call.index is not None else position
        function = call.function or ChunkFunction()
        index = self._tools.get(key)
        if index is None:
            self._close(events)
            index = self._next_index
            self._next_index += 1
            self._tools[key] = index
            self._open, self._open_kind = index, BlockKind.TOOL_USE
            call_id = call.id or f"call_{self._id or 'gateway'}_{key}"
            events.append(
                BlockStart(
                    index=index, kind=BlockKind.TOOL_USE, id=call_id, name=function.name or ""
                )
            )
        if function.arguments:
            events.append(ToolArgumentsDelta(index, function.arguments))

    def _ensure(self, kind: BlockKind, events: list[StreamEvent]) -> None:
        if self._open_kind is kind:
            return
        self._close(events)
        self._open, self._open_kind = self._next_index, kind
        self._next_index += 1
        events.append(BlockStart(index=self._open, kind=kind))

    def _close(self, events: list[StreamEvent]) -> None:
        if self._open is not None:
            events.append(BlockStop(self._open))
            self._open = self._open_kind = None

    def _end(self, events: list[StreamEvent]) -> None:
        self._done = True
        if not self._started:
            self._started = True
            events.append(MessageStart(id="", model=""))
        self._close(events)
        if not self._delta_sent:
            self._delta_sent = True
            stop = self._finish
            if stop is None:
                stop = StopReason.TOOL_USE if self._tools else StopReason.END_TURN
            events.append(MessageDelta(stop_reason=stop, usage=self._usage))
        events.append(MessageStop())


_CHUNK_TAIL = b',"logprobs":null,"finish_reason":null}]'


class OpenAIStreamEncoder:
    """Canonical events -> `chat.completion.chunk` SSE bytes.

    Every chunk carries the stream's id/created/model; the first delta has the role; each tool
    call gets its own OpenAI index and a first delta with id/type/name and `arguments: ""`; the
    finish reason is held until the end so the final chunk, the usage chunk (when
    `include_usage`) and `[DONE]` go out together. `model` overrides the upstream's name.
    """

    __slots__ = (
        "_created",
        "_done",
        "_include_usage",
        "_model",
        "_next_tool",
        "_prefix",
        "_stop",
        "_suffix",
        "_tools",
        "_usage",
    )

    def __init__(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> None:
        self._include_usage = include_usage
        self._created = created
        self._model = model
        self._prefix: bytes | None = None
        self._suffix = b',"usage":null}\n\n' if include_usage else b"}\n\n"
        self._tools: dict[int, int] = {}  # block index -> OpenAI tool-call index
        self._next_tool = 0
        self._stop: StopReason | None = None
        self._usage: CanonicalUsage | None = None
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, TextDelta):
            return self._chunk(b'{"content":' + json_encode(event.text) + b"}")
        if isinstance(event, ToolArgumentsDelta):
            tool = self._tools.get(event.index)
            if tool is None or not event.partial_json:
                return b""
            return self._chunk(
                b'{"tool_calls":[{"index":%d,"function":{"arguments":' % tool
                + json_encode(event.partial_json)
                + b"}}]}"
            )
        if isinstance(event, ThinkingDelta):
            return self._chunk(b'{"reasoning_content":' + json_encode(event.text) + b"}")
        if isinstance(event, BlockStart):
            return self._block_start(event)
        if isinstance(event, MessageStart):
            if self._prefix is not None:
                return b""  # a second message_start (e.g. after a failover) is not repeated
            self._start(event.id, event.model)
            if event.usage is not None:
                self._usage = event.usage
            return self._chunk(b'{"role":"assistant","content":""}')
        if isinstance(event, MessageDelta):
            self._stop = event.stop_reason
            if event.usage is not None:
                self._usage = event.usage
            return b""
        if isinstance(event, MessageStop):
            return self._finish()
        if isinstance(event, StreamError):
            self._done = True
            return (
                self._ensure_started()
                + frame(error_body(event.message, type=ERROR_TYPES[event.type], code=None))
                + DONE_FRAME
            )
        return b""  # SignatureDelta, BlockStop, Ping: nothing to show

    def _block_start(self, event: BlockStart) -> bytes:
        if event.kind is BlockKind.TOOL_USE:
            tool = self._tools[event.index] = self._next_tool
            self._next_tool += 1
            first = {
                "index": tool,
                "id": event.id or "",
                "type": "function",
                "function": {"name": event.name or "", "arguments": ""},
            }
            return self._chunk(b'{"tool_calls":[' + json_encode(first) + b"]}")
        if event.kind is BlockKind.OPAQUE:
            raise unsupported(f"{format_title(event.format or '')} block `{event.name}`")
        return self._ensure_started()

    def _start(self, id_: str, model: str) -> None:
        self._prefix = (
            b'data: {"id":'
            + json_encode(id_)
            + b',"object":"chat.completion.chunk","created":%d,"model":' % self._created
            + json_encode(self._model or model)
            + b',"choices":[{"index":0,"delta":'
        )

    def _ensure_started(self) -> bytes:
        if self._prefix is not None:
            return b""
        self._start("chatcmpl-gateway", self._model or "")
        return self._chunk(b'{"role":"assistant","content":""}')

    def _chunk(self, delta: bytes) -> bytes:
        opening = self._ensure_started() if self._prefix is None else b""
        assert self._prefix is not None
        return opening + self._prefix + delta + _CHUNK_TAIL + self._suffix

    def _finish(self) -> bytes:
        self._done = True
        head = self._ensure_started()
        assert self._prefix is not None
        stop = self._stop or (StopReason.TOOL_USE if self._tools else StopReason.END_TURN)
        reason = json_encode(STOP_TO_FINISH[stop])
        out = (
            head
            + self._prefix
            + b'{},"logprobs":null,"finish_reason":'
            + reason
            + b"}]"
            + self._suffix
        )
        if self._include_usage:
            usage = json_encode(usage_out(self._usage or CanonicalUsage()))
            out += self._prefix[: -len(b'[{"index":0,"delta":')] + b'[],"usage":' + usage + b"}\n\n"
        return out + DONE_FRAME
