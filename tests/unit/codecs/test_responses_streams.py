"""The OpenAI Responses codec, answers: the typed event stream written for a client (order,
completeness, failures), the upstream streams and answers read back, and signed thinking from
another upstream carried through a client's replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.adapters.codecs import anthropic_messages, gemini, openai_chat, openai_responses
from aigateway.adapters.codecs.openai_responses import StreamUsageScanner, read_answer
from aigateway.adapters.codecs.sse import ENDED_EARLY
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.application.ports.upstream import Usage as PortUsage
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    BlockStop,
    ChatResponse,
    ErrorType,
    MessageDelta,
    MessageStart,
    MessageStop,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolArgumentsDelta,
    ToolCallPart,
    Usage,
)
from aigateway.entrypoints.ioc.providers import CODECS
from tests.fakes.responses_wire import response_object, sse, stream_events, usage_object
from tests.unit.codecs.accumulator import StreamAccumulator
from tests.unit.codecs.responses_checks import (
    assert_valid_responses_stream,
    done_items,
)
from tests.unit.codecs.wire import encode_stream, fixture, split

PRODUCTION = {codec.format: codec for codec in CODECS}
RESPONSES = PRODUCTION[openai_responses.FORMAT]
ANTHROPIC = PRODUCTION[anthropic_messages.FORMAT]
GEMINI = PRODUCTION[gemini.FORMAT]
OPENAI = PRODUCTION[openai_chat.FORMAT]
PATCH = "*** Begin Patch\n*** Delete File: old.txt\n*** End Patch"


def encode(events: list[StreamEvent]) -> list[dict[str, Any]]:
    data = encode_stream(RESPONSES.stream_encoder(created=5, model="client-model"), events)
    return assert_valid_responses_stream(data)


def answer(*blocks: list[StreamEvent], stop: StopReason = StopReason.END_TURN) -> list[StreamEvent]:
    usage = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=2, reasoning_tokens=3)
    events: list[StreamEvent] = [MessageStart(id="msg_up", model="upstream-model")]
    for block in blocks:
        events += block
    return [*events, MessageDelta(stop_reason=stop, usage=usage), MessageStop()]


def thinking(index: int, *texts: str, signature: str | None = None) -> list[StreamEvent]:
    events: list[StreamEvent] = [BlockStart(index=index, kind=BlockKind.THINKING)]
    events += [ThinkingDelta(index, text) for text in texts]
    if signature is not None:
        events.append(SignatureDelta(index, signature))
    return [*events, BlockStop(index)]


def text(index: int, *texts: str) -> list[StreamEvent]:
    return [
        BlockStart(index=index, kind=BlockKind.TEXT),
        *(TextDelta(index, piece) for piece in texts),
        BlockStop(index),
    ]


def tool(index: int, call_id: str, name: str, *fragments: str) -> list[StreamEvent]:
    return [
        BlockStart(index=index, kind=BlockKind.TOOL_USE, id=call_id, name=name),
        *(ToolArgumentsDelta(index, piece) for piece in fragments),
        BlockStop(index),
    ]


# --- the stream a Responses client receives ---------------------------------------------------


def test_every_item_is_added_then_done_whole_and_the_response_completes() -> None:
    events = encode(
        answer(
            thinking(0, "Let me ", "think.", signature="sig-anthropic-1"),
            text(1, "Hello ", "there."),
            tool(2, "toolu_1", "get_weather", '{"city":', '"Paris"}'),
            stop=StopReason.TOOL_USE,
        )
    )
    reasoning, message, call = done_items(events)
    assert reasoning["type"] == "reasoning"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert reasoning["encrypted_content"] == "sig-anthropic-1"
    assert message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [
        {"type": "output_text", "text": "Hello there.", "annotations": []}
    ]
    assert (call["call_id"], call["name"], call["arguments"]) == (
        "toolu_1",
        "get_weather",
        '{"city":"Paris"}',
    )
    final = events[-1]
    assert final["type"] == "response.completed"
    response = final["response"]
    assert response["model"] == "client-model" and response["created_at"] == 5
    assert response["usage"] == {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 2},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 17,
    }
    kinds = [e["type"] for e in events]
    text_events = kinds[kinds.index("response.content_part.added") :]
    assert text_events[:5] == [
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
    ]
    assert kinds.count("response.reasoning_summary_part.added") == 1


def test_sequence_numbers_count_every_event_from_zero() -> None:
    events = encode(answer(text(0, "a", "b"), tool(1, "c1", "f", "{}")))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_the_final_output_is_in_item_order_when_blocks_end_out_of_order() -> None:
    interleaved: list[StreamEvent] = [
        BlockStart(index=0, kind=BlockKind.TEXT),
        BlockStart(index=1, kind=BlockKind.TOOL_USE, id="call_a", name="f"),
        TextDelta(0, "calling"),
        ToolArgumentsDelta(1, '{"a":1}'),
        BlockStop(1),
        BlockStop(0),
    ]
    events = encode(answer(interleaved, stop=StopReason.TOOL_USE))
    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["message", "function_call"]


def test_blocks_left_open_are_done_before_the_response_completes() -> None:
    unclosed: list[StreamEvent] = [
        BlockStart(index=0, kind=BlockKind.TEXT),
        TextDelta(0, "cut short"),
    ]
    events = encode(answer(unclosed))
    assert [item["type"] for item in done_items(events)] == ["message"]


def test_a_call_streamed_without_arguments_has_an_empty_object_for_them() -> None:
    """Anthropic streams a call of a tool without parameters with no argument text; a client
    parses `arguments` as JSON."""
    translator = StreamTranslator(ANTHROPIC.stream_decoder(), RESPONSES.stream_encoder())
    upstream_events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
         "model": "claude", "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "list_files", "input": {}}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
         "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]  # fmt: skip
    data = b"".join(
        translator.feed(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode())
        for e in upstream_events
    )
    (call,) = done_items(assert_valid_responses_stream(data + translator.finish()))
    assert json.loads(call["arguments"]) == {}


def test_redacted_thinking_is_a_reasoning_item_with_its_data_encrypted() -> None:
    redacted: list[StreamEvent] = [
        BlockStart(index=0, kind=BlockKind.REDACTED_THINKING, data="opaque-bytes"),
        BlockStop(0),
    ]
    (item,) = done_items(encode(answer(redacted)))
    assert item["summary"] == []
    assert item["encrypted_content"] == openai_responses.wire.REDACTED_PREFIX + "opaque-bytes"


@pytest.mark.parametrize(
    ("stop", "reason"),
    [(StopReason.MAX_TOKENS, "max_output_tokens"), (StopReason.CONTENT_FILTER, "content_filter")],
)
def test_a_cut_answer_ends_incomplete_with_the_reason(stop: StopReason, reason: str) -> None:
    events = encode(answer(text(0, "partial"), stop=stop))
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": reason}
    assert [p["type"] for p in done_items(events)[0]["content"]] == ["output_text"]


FAILURES = [
    (ErrorType.RATE_LIMIT, "rate_limit_exceeded"),
    (ErrorType.OVERLOADED, "server_is_overloaded"),
    (ErrorType.INVALID_REQUEST, "invalid_prompt"),
    (ErrorType.REQUEST_TOO_LARGE, "context_length_exceeded"),
    (ErrorType.API_ERROR, "server_error"),
]


@pytest.mark.parametrize(("kind", "code"), FAILURES, ids=[f[1] for f in FAILURES])
def test_a_stream_error_ends_the_stream_with_response_failed(kind: ErrorType, code: str) -> None:
    encoder = RESPONSES.stream_encoder()
    data = encode_stream(encoder, [MessageStart(id="m", model="x"), *text(0, "so far")])
    data += encoder.encode(StreamError(kind, "the upstream gave up"))
    assert encoder.done
    assert encoder.encode(MessageStop()) == b""
    events = assert_valid_responses_stream(data)
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"] == {"code": code, "message": "the upstream gave up"}
    assert [item["type"] for item in failed["response"]["output"]] == ["message"]


def test_an_error_before_any_answer_is_a_whole_failed_stream() -> None:
    data = RESPONSES.encode_stream_error(StreamError(ErrorType.RATE_LIMIT, "slow down"))
    events = assert_valid_responses_stream(data)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    assert events[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


# --- upstream streams and answers read back ---------------------------------------------------

REASONING = {
    "id": "rs_1",
    "type": "reasoning",
    "summary": [
        {"type": "summary_text", "text": "**Weather** first."},
        {"type": "summary_text", "text": "Then the answer."},
    ],
    "encrypted_content": "gAAAA-openai-encrypted",
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Checking the weather now.", "annotations": []}],
}
CALL = {
    "id": "fc_1",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_abc",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
}
CUSTOM_CALL = {
    "id": "ctc_1",
    "type": "custom_tool_call",
    "status": "completed",
    "call_id": "call_patch",
    "name": "apply_patch",
    "input": PATCH,
}
WEB_SEARCH = {
    "id": "ws_1",
    "type": "web_search_call",
    "status": "completed",
    "action": {"type": "search", "query": "weather"},
}


def upstream(*output: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return response_object(
        "resp_up1", "gpt-5", list(output), usage_object(40, 25, 7), created=9, **extra
    )


def read_stream(data: bytes, cuts: list[int] | None = None) -> StreamAccumulator:
    decoder = RESPONSES.stream_decoder()
    acc = StreamAccumulator()
    chunks = split(data, cuts) if cuts is not None else [data[i : i + 1] for i in range(len(data))]
    for chunk in chunks:
        acc.feed_all(decoder.feed(chunk))
    acc.feed_all(decoder.finish())
    return acc


def test_an_upstream_stream_reads_as_the_answer_it_streams() -> None:
    response = upstream(REASONING, MESSAGE, CALL)
    acc = read_stream(sse(stream_events(response)))
    assert acc.error is None
    got = acc.response()
    assert got.id == "resp_up1" and got.model == "gpt-5"
    assert got.content == (
        ThinkingPart(
            text="**Weather** first.\n\nThen the answer.", signature="gAAAA-openai-encrypted"
        ),
        TextPart("Checking the weather now."),
        ToolCallPart(id="call_abc", name="get_weather", arguments={"city": "Paris"}),
    )
    assert got.stop_reason is StopReason.TOOL_USE
    assert got.usage == Usage(input_tokens=40, output_tokens=25, reasoning_tokens=7)


def test_an_upstream_stream_and_its_whole_answer_read_the_same() -> None:
    response = upstream(REASONING, MESSAGE, CALL, CUSTOM_CALL)
    whole = RESPONSES.decode_response(json.dumps(response).encode())
    streamed = read_stream(sse(stream_events(response)), cuts=[7, 300, 301, 2000])
    assert streamed.response().content == whole.content
    assert streamed.response().stop_reason == whole.stop_reason
    assert streamed.response().usage == whole.usage


def test_a_custom_tool_call_upstream_is_a_call_with_its_input() -> None:
    acc = read_stream(sse(stream_events(upstream(CUSTOM_CALL))), cuts=[])
    (call,) = acc.response().content
    assert call == ToolCallPart(id="call_patch", name="apply_patch", arguments={"input": PATCH})


def test_hosted_items_in_an_upstream_answer_are_left_out() -> None:
    response = upstream(WEB_SEARCH, MESSAGE)
    streamed = read_stream(sse(stream_events(response)), cuts=[])
    whole = RESPONSES.decode_response(json.dumps(response).encode())
    for got in (streamed.response(), whole):
        assert got.content == (TextPart("Checking the weather now."),)
    chat = json.loads(OPENAI.encode_response(whole))
    assert chat["choices"][0]["message"]["content"] == "Checking the weather now."
    ANTHROPIC.encode_response(whole)


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("max_output_tokens", StopReason.MAX_TOKENS), ("content_filter", StopReason.CONTENT_FILTER)],
)
def test_an_incomplete_upstream_answer_says_why(reason: str, stop: StopReason) -> None:
    response = upstream(MESSAGE, status="incomplete", incomplete={"reason": reason})
    acc = read_stream(sse(stream_events(response)), cuts=[])
    assert acc.error is None and acc.response().stop_reason is stop
    assert RESPONSES.decode_response(json.dumps(response).encode()).stop_reason is stop


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("rate_limit_exceeded", ErrorType.RATE_LIMIT),
        ("server_is_overloaded", ErrorType.OVERLOADED),
        ("context_length_exceeded", ErrorType.REQUEST_TOO_LARGE),
        ("server_error", ErrorType.API_ERROR),
    ],
)
def test_a_failed_upstream_stream_is_a_stream_error(code: str, kind: ErrorType) -> None:
    error = {"code": code, "message": "upstream trouble"}
    response = upstream(MESSAGE, status="failed", error=error)
    acc = read_stream(sse(stream_events(response)), cuts=[])
    assert acc.error == StreamError(kind, "upstream trouble")


def test_a_bare_error_event_is_a_stream_error() -> None:
    events = stream_events(upstream(MESSAGE))[:3]
    events.append({"type": "error", "code": "server_is_overloaded", "message": "busy"})
    acc = read_stream(sse(events), cuts=[])
    assert acc.error == StreamError(ErrorType.OVERLOADED, "busy")


def test_an_upstream_stream_that_ends_early_is_an_error() -> None:
    events = stream_events(upstream(MESSAGE, CALL))[:-1]
    acc = read_stream(sse(events), cuts=[])
    assert acc.error is not None
    assert acc.error.type is ErrorType.API_ERROR and acc.error.message == ENDED_EARLY


def test_usage_is_read_from_a_passed_through_stream_however_it_is_cut() -> None:
    data = sse(stream_events(upstream(REASONING, MESSAGE)))
    for cut in range(0, len(data), 97):
        scanner = StreamUsageScanner()
        for chunk in split(data, [cut, cut + 1]):
            scanner.feed(chunk)
        assert scanner.usage == PortUsage(40, 25)


def test_usage_is_read_from_a_passed_through_answer() -> None:
    assert read_answer(json.dumps(upstream(MESSAGE)).encode()) == (False, PortUsage(40, 25))
    failed = upstream(status="failed", error={"code": "server_error", "message": "x"})
    assert read_answer(json.dumps(failed).encode())[0] is True


def test_a_whole_answer_is_a_response_object() -> None:
    response = ChatResponse(
        id="msg_up",
        model="claude-sonnet-4-5",
        content=(
            ThinkingPart(text="Plan.", signature="sig-1"),
            TextPart("Sure: "),
            TextPart("done."),
            ToolCallPart(id="toolu_9", name="f", arguments={"x": 1}),
        ),
        stop_reason=StopReason.TOOL_USE,
        usage=Usage(input_tokens=3, output_tokens=4),
    )
    body = json.loads(RESPONSES.encode_response(response, created=77))
    assert body["object"] == "response" and body["status"] == "completed"
    assert body["id"].startswith("resp_") and body["created_at"] == 77
    reasoning, message, call = body["output"]
    assert reasoning["encrypted_content"] == "sig-1"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Plan."}]
    assert message["content"][0]["text"] == "Sure: done."
    assert (call["call_id"], json.loads(call["arguments"])) == ("toolu_9", {"x": 1})
    assert body["usage"]["total_tokens"] == 7
    again = RESPONSES.decode_response(json.dumps(body).encode())
    assert again.content == (
        ThinkingPart(text="Plan.", signature="sig-1"),
        TextPart("Sure: done."),
        ToolCallPart(id="toolu_9", name="f", arguments={"x": 1}),
    )


def test_an_openai_chat_stream_translated_is_a_valid_responses_stream() -> None:
    translator = StreamTranslator(OPENAI.stream_decoder(), RESPONSES.stream_encoder())
    data = translator.feed(fixture("openai_stream_reasoning_tools.sse")) + translator.finish()
    events = assert_valid_responses_stream(data)
    assert events[-1]["type"] == "response.completed"
    kinds = [item["type"] for item in done_items(events)]
    assert "function_call" in kinds and "message" in kinds
