"""The upstream's answer as the client must see it, whole or streamed.

- Tool names go back to the client's (`ToolNames.to_client`).
- A call without an upstream id gets the codec's `call_<n>`, which repeats across answers: it
  is made unique (`call_<n>_<token>`), because the client sends it back and the signature store
  is keyed by it.
- The signature Gemini puts on a function call (a signature-only thinking block just before
  the tool block) is noted under the call's id in `pending`; the exchange writes it to the
  store before the client sees the call.
- Claude's calls lose the placeholder arguments its strict schemas added
  (`drop_placeholders`).
- The reply text is collected up to `NOTICE_CHARS`, to recognise an upgrade notice.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from aigateway.adapters.codecs.base import StreamDecoder, json_encode
from aigateway.adapters.upstream.cloud_code.tools import ToolNames, drop_placeholders
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    ChatResponse,
    Part,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolArgumentsDelta,
    ToolCallPart,
    parse_tool_arguments,
)

NOTICE_CHARS = 1024


class AnswerView:
    """What one request's answers need to know; shared by its attempts."""

    __slots__ = ("claude", "names", "pending", "schemas")

    def __init__(self, names: ToolNames, schemas: dict[str, Any], *, claude: bool) -> None:
        self.names = names
        self.schemas = schemas
        self.claude = claude
        self.pending: dict[str, str] = {}  # call id -> signature, not yet in the store

    def response(self, response: ChatResponse) -> tuple[ChatResponse, str]:
        """The answer for the client, and the start of its reply text."""
        token = _token()
        parts: list[Part] = []
        text: list[str] = []
        for part in response.content:
            if isinstance(part, ToolCallPart):
                name = self.names.to_client(part.name)
                call_id = _unique(part.id, token)
                previous = parts[-1] if parts else None
                if isinstance(previous, ThinkingPart) and previous.signature and not previous.text:
                    self.pending[call_id] = previous.signature
                arguments = part.arguments
                if self.claude and name in self.schemas:
                    arguments = drop_placeholders(arguments, self.schemas[name])
                part = msgspec.structs.replace(part, id=call_id, name=name, arguments=arguments)
            elif isinstance(part, TextPart):
                text.append(part.text)
            parts.append(part)
        answer = msgspec.structs.replace(response, content=tuple(parts))
        return answer, "".join(text)[:NOTICE_CHARS]

    def stream_decoder(self, inner: StreamDecoder) -> ViewedStream:
        return ViewedStream(inner, self)


class ViewedStream:
    """A Gemini stream decoder whose events are seen through an `AnswerView`."""

    __slots__ = ("_blocks", "_inner", "_signature", "_thought", "_token", "_view", "text")

    def __init__(self, inner: StreamDecoder, view: AnswerView) -> None:
        self._inner = inner
        self._view = view
        self._token = _token()
        self._blocks: dict[int, str] = {}  # open tool blocks: index -> client name
        self._signature: str | None = None  # of the latest thinking block, when it had no text
        self._thought = False  # the open thinking block had text
        self.text = ""  # the reply text so far, up to NOTICE_CHARS

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._see(self._inner.feed(chunk))

    def finish(self) -> list[StreamEvent]:
        return self._see(self._inner.finish())

    def _see(self, events: list[StreamEvent]) -> list[StreamEvent]:
        view = self._view
        out: list[StreamEvent] = []
        for event in events:
            if isinstance(event, BlockStart):
                if event.kind is BlockKind.TOOL_USE:
                    name = view.names.to_client(event.name or "")
                    call_id = _unique(event.id or "", self._token)
                    if self._signature is not None:
                        view.pending[call_id] = self._signature
                    self._blocks[event.index] = name
                    event = msgspec.structs.replace(event, id=call_id, name=name)
                self._signature = None
                self._thought = False
            elif isinstance(event, SignatureDelta):
                self._signature = None if self._thought else event.signature
            elif isinstance(event, ThinkingDelta):
                self._thought = True
            elif isinstance(event, TextDelta):
                if len(self.text) < NOTICE_CHARS:
                    self.text = (self.text + event.text)[:NOTICE_CHARS]
            elif isinstance(event, ToolArgumentsDelta) and view.claude:
                called = self._blocks.get(event.index)
                if called is not None and called in view.schemas:
                    arguments, raw = parse_tool_arguments(event.partial_json)
                    if raw is None:
                        kept = drop_placeholders(arguments, view.schemas[called])
                        event = ToolArgumentsDelta(event.index, json_encode(kept).decode())
            out.append(event)
        return out


def _token() -> str:
    return secrets.token_hex(6)


def _unique(call_id: str, token: str) -> str:
    """The codec's `call_<n>` (no id upstream) made unique; an upstream id kept."""
    if not call_id:
        return f"call_{token}"
    if call_id.startswith("call_") and call_id[5:].isdigit():
        return f"{call_id}_{token}"
    return call_id
