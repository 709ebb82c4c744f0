"""Stream translation edge cases: early ends, upstream errors, missing ids, odd chunking."""

from __future__ import annotations

import json
from typing import Any

from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    ErrorType,
    MessageDelta,
    MessageStart,
    MessageStop,
    StopReason,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallPart,
    Usage,
)
from tests.unit.codecs.wire import (
    ANTHROPIC,
    OPENAI,
    assert_valid_anthropic_stream,
    assert_valid_openai_stream,
    decode_stream,
    encode_stream,
    sse_frames,
)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    body.update(extra)
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def usage_chunk(prompt: int, completion: int) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def to_anthropic(*parts: bytes) -> bytes:
    translator = StreamTranslator(OPENAI.stream_decoder(), ANTHROPIC.stream_encoder())
    return b"".join(translator.feed(part) for part in parts) + translator.finish()


def to_openai(*parts: bytes, include_usage: bool = True) -> bytes:
    translator = StreamTranslator(
        ANTHROPIC.stream_decoder(), OPENAI.stream_encoder(include_usage=include_usage, created=9)
    )
    return b"".join(translator.feed(part) for part in parts) + translator.finish()


def anthropic_event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


START = anthropic_event(
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "usage": {"input_tokens": 10, "output_tokens": 1},
        },
    }
)


