"""Responses SSE streams (typed events) <-> canonical stream events.

Every event is `event: <type>` with `data` holding `type` and `sequence_number`. The encoder
writes, per output item, `response.output_item.added`, its deltas and `.done` events, then
`response.output_item.done` with the whole item (a client such as Codex builds its history
from these alone), and ends with `response.completed` (or `response.incomplete`) carrying the
whole response; an error ends it with `response.failed`. There is no `[DONE]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aigateway.adapters.codecs.base import WireFormatError, json_decode, json_encode
from aigateway.adapters.codecs.openai_responses.errors import failed_error
from aigateway.adapters.codecs.openai_responses.request_in import CUSTOM_INPUT
from aigateway.adapters.codecs.openai_responses.responses import (
    EMPTY,
    call_item,
    message_item,
    reasoning_item,
    shell,
)
from aigateway.adapters.codecs.openai_responses.wire import (
    FAILED_TYPES,
    REDACTED_PREFIX,
    SUMMARY_SEPARATOR,
    new_id,
    response_id,
    status_of,
    stop_of,
    unsupported,
    usage_in,
    usage_out,
)
from aigateway.adapters.codecs.sse import ENDED_EARLY, SSEEvent, SSEStreamDecoder
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
    ThinkingPart,
    ToolArgumentsDelta,
    Usage,
)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


NO_ARGUMENTS = "{}"


class _Item:
    """The output item a canonical block is becoming."""

    __slots__ = ("call_id", "id", "kind", "name", "output_index", "signature", "text")

    def __init__(self, kind: BlockKind, output_index: int, item_id: str) -> None:
        self.kind = kind
        self.output_index = output_index
        self.id = item_id
        self.text: list[str] = []
        self.call_id = ""
        self.name = ""
        self.signature: str | None = None


class ResponsesStreamEncoder:
    __slots__ = ("_created", "_done", "_groups", "_id", "_items", "_model", "_open", "_output",
                 "_seq", "_stop", "_usage")  # fmt: skip

    def __init__(
        self, *, created: int = 0, model: str | None = None, groups: Mapping[str, str] = EMPTY
    ) -> None:
        self._groups = groups  # function name -> the namespace the client offered it in
        self._created = created
        self._model = model or ""
        self._id: str | None = None
        self._seq = 0
        self._open: dict[int, _Item] = {}  # block index -> item
        self._output: dict[int, dict[str, Any]] = {}  # output index -> finished item
        self._items = 0
        self._stop: StopReason | None = None
        self._usage: Usage | None = None
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def _event(self, kind: str, payload: dict[str, Any]) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **payload}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + json_encode(payload) + b"\n\n"

    def _response(self, status: str) -> dict[str, Any]:
        """The response object, with the items finished so far in output order."""
        assert self._id is not None
        output = [self._output[index] for index in sorted(self._output)]
        return shell(self._id, self._model, self._created, status, output)

    def _start(self, upstream_id: str = "", model: str = "") -> bytes:
        if self._id is not None:
            return b""
        self._id = response_id(upstream_id)
        self._model = self._model or model
        created = self._response("in_progress")
        return self._event("response.created", {"response": created}) + self._event(
            "response.in_progress", {"response": created}
        )

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, MessageStart):
            if event.usage is not None:
                self._usage = event.usage
            return self._start(event.id, event.model)
        head = self._start()
        if isinstance(event, BlockStart):
            return head + self._block_start(event)
        if isinstance(event, TextDelta | ThinkingDelta | ToolArgumentsDelta):
            return head + self._delta(event)
        if isinstance(event, SignatureDelta):
            item = self._open.get(event.index)
            if item is not None:
                item.signature = event.signature
            return head
        if isinstance(event, BlockStop):
            item = self._open.pop(event.index, None)
            return head + (self._finish_item(item) if item is not None else b"")
        if isinstance(event, MessageDelta):
            self._stop = event.stop_reason or self._stop
            self._usage = event.usage or self._usage
            return head
        if isinstance(event, MessageStop):
            return head + self._complete()
        if isinstance(event, StreamError):
            self._done = True
            failed = self._response("failed")
            failed["error"] = failed_error(event)
            return head + self._event("response.failed", {"response": failed})
        return head  # Ping

    def _block_start(self, event: BlockStart) -> bytes:
        kind = event.kind
        if kind is BlockKind.OPAQUE:
            raise unsupported(f"{event.format or 'another format'} block `{event.name}`")
        prefix = {BlockKind.TEXT: "msg", BlockKind.TOOL_USE: "fc"}.get(kind, "rs")
        item = _Item(kind, self._items, new_id(prefix))
        self._items += 1
        self._open[event.index] = item
        where = {"output_index": item.output_index}
        if kind is BlockKind.TEXT:
            added = message_item("", item.id, "in_progress")
            added["content"] = []
            part = {"type": "output_text", "text": "", "annotations": []}
            return self._event("response.output_item.added", {**where, "item": added}) + (
                self._event(
                    "response.content_part.added",
                    {"item_id": item.id, **where, "content_index": 0, "part": part},
                )
            )
        if kind is BlockKind.TOOL_USE:
            item.call_id, item.name = event.id or new_id("call"), event.name or ""
            group = self._groups.get(item.name)
            added = call_item(item.call_id, item.name, "", item.id, "in_progress", group)
            return self._event("response.output_item.added", {**where, "item": added})
        if kind is BlockKind.REDACTED_THINKING:
            item.signature = REDACTED_PREFIX + str(event.data or "")
        added = {"id": item.id, "type": "reasoning", "summary": []}
        return self._event("response.output_item.added", {**where, "item": added})

    def _delta(self, event: TextDelta | ThinkingDelta | ToolArgumentsDelta) -> bytes:
        item = self._open.get(event.index)
        text = event.partial_json if isinstance(event, ToolArgumentsDelta) else event.text
        if item is None or not text:
            return b""
        where = {"item_id": item.id, "output_index": item.output_index}
        first = not item.text
        item.text.append(text)
        if item.kind is BlockKind.TEXT:
            payload = {**where, "content_index": 0, "delta": text, "logprobs": []}
            return self._event("response.output_text.delta", payload)
        if item.kind is BlockKind.TOOL_USE:
            return self._event("response.function_call_arguments.delta", {**where, "delta": text})
        opening = b""
        if first:
            part = {"type": "summary_text", "text": ""}
            opening = self._event(
                "response.reasoning_summary_part.added", {**where, "summary_index": 0, "part": part}
            )
        payload = {**where, "summary_index": 0, "delta": text}
        return opening + self._event("response.reasoning_summary_text.delta", payload)

    def _finish_item(self, item: _Item) -> bytes:
        text = "".join(item.text)
        where = {"item_id": item.id, "output_index": item.output_index}
        out = b""
        if item.kind is BlockKind.TEXT:
            done = message_item(text, item.id)
            part = done["content"][0]
            payload = {**where, "content_index": 0, "text": text, "logprobs": []}
            out += self._event("response.output_text.done", payload)
            out += self._event(
                "response.content_part.done", {**where, "content_index": 0, "part": part}
            )
        elif item.kind is BlockKind.TOOL_USE:
            if not text:  # a call without arguments: clients parse them as JSON
                text = NO_ARGUMENTS
                delta = {**where, "delta": text}
                out += self._event("response.function_call_arguments.delta", delta)
            group = self._groups.get(item.name)
            done = call_item(item.call_id, item.name, text, item.id, namespace=group)
            payload = {**where, "name": item.name, "arguments": text}
            out += self._event("response.function_call_arguments.done", payload)
        else:
            if item.signature and item.signature.startswith(REDACTED_PREFIX):
                thinking = ThinkingPart(redacted_data=item.signature[len(REDACTED_PREFIX) :])
            else:
                thinking = ThinkingPart(text=text, signature=item.signature)
            done = reasoning_item(thinking, item.id)
            if text:
                part = {"type": "summary_text", "text": text}
                summary = {**where, "summary_index": 0}
                out += self._event(
                    "response.reasoning_summary_text.done", {**summary, "text": text}
                )
                out += self._event(
                    "response.reasoning_summary_part.done", {**summary, "part": part}
                )
        self._output[item.output_index] = done
        return out + self._event(
            "response.output_item.done", {"output_index": item.output_index, "item": done}
        )

    def _complete(self) -> bytes:
        self._done = True
        out = b"".join(self._finish_item(item) for item in self._open.values())
        self._open.clear()
        status, details = status_of(self._stop)
        final = self._response(status)
        final["incomplete_details"] = details
        final["usage"] = usage_out(self._usage or Usage())
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return out + self._event(kind, {"response": final})


class ResponsesStreamDecoder(SSEStreamDecoder):
    """Responses SSE bytes -> canonical events: one block per output item that has content."""

    __slots__ = ("_blocks", "_called", "_done", "_next", "_started", "_texted")

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._done = False
        self._blocks: dict[int, tuple[int, BlockKind]] = {}  # output index -> open block
        self._next = 0
        self._called = False
        self._texted: set[int] = set()  # output indexes whose text or arguments came as deltas

    @property
    def done(self) -> bool:
        return self._done

    def _open(
        self, output_index: int, kind: BlockKind, events: list[StreamEvent], **extra: Any
    ) -> int:
        found = self._blocks.get(output_index)
        if found is not None:
            return found[0]
        index = self._next
        self._next += 1
        self._blocks[output_index] = (index, kind)
        events.append(BlockStart(index=index, kind=kind, **extra))
        return index

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done or sse.is_done:
            return
        try:
            payload = json_decode(sse.data)
        except Exception as exc:
            raise WireFormatError(f"malformed Responses stream event: {exc}") from None
        if not isinstance(payload, dict):
            raise WireFormatError("Responses stream event is not an object")
        kind = payload.get("type") or sse.event
        response = _object(payload.get("response"))
        if not self._started and kind != "error":
            self._started = True
            events.append(
                MessageStart(
                    id=str(response.get("id") or ""), model=str(response.get("model") or "")
                )
            )
        output_index = payload.get("output_index")
        position = output_index if isinstance(output_index, int) else -1
        delta = payload.get("delta")
        if kind == "response.output_text.delta" or kind == "response.refusal.delta":
            index = self._open(position, BlockKind.TEXT, events)
            self._texted.add(position)
            events.append(TextDelta(index, str(delta or "")))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            index = self._open(position, BlockKind.THINKING, events)
            events.append(ThinkingDelta(index, str(delta or "")))
        elif kind == "response.reasoning_summary_part.added":
            found = self._blocks.get(position)
            if found is not None and payload.get("summary_index"):
                events.append(ThinkingDelta(found[0], SUMMARY_SEPARATOR))
        elif kind == "response.output_item.added":
            item = _object(payload.get("item"))
            if item.get("type") in ("function_call", "custom_tool_call"):
                self._called = True
                call_id = str(item.get("call_id") or item.get("id") or "")
                self._open(
                    position,
                    BlockKind.TOOL_USE,
                    events,
                    id=call_id,
                    name=str(item.get("name") or ""),
                )
        elif kind == "response.function_call_arguments.delta":
            found = self._blocks.get(position)
            if found is not None and delta:
                self._texted.add(position)
                events.append(ToolArgumentsDelta(found[0], str(delta)))
        elif kind == "response.output_item.done":
            item = _object(payload.get("item"))
            self._item_done(position, item, events)
        elif kind in ("response.completed", "response.incomplete"):
            self._finish(response, events)
        elif kind == "response.failed" or kind == "error":
            self._fail(_object(response.get("error")) if response else payload, events)

    def _item_done(self, position: int, item: dict[str, Any], events: list[StreamEvent]) -> None:
        kind = item.get("type")
        if kind == "message" and position not in self._texted:
            text = "".join(
                str(p.get("text") or p.get("refusal") or "")
                for p in item.get("content") or ()
                if isinstance(p, dict)
            )
            if text:
                events.append(TextDelta(self._open(position, BlockKind.TEXT, events), text))
        elif kind == "function_call" and position not in self._texted:
            found = self._blocks.get(position)
            arguments = str(item.get("arguments") or "")
            if found is not None and arguments:
                events.append(ToolArgumentsDelta(found[0], arguments))
        elif kind == "custom_tool_call":
            found = self._blocks.get(position)
            if found is not None:
                arguments = json_encode({CUSTOM_INPUT: str(item.get("input") or "")}).decode()
                events.append(ToolArgumentsDelta(found[0], arguments))
        elif kind == "reasoning":
            encrypted = item.get("encrypted_content")
            if isinstance(encrypted, str) and encrypted:
                if encrypted.startswith(REDACTED_PREFIX) and position not in self._blocks:
                    data = encrypted[len(REDACTED_PREFIX) :]
                    self._open(position, BlockKind.REDACTED_THINKING, events, data=data)
                else:
                    index = self._open(position, BlockKind.THINKING, events)
                    events.append(SignatureDelta(index, encrypted))
        found = self._blocks.pop(position, None)
        if found is not None:
            events.append(BlockStop(found[0]))

    def _close_all(self, events: list[StreamEvent]) -> None:
        for index, _ in self._blocks.values():
            events.append(BlockStop(index))
        self._blocks.clear()

    def _finish(self, response: dict[str, Any], events: list[StreamEvent]) -> None:
        self._done = True
        self._close_all(events)
        stop = stop_of(response.get("status"), response.get("incomplete_details"), self._called)
        events.append(MessageDelta(stop_reason=stop, usage=usage_in(response.get("usage"))))
        events.append(MessageStop())

    def _fail(self, error: dict[str, Any], events: list[StreamEvent]) -> None:
        self._done = True
        code = str(error.get("code") or "")
        message = str(error.get("message") or "upstream stream failed")
        events.append(StreamError(FAILED_TYPES.get(code, ErrorType.API_ERROR), message))

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if not self._done:
            self._done = True
            events.append(StreamError(ErrorType.API_ERROR, ENDED_EARLY))
