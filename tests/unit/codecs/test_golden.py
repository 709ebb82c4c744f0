"""Golden translations of realistic payloads (tests/fixtures/wire), in both directions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.domain.llm import StopReason, ThinkingPart, ToolCallPart
from tests.unit.codecs.wire import (
    ANTHROPIC,
    OPENAI,
    assert_valid_anthropic_stream,
    assert_valid_openai_stream,
    decode_stream,
    fixture,
    fixture_json,
    request_view,
    response_view,
    split,
    sse_frames,
)

CREATED = 1754500000

REQUESTS = [
    (
        "openai_request_tools_images.json",
        OPENAI,
        ANTHROPIC,
        "anthropic_request_from_openai_tools_images.json",
    ),
    (
        "anthropic_request_thinking_cache.json",
        ANTHROPIC,
        OPENAI,
        "openai_request_from_anthropic_thinking_cache.json",
    ),
]
RESPONSES = [
    (
        "openai_response_tool_calls.json",
        OPENAI,
        ANTHROPIC,
        "anthropic_response_from_openai_tool_calls.json",
    ),
    (
        "openai_response_reasoning_length.json",
        OPENAI,
        ANTHROPIC,
        "anthropic_response_from_openai_reasoning_length.json",
    ),
    (
        "anthropic_response_thinking_tools.json",
        ANTHROPIC,
        OPENAI,
        "openai_response_from_anthropic_thinking_tools.json",
    ),
    (
        "anthropic_response_stop_sequence.json",
        ANTHROPIC,
        OPENAI,
        "openai_response_from_anthropic_stop_sequence.json",
    ),
]


@pytest.mark.parametrize(("source", "client", "upstream", "expected"), REQUESTS)
def test_request_translates_to_the_golden_body(
    source: str, client: WireCodec, upstream: WireCodec, expected: str
) -> None:
    translated = upstream.encode_request(client.decode_request(fixture(source)))
    assert json.loads(translated) == fixture_json(expected)


@pytest.mark.parametrize(("source", "client", "upstream", "expected"), REQUESTS)
def test_request_translated_back_keeps_the_portable_content(
    source: str, client: WireCodec, upstream: WireCodec, expected: str
) -> None:
    original = client.decode_request(fixture(source))
    back = client.decode_request(client.encode_request(upstream.decode_request(fixture(expected))))
    view, back_view = request_view(original), request_view(back)
    for key in ("system", "tools", "max_tokens", "temperature", "top_p", "stop", "stream", "user"):
        assert back_view[key] == view[key], key
    # what crosses both ways unchanged: every text, image, tool call and tool result, in order
    flat = [p for _, parts in view["messages"] for p in parts if p[0] != "thinking"]
    back_flat = [p for _, parts in back_view["messages"] for p in parts if p[0] != "thinking"]
    if (
        client is ANTHROPIC
    ):  # a tool result's images come back as user content (OpenAI tools are text)
        flat = _hoist_result_images(flat)
        back_flat = [p for p in back_flat if not (p[0] == "text" and p[1].startswith("[images"))]
    assert back_flat == flat


def unsigned(view: dict[str, Any]) -> dict[str, Any]:
    """A response view without thinking signatures: OpenAI has nowhere to carry them."""
    content = [("thinking", p[1], None, p[3]) if p[0] == "thinking" else p for p in view["content"]]
    return {**view, "content": content}


def _hoist_result_images(parts: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for part in parts:
        if part[0] == "result":
            content = part[2]
            assert isinstance(content, tuple)
            texts = tuple(p for p in content if p[0] == "text")
            out.append(("result", part[1], texts, False))  # OpenAI tool messages: no error flag
            out.extend(p for p in content if p[0] == "image")
        else:
            out.append(part)
    return out


@pytest.mark.parametrize(("source", "upstream", "client", "expected"), RESPONSES)
def test_response_translates_to_the_golden_body(
    source: str, upstream: WireCodec, client: WireCodec, expected: str
) -> None:
    translated = client.encode_response(upstream.decode_response(fixture(source)), created=CREATED)
    assert json.loads(translated) == fixture_json(expected)


@pytest.mark.parametrize(("source", "upstream", "client", "expected"), RESPONSES)
def test_response_translated_back_keeps_the_portable_content(
    source: str, upstream: WireCodec, client: WireCodec, expected: str
) -> None:
    original = upstream.decode_response(fixture(source))
    back = upstream.decode_response(
        upstream.encode_response(client.decode_response(fixture(expected)), created=CREATED)
    )
    view, back_view = response_view(original), response_view(back)
    if original.stop_reason is StopReason.STOP_SEQUENCE:  # OpenAI has no stop_sequence reason
        view["stop_reason"] = StopReason.END_TURN
    if client is OPENAI:
        view = unsigned(view)
    assert back_view == view


STREAMS = [
    (
        "openai_stream_reasoning_tools.sse",
        OPENAI,
        ANTHROPIC,
        "anthropic_stream_from_openai_reasoning_tools.sse",
    ),
    (
        "anthropic_stream_thinking_tools.sse",
        ANTHROPIC,
        OPENAI,
        "openai_stream_from_anthropic_thinking_tools.sse",
    ),
]


@pytest.mark.parametrize(("source", "upstream", "client", "expected"), STREAMS)
@pytest.mark.parametrize("piece", [0, 1, 7, 64])
def test_stream_translates_to_the_golden_events(
    source: str, upstream: WireCodec, client: WireCodec, expected: str, piece: int
) -> None:
    data = fixture(source)
    chunks = [data] if piece == 0 else [data[i : i + piece] for i in range(0, len(data), piece)]
    translator = StreamTranslator(
        upstream.stream_decoder(), client.stream_encoder(include_usage=True, created=CREATED)
    )
    out = b"".join(translator.feed(chunk) for chunk in chunks) + translator.finish()
    assert sse_frames(out) == sse_frames(fixture(expected))
    if client is ANTHROPIC:
        assert_valid_anthropic_stream(out)
    else:
        assert_valid_openai_stream(out, include_usage=True)


def test_golden_streams_are_valid_in_their_own_format() -> None:
    assert_valid_openai_stream(fixture("openai_stream_reasoning_tools.sse"), include_usage=True)
    assert_valid_anthropic_stream(fixture("anthropic_stream_thinking_tools.sse"))


@pytest.mark.parametrize(("source", "upstream", "client", "expected"), STREAMS)
def test_stream_translated_back_accumulates_to_the_same_answer(
    source: str, upstream: WireCodec, client: WireCodec, expected: str
) -> None:
    original = decode_stream(upstream.stream_decoder(), [fixture(source)])
    translated = decode_stream(client.stream_decoder(), split(fixture(expected), [5, 99, 400]))
    view, translated_view = response_view(original), response_view(translated)
    if client is OPENAI:
        view = unsigned(view)
    assert translated_view == view
    assert [type(p) for p in translated.content] == [type(p) for p in original.content]


def test_stream_golden_content_is_what_the_upstream_said() -> None:
    answer = decode_stream(OPENAI.stream_decoder(), [fixture("openai_stream_reasoning_tools.sse")])
    thinking, _text, first, second = answer.content
    assert thinking == ThinkingPart(text="The user wants the weather in two cities.")
    assert isinstance(first, ToolCallPart) and first.arguments == {"location": "Paris"}
    assert isinstance(second, ToolCallPart) and second.id == "call_1_9b8f07aa"
    assert answer.stop_reason is StopReason.TOOL_USE
    assert (answer.usage.input_tokens, answer.usage.cache_read_tokens) == (56, 64)
    assert answer.usage.reasoning_tokens == 12
    claude = decode_stream(
        ANTHROPIC.stream_decoder(), [fixture("anthropic_stream_thinking_tools.sse")]
    )
    signed = claude.content[0]
    assert isinstance(signed, ThinkingPart) and signed.signature
    assert claude.usage.output_tokens == 89 and claude.usage.input_tokens == 472