def test_a_tool_call_first_still_gets_message_start_first() -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}
    out = to_anthropic(
        chunk({"role": "assistant", "tool_calls": [call]}),
        chunk(finish="tool_calls"),
        b"data: [DONE]\n\n",
    )
    frames = assert_valid_anthropic_stream(out)
    assert [name for name, _ in frames][:2] == ["message_start", "content_block_start"]
    assert frames[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_usage_in_the_finish_chunk_and_no_done_marker() -> None:
    finish = chunk(finish="stop", usage={"prompt_tokens": 5, "completion_tokens": 2})
    out = to_anthropic(chunk({"role": "assistant", "content": "hi"}), finish)
    frames = assert_valid_anthropic_stream(out)
    assert frames[-2][1]["usage"] == {"input_tokens": 5, "output_tokens": 2}


def test_stream_without_usage_still_ends_properly() -> None:
    out = to_anthropic(chunk({"content": "hi"}), chunk(finish="length"), b"data: [DONE]\n\n")
    frames = assert_valid_anthropic_stream(out)
    assert frames[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert frames[-2][1]["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_an_upstream_cut_before_the_finish_becomes_an_error_event() -> None:
    out = to_anthropic(chunk({"content": "hel"}), b'data: {"id":"chatcmpl-1","choi')
    frames = assert_valid_anthropic_stream(out)
    assert frames[-1][0] == "error"
    assert frames[-1][1]["error"]["type"] == "api_error"


def test_an_openai_error_chunk_mid_stream() -> None:
    error = b'data: {"error":{"message":"quota exceeded","type":"rate_limit_error"}}\n\n'
    frames = assert_valid_anthropic_stream(to_anthropic(chunk({"content": "a"}), error))
    assert frames[-1][1]["error"] == {"type": "rate_limit_error", "message": "quota exceeded"}


def test_malformed_upstream_json_becomes_an_error_event() -> None:
    frames = assert_valid_anthropic_stream(
        to_anthropic(chunk({"content": "a"}), b"data: {oops\n\n")
    )
    assert frames[-1][0] == "error" and "malformed" in frames[-1][1]["error"]["message"]


def test_missing_tool_call_ids_are_synthesised_and_reasoning_field_is_read() -> None:
    answer = decode_stream(
        OPENAI.stream_decoder(),
        [
            chunk({"reasoning": "hmm"}),
            chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": '{"a"'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
            chunk({"tool_calls": [{"index": 1, "function": {"name": "g"}}]}),
            chunk(finish="stop"),  # some servers say stop after tool calls
            b"data: [DONE]\n\n",
        ],
    )
    _thinking, first, second = answer.content
    assert isinstance(first, ToolCallPart) and isinstance(second, ToolCallPart)
    assert (first.id, first.arguments) == ("call_chatcmpl-1_0", {"a": 1})
    assert (second.id, second.arguments) == ("call_chatcmpl-1_1", {})
    assert answer.stop_reason is StopReason.TOOL_USE


def test_several_tool_calls_in_one_chunk() -> None:
    calls = [
        {"index": 0, "id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"index": 1, "id": "b", "type": "function", "function": {"name": "g", "arguments": "[]"}},
    ]
    out = to_anthropic(
        chunk({"tool_calls": calls}), chunk(finish="tool_calls"), b"data: [DONE]\n\n"
    )
    assert_valid_anthropic_stream(out)
    answer = decode_stream(ANTHROPIC.stream_decoder(), [out])
    assert [(p.id, p.arguments) for p in answer.content if isinstance(p, ToolCallPart)] == [
        ("a", {}),
        ("b", []),
    ]


def test_anthropic_error_event_becomes_an_openai_error_chunk() -> None:
    error = anthropic_event(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    out = to_openai(START, error)
    chunks = assert_valid_openai_stream(out, include_usage=True)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    last = sse_frames(out)[-2][1]
    assert last["error"]["type"] == "server_error" and last["error"]["message"] == "Overloaded"


def test_an_anthropic_stream_cut_short_ends_with_an_error() -> None:
    text = anthropic_event(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    )
    out = to_openai(START, text)
    assert_valid_openai_stream(out, include_usage=True)
    assert "error" in sse_frames(out)[-2][1]


def test_anthropic_usage_merges_start_and_delta() -> None:
    delta = anthropic_event(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 30, "cache_read_input_tokens": 100},
        }
    )
    out = to_openai(START, delta, anthropic_event({"type": "message_stop"}))
    chunks = assert_valid_openai_stream(out, include_usage=True)
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 110,
        "completion_tokens": 30,
        "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


def test_openai_encoder_without_usage_and_with_model_override() -> None:
    encoder = OPENAI.stream_encoder(created=7, model="my-alias")
    out = encode_stream(
        encoder,
        [
            MessageStart(id="msg_1", model="claude"),
            BlockStart(index=0, kind=BlockKind.TEXT),
            TextDelta(0, "hi"),
            MessageDelta(stop_reason=StopReason.END_TURN, usage=Usage(input_tokens=1)),
            MessageStop(),
        ],
    )
    chunks = assert_valid_openai_stream(out, include_usage=False)
    assert {c["model"] for c in chunks} == {"my-alias"}
    assert all("usage" not in c for c in chunks)


def test_anthropic_encoder_keeps_order_whatever_it_is_given() -> None:
    encoder = ANTHROPIC.stream_encoder(model="alias")
    out = encode_stream(
        encoder,
        [
            TextDelta(3, "no block start"),  # opens message and block itself
            MessageStart(id="late", model="x"),  # ignored: message already started
            BlockStart(index=5, kind=BlockKind.TOOL_USE, id="functions.f:0", name="f"),
            ToolArgumentsDelta(5, "{}"),
            MessageStart(id="again", model="x"),
            MessageStop(),  # closes the block and sends message_delta first
        ],
    )
    frames = assert_valid_anthropic_stream(out)
    assert frames[0][1]["message"]["model"] == "alias"
    assert [p["index"] for n, p in frames if n == "content_block_start"] == [0, 1]
    tool = [p for n, p in frames if n == "content_block_start"][1]["content_block"]
    assert tool["id"] == "functions_f_0"
    assert frames[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert encoder.done and encoder.encode(TextDelta(0, "late")) == b""


def test_translator_fail_ends_the_client_stream_once() -> None:
    translator = StreamTranslator(ANTHROPIC.stream_decoder(), OPENAI.stream_encoder())
    translator.feed(START)
    out = translator.fail("upstream connection reset", ErrorType.API_ERROR)
    assert sse_frames(out)[-1] == ("", "[DONE]")
    assert translator.fail("again") == b"" and translator.finish() == b""
    assert translator.usage == Usage(input_tokens=10, output_tokens=1)
