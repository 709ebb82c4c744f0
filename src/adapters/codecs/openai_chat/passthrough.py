"""Same-format passthrough helpers: request head validation, model rewrite, usage scanning."""

from __future__ import annotations

import re

import msgspec

from aigateway.adapters.codecs.base import ABSENT, RoutingHead, decode_routing_head, present
from aigateway.adapters.codecs.sse import LineSplitter
from aigateway.application.ports.upstream import Usage
from aigateway.domain.errors import error_in_success

_decode_head = msgspec.json.Decoder(RoutingHead).decode


def decode_head(body: bytes) -> tuple[str, bool]:
    """(model, stream) of a client body; malformed -> 400 in the client's format. Only what
    routing needs is validated (`decode_routing_head`): messages, content parts (e.g. vLLM's
    `video_url`), parameters and unknown fields are forwarded for the upstream to judge."""
    head = decode_routing_head(_decode_head, body)
    return head.model, bool(head.stream)


class _UsageBody(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _WithUsage(msgspec.Struct):
    usage: _UsageBody | None = None


_decode_usage = msgspec.json.Decoder(_WithUsage).decode


def usage_from_body(body: bytes) -> Usage | None:
    try:
        found = _decode_usage(body).usage
    except (msgspec.MsgspecError, RecursionError):
        return None
    return Usage(found.prompt_tokens, found.completion_tokens) if found else None


class _Answer(msgspec.Struct):
    error: msgspec.Raw = ABSENT
    choices: msgspec.Raw = ABSENT
    usage: _UsageBody | None = None


_decode_answer = msgspec.json.Decoder(_Answer).decode


def read_answer(body: bytes) -> tuple[bool, Usage | None]:
    """One decode of a 2xx body: whether it is really an error object, and its usage."""
    try:
        found = _decode_answer(body)
    except (msgspec.MsgspecError, RecursionError):
        return error_in_success(body), None
    usage = found.usage
    return (
        present(found.error) and not present(found.choices),
        Usage(usage.prompt_tokens, usage.completion_tokens) if usage else None,
    )


_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')


class StreamUsageScanner:
    """Watches an SSE byte stream for a chunk carrying `usage`, however the bytes are split
    (holding at most 1 MiB of an unfinished line)."""

    __slots__ = ("_lines", "usage")

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self.usage: Usage | None = None

    def feed(self, chunk: bytes) -> None:
        complete = self._lines.feed(chunk)
        if not complete or _USAGE_OBJECT.search(complete) is None:
            return
        for line in complete.split(b"\n"):
            if line.startswith(b"data:") and _USAGE_OBJECT.search(line):
                usage = usage_from_body(line[5:].strip())
                if usage is not None:
                    self.usage = usage
