"""Anthropic same-format helpers: cheap validation, usage from bodies and streams."""

from __future__ import annotations

import pytest

from aigateway.adapters.codecs.anthropic_messages import (
    StreamUsageScanner,
    decode_head,
    read_answer,
)
from aigateway.application.errors import GatewayError
from tests.unit.codecs.wire import fixture


def test_head_of_a_valid_body() -> None:
    head = decode_head(fixture("anthropic_request_thinking_cache.json"))
    assert head == ("claude-sonnet-4-5", True)


def test_head_does_not_judge_what_routing_does_not_read() -> None:
    """Roles, blocks and parameters are the upstream's to judge on the passthrough path."""
    body = (
        b'{"model":"m","max_tokens":5,"temperature":"warm",'
        b'"messages":[{"role":"tool","content":[{"type":"new_block"}]}]}'
    )
    assert decode_head(body) == ("m", False)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"", None),
        (b"{", None),
        (b'{"model":"m","max_tokens":5}', "messages"),
        (b'{"messages":[{"role":"user","content":"x"}],"max_tokens":5}', "model"),
        (b'{"model":" ","max_tokens":5,"messages":[{"role":"user","content":"x"}]}', "model"),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}]}', "max_tokens"),
        (b'{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}', "max_tokens"),
        (b'{"model":"m","max_tokens":5,"messages":[]}', "messages"),
        (
            b'{"model":"m","max_tokens":5,"stream":1,"messages":[{"role":"user","content":"x"}]}',
            "stream",
        ),
    ],
)
def test_head_validation(body: bytes, param: str | None) -> None:
    with pytest.raises(GatewayError) as caught:
        decode_head(body)
    assert caught.value.status == 400 and caught.value.param == param


def test_read_answer_gives_the_usage() -> None:
    is_error, usage = read_answer(fixture("anthropic_response_thinking_tools.json"))
    assert not is_error
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (472 + 1024 + 2048, 156)
    assert read_answer(b"{}") == (False, None) and read_answer(b"nope") == (False, None)
    assert read_answer(b'{"type":"error","error":{"type":"overloaded_error"}}') == (True, None)


def test_stream_usage_is_found_however_the_bytes_are_split() -> None:
    data = fixture("anthropic_stream_thinking_tools.sse")
    for cut in range(0, len(data), 7):
        scanner = StreamUsageScanner()
        scanner.feed(data[:cut])
        scanner.feed(data[cut:])
        assert scanner.usage is not None
        assert (scanner.usage.prompt_tokens, scanner.usage.completion_tokens) == (472 + 2048, 89)
