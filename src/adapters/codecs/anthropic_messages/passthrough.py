"""Same-format passthrough helpers: request head validation, usage scanning."""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.anthropic_messages.wire import (
    WireMessage,
    WireMetadata,
    WireThinking,
    WireToolChoice,
    WireUsage,
    usage_in,
    usage_merge,
)
from aigateway.adapters.codecs.base import validation_error
from aigateway.application.errors import invalid_request
from aigateway.application.ports.upstream import Usage as PortUsage
from aigateway.domain.llm import Usage


class MessagesRequestHead(msgspec.Struct):
    """What the passthrough path validates in an Anthropic body; the rest is forwarded as is."""

    model: str
    messages: list[WireMessage]
    max_tokens: int
    stream: bool | None = None
    system: str | list[dict[str, Any]] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: WireToolChoice | None = None
    thinking: WireThinking | None = None
    metadata: WireMetadata | None = None


_decode_head = msgspec.json.Decoder(MessagesRequestHead).decode


def decode_request_head(body: bytes) -> MessagesRequestHead:
    """Validate a client body cheaply (one typed decode); malformed JSON, wrong types, missing
    model/messages/max_tokens -> 400 naming the field. Content blocks are not inspected."""
    if not body:
        raise invalid_request("request body is empty; expected a JSON object")
    try:
        head = _decode_head(body)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from None
    if not head.model.strip():
        raise invalid_request("model is required", param="model")
    if not head.messages:
        raise invalid_request("messages must contain at least one message", param="messages")
    if head.max_tokens < 1:
        raise invalid_request("max_tokens must be at least 1", param="max_tokens")
    return head


class _WithUsage(msgspec.Struct):
    usage: WireUsage | None = None


class _StreamUsageEvent(msgspec.Struct):
    message: _WithUsage | None = None
    usage: WireUsage | None = None


_decode_with_usage = msgspec.json.Decoder(_WithUsage).decode
_decode_usage_event = msgspec.json.Decoder(_StreamUsageEvent).decode


def usage_from_body(body: bytes) -> PortUsage | None:
    """Token usage of an Anthropic message body (prompt = input + cache read + cache write)."""
    try:
        found = _decode_with_usage(body).usage
    except msgspec.MsgspecError:
        return None
    if found is None:
        return None
    usage = usage_in(found)
    return PortUsage(usage.prompt_tokens, usage.output_tokens)


_MAX_TAIL = 1 << 20


class StreamUsageScanner:
    """Watches an Anthropic SSE byte stream for usage (message_start, then message_delta),
    however the bytes are split; only lines mentioning `"usage"` are decoded."""

    __slots__ = ("_merged", "_tail", "usage")

    def __init__(self) -> None:
        self._tail = b""
        self._merged: Usage | None = None
        self.usage: PortUsage | None = None

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._tail = data if len(data) <= _MAX_TAIL else b""
            return
        complete, self._tail = data[: end + 1], data[end + 1 :]
        if b'"usage"' not in complete:
            return
        for line in complete.split(b"\n"):
            if line.startswith(b"data:") and b'"usage"' in line:
                self._line(line[5:].strip())

    def _line(self, payload: bytes) -> None:
        try:
            event = _decode_usage_event(payload)
        except msgspec.MsgspecError:
            return
        if event.message is not None and event.message.usage is not None:
            self._merged = usage_in(event.message.usage)
        elif event.usage is not None:
            self._merged = usage_merge(self._merged or Usage(), event.usage)
        else:
            return
        self.usage = PortUsage(self._merged.prompt_tokens, self._merged.output_tokens)
