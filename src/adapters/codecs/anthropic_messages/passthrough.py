"""Same-format passthrough helpers: request head validation, usage scanning."""

from __future__ import annotations

import msgspec

from aigateway.adapters.codecs.anthropic_messages.wire import (
    WireUsage,
    usage_in,
    usage_merge,
)
from aigateway.adapters.codecs.base import ABSENT, RoutingHead, decode_routing_head, present
from aigateway.adapters.codecs.sse import LineSplitter
from aigateway.application.errors import invalid_request
from aigateway.application.ports.upstream import Usage as PortUsage
from aigateway.domain.errors import error_in_success
from aigateway.domain.llm import Usage


class _MessagesHead(RoutingHead, kw_only=True):
    max_tokens: int  # required by every Messages server: refused here, before an attempt


_decode_head = msgspec.json.Decoder(_MessagesHead).decode


def decode_head(body: bytes) -> tuple[str, bool]:
    """(model, stream) of a client body; malformed -> 400 in the client's format. Only what
    routing needs is validated (`decode_routing_head`), plus the required `max_tokens`: content
    blocks, parameters and unknown fields are forwarded for the upstream to judge."""
    head = decode_routing_head(_decode_head, body)
    if head.max_tokens < 1:
        raise invalid_request("max_tokens must be at least 1", param="max_tokens")
    return head.model, bool(head.stream)


class _WithUsage(msgspec.Struct):
    usage: WireUsage | None = None


class _StreamUsageEvent(msgspec.Struct):
    message: _WithUsage | None = None
    usage: WireUsage | None = None


_decode_usage_event = msgspec.json.Decoder(_StreamUsageEvent).decode


class _Answer(msgspec.Struct):
    error: msgspec.Raw = ABSENT
    content: msgspec.Raw = ABSENT
    usage: WireUsage | None = None


_decode_answer = msgspec.json.Decoder(_Answer).decode


def read_answer(body: bytes) -> tuple[bool, PortUsage | None]:
    """One decode of a 2xx body: whether it is really an error object, and its usage."""
    try:
        found = _decode_answer(body)
    except (msgspec.MsgspecError, RecursionError):
        return error_in_success(body), None
    is_error = present(found.error) and not present(found.content)
    if found.usage is None:
        return is_error, None
    usage = usage_in(found.usage)
    return is_error, PortUsage(usage.prompt_tokens, usage.output_tokens)


class StreamUsageScanner:
    """Watches an Anthropic SSE byte stream for usage (message_start, then message_delta),
    however the bytes are split; only lines mentioning `"usage"` are decoded (at most 1 MiB of
    an unfinished line is held)."""

    __slots__ = ("_lines", "_merged", "usage")

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._merged: Usage | None = None
        self.usage: PortUsage | None = None

    def feed(self, chunk: bytes) -> None:
        complete = self._lines.feed(chunk)
        if b'"usage"' not in complete:
            return
        for line in complete.split(b"\n"):
            if line.startswith(b"data:") and b'"usage"' in line:
                self._line(line[5:].strip())

    def _line(self, payload: bytes) -> None:
        try:
            event = _decode_usage_event(payload)
        except (msgspec.MsgspecError, RecursionError):
            return
        if event.message is not None and event.message.usage is not None:
            self._merged = usage_in(event.message.usage)
        elif event.usage is not None:
            self._merged = usage_merge(self._merged or Usage(), event.usage)
        else:
            return
        self.usage = PortUsage(self._merged.prompt_tokens, self._merged.output_tokens)
