"""Hostile input at every codec entry point: a 400 for clients, a WireFormatError (-> 502) for
upstreams, never an exception the gateway would answer with a 500; bounded memory on streams."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from collections.abc import Callable, Iterable

import pytest

from aigateway.adapters.codecs import anthropic_messages, openai_chat, openai_responses
from aigateway.adapters.codecs.base import WireCodec, WireFormatError
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.codecs.sse import MAX_EVENT_BYTES, MAX_LINE_BYTES, SSEParser
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.application.errors import GatewayError
from aigateway.application.ports.upstream import Usage
from aigateway.domain.llm import (
    ChatRequest,
    Message,
    TextPart,
    ToolCallPart,
    parse_tool_arguments,
)
from aigateway.entrypoints.ioc.providers import CODECS as PRODUCTION_CODECS

DEEP = b"[" * 5000 + b"]" * 5000
CODECS: list[WireCodec] = [*PRODUCTION_CODECS, GeminiCodec()]
IDS = [str(codec.format) for codec in CODECS]

CLIENT_BODIES = {
    "openai_chat": b'{"model":"m","messages":[{"role":"user","content":"x"}],"x":%s}',
    "anthropic_messages": (
        b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"x":%s}'
    ),
    "gemini": b'{"contents":[{"role":"user","parts":[{"text":"x"}]}],"x":%s}',
    "openai_responses": b'{"model":"m","input":"x","x":%s}',
}
UPSTREAM_BODIES = {
    "openai_chat": b'{"choices":[{"message":{"content":"x"}}],"x":%s}',
    "anthropic_messages": b'{"id":"m","content":[{"type":"text","text":"x"}],"x":%s}',
    "gemini": b'{"candidates":[{"content":{"parts":[{"text":"x"}]}}],"x":%s}',
    "openai_responses": b'{"id":"resp_1","output":[],"x":%s}',
}
STREAM_EVENTS = {
    "openai_chat": b'data: {"id":"c","choices":[],"x":%s}\n\n',
    "anthropic_messages": b'event: ping\ndata: {"type":"ping","x":%s}\n\n',
    "gemini": b'data: {"candidates":[],"x":%s}\n\n',
    "openai_responses": b'event: response.created\ndata: {"type":"response.created","x":%s}\n\n',
}


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_deeply_nested_client_body_is_a_400(codec: WireCodec) -> None:
    with pytest.raises(GatewayError) as caught:
        codec.decode_request(CLIENT_BODIES[codec.format] % DEEP)
    assert caught.value.status == 400
    assert "nested too deeply" in caught.value.message


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_request_too_deep_to_encode_is_a_400(codec: WireCodec) -> None:
    deep: object = []
    for _ in range(5000):
        deep = [deep]
    request = ChatRequest(
        model="m",
        messages=(Message("user", (TextPart("x"),)),),
        extras={codec.format: {"x": deep}},
    )
    with pytest.raises(GatewayError) as caught:
        codec.encode_request(request)
    assert caught.value.status == 400


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_deeply_nested_upstream_answer_is_a_wire_format_error(codec: WireCodec) -> None:
    with pytest.raises(WireFormatError):
        codec.decode_response(UPSTREAM_BODIES[codec.format] % DEEP)


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_deeply_nested_upstream_error_keeps_its_text(codec: WireCodec) -> None:
    body = b'{"error":{"message":"bad"},"x":%s}' % DEEP
    error = codec.decode_error(500, body)
    assert error.status == 500 and error.message.startswith('{"error"')


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_deeply_nested_stream_event_is_a_wire_format_error(codec: WireCodec) -> None:
    with pytest.raises(WireFormatError):
        codec.stream_decoder().feed(STREAM_EVENTS[codec.format] % DEEP)


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_translated_stream_with_a_deep_event_ends_in_an_error_event(codec: WireCodec) -> None:
    client = openai_chat.OpenAIChatCodec()
    translator = StreamTranslator(codec.stream_decoder(), client.stream_encoder())
    out = translator.feed(STREAM_EVENTS[codec.format] % DEEP)
    assert translator.done and translator.error is not None
    assert b'"error"' in out and out.endswith(b"data: [DONE]\n\n")


def test_deeply_nested_tool_arguments_are_kept_as_the_raw_string() -> None:
    raw = '{"a":' + "[" * 5000 + "]" * 5000 + "}"
    assert parse_tool_arguments(raw) == ({}, raw)
    body = (
        b'{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function",'
        b'"function":{"name":"f","arguments":%s}}]}]}' % json.dumps(raw).encode()
    )
    request = openai_chat.OpenAIChatCodec().decode_request(body)
    (call,) = request.messages[0].content
    assert isinstance(call, ToolCallPart) and call.raw_arguments == raw


@pytest.mark.parametrize(
    "read_answer",
    [openai_chat.read_answer, anthropic_messages.read_answer, openai_responses.read_answer],
)
def test_usage_of_a_deeply_nested_passthrough_body_is_unknown(
    read_answer: Callable[[bytes], tuple[bool, Usage | None]],
) -> None:
    assert read_answer(b'{"usage":{"input_tokens":1},"x":%s}' % DEEP) == (False, None)


@pytest.mark.parametrize(
    "scanner_type", [openai_chat.StreamUsageScanner, anthropic_messages.StreamUsageScanner]
)
def test_usage_scanners_survive_deep_lines(scanner_type: type) -> None:
    scanner = scanner_type()
    scanner.feed(b'data: {"type":"message_delta","usage":{"output_tokens":1},"x":%s}\n\n' % DEEP)
    assert scanner.usage is None


# --- bounded SSE -------------------------------------------------------------------------------

CHUNK = b"x" * (64 << 10)
HUNDRED_MB = 100 << 20


def feed_until_error(feed: Callable[[bytes], object], chunks: Iterable[bytes]) -> tuple[str, int]:
    """Feed chunks until `feed` raises WireFormatError: (its message, bytes fed before)."""
    fed = 0
    for chunk in chunks:
        try:
            feed(chunk)
        except WireFormatError as exc:
            return str(exc), fed
        fed += len(chunk)
        assert fed <= MAX_LINE_BYTES + len(CHUNK), "the decoder kept buffering past the cap"
    raise AssertionError("no WireFormatError")


@pytest.mark.parametrize("codec", CODECS, ids=IDS)
def test_a_stream_without_newlines_errors_at_the_line_cap_with_bounded_memory(
    codec: WireCodec,
) -> None:
    decoder = codec.stream_decoder()
    hundred_mb = itertools.chain([b"data: "], itertools.repeat(CHUNK, HUNDRED_MB // len(CHUNK)))
    tracemalloc.start()
    try:
        message, fed = feed_until_error(decoder.feed, hundred_mb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "line longer than" in message and fed >= MAX_LINE_BYTES - len(CHUNK)
    assert peak < 3 * MAX_LINE_BYTES


def test_an_event_of_many_lines_errors_at_the_event_cap() -> None:
    line = b"data: " + b"y" * (1 << 20) + b"\n"
    message, fed = feed_until_error(SSEParser().feed, itertools.repeat(line, 16))
    assert "event longer than" in message and fed >= MAX_EVENT_BYTES - len(line)


def test_lines_under_the_cap_still_parse() -> None:
    parser = SSEParser()
    data = b"y" * (MAX_LINE_BYTES - 16)
    events = parser.feed(b"data: " + data[: 1 << 20]) + parser.feed(data[1 << 20 :] + b"\n\n")
    assert [event.data for event in events] == [data]


@pytest.mark.parametrize(
    "scanner_type", [openai_chat.StreamUsageScanner, anthropic_messages.StreamUsageScanner]
)
def test_usage_scanners_hold_bounded_memory_and_still_find_usage(scanner_type: type) -> None:
    scanner = scanner_type()
    tracemalloc.start()
    try:
        scanner.feed(b"data: ")
        for _ in range(HUNDRED_MB // len(CHUNK)):
            scanner.feed(CHUNK)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    scanner.feed(
        b'\n\ndata: {"type":"message_delta","choices":[],'
        b'"usage":{"prompt_tokens":3,"completion_tokens":4,"output_tokens":4}}\n\n'
    )
    assert scanner.usage is not None and scanner.usage.completion_tokens == 4
