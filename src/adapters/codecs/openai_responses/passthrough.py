"""Same-format helpers: the routing head (with the stateless rule), reading an answer's usage,
and watching a stream for it."""

from __future__ import annotations

import re

import msgspec

from aigateway.adapters.codecs.base import ABSENT, decode_client, present
from aigateway.adapters.codecs.openai_responses.wire import refuse_state
from aigateway.adapters.codecs.sse import LineSplitter
from aigateway.application.errors import invalid_request
from aigateway.application.ports.upstream import Usage
from aigateway.domain.errors import error_in_success


class _Head(msgspec.Struct):
    model: str
    input: str | list[msgspec.Raw]
    stream: bool | None = None
    store: bool | None = None
    background: bool | None = None
    previous_response_id: msgspec.Raw = ABSENT
    conversation: msgspec.Raw = ABSENT


_decode_head = msgspec.json.Decoder(_Head).decode


def decode_head(body: bytes) -> tuple[str, bool]:
    """(model, stream) of a client body; malformed or stateful -> 400. Only what routing and
    the stateless rule need is read: items, tools and unknown fields are the codec's or the
    upstream's to judge."""
    head = decode_client(_decode_head, body)
    if not head.model.strip():
        raise invalid_request("model is required", param="model")
    if not head.input:
        raise invalid_request("input must be a non-empty string or array of items", param="input")
    refuse_state(
        previous_response_id=present(head.previous_response_id),
        conversation=present(head.conversation),
        store=head.store,
        background=head.background,
    )
    return head.model, bool(head.stream)


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None


class _Answer(msgspec.Struct):
    error: msgspec.Raw = ABSENT
    status: str | None = None
    usage: _Usage | None = None


_decode_answer = msgspec.json.Decoder(_Answer).decode


def _port(usage: _Usage | None) -> Usage | None:
    return Usage(usage.input_tokens, usage.output_tokens) if usage else None


def read_answer(body: bytes) -> tuple[bool, Usage | None]:
    """One decode of a 2xx body: whether it is really an error object, and its usage."""
    try:
        found = _decode_answer(body)
    except (msgspec.MsgspecError, RecursionError):
        return error_in_success(body), None
    failed = present(found.error) and found.status in (None, "failed")
    return failed, _port(found.usage)


class _Final(msgspec.Struct):
    response: _Answer | None = None


_decode_final = msgspec.json.Decoder(_Final).decode
_FINAL = re.compile(rb'"type"\s*:\s*"response\.(completed|incomplete|failed)"')


class StreamUsageScanner:
    """Watches a Responses stream for its final event (usage is in its `response`), however the
    bytes are split (holding at most 1 MiB of an unfinished line)."""

    __slots__ = ("_lines", "usage")

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self.usage: Usage | None = None

    def feed(self, chunk: bytes) -> None:
        complete = self._lines.feed(chunk)
        if not complete or _FINAL.search(complete) is None:
            return
        for line in complete.split(b"\n"):
            if line.startswith(b"data:") and _FINAL.search(line):
                try:
                    final = _decode_final(line[5:].strip())
                except (msgspec.MsgspecError, RecursionError):
                    continue
                if final.response is not None and final.response.usage is not None:
                    self.usage = _port(final.response.usage)
