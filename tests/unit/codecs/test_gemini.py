"""The Gemini generateContent codec: golden payloads (tests/fixtures/wire/gemini_*), request
rules, schema cleaning, responses, streams (both directions, translated) and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.adapters.codecs.base import WireCodec, WireFormatError
from aigateway.adapters.codecs.gemini import (
    FORMAT,
    LEADING_USER_TEXT,
    GeminiCodec,
    clean_schema,
    finish_reason,
)
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import (
    ApiError,
    BlockKind,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    ErrorType,
    ImagePart,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    OpaquePart,
    SignatureDelta,
    StopReason,
    StreamError,
    TextDelta,
    TextPart,
    Thinking,
    ThinkingDelta,
    ThinkingPart,
    Tool,
    ToolArgumentsDelta,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    UnsupportedContent,
    Usage,
)
from tests.unit.codecs.wire import (
    ANTHROPIC,
    OPENAI,
    assert_valid_anthropic_stream,
    assert_valid_openai_stream,
    decode_stream,
    encode_stream,
    fixture,
    fixture_json,
    request_view,
    response_view,
    split,
    sse_frames,
)

GEMINI = GeminiCodec()
CODEC: WireCodec = GEMINI
CREATED = 1754500000


def _without_ids(value: Any) -> Any:
    """A Gemini document without functionCall/functionResponse ids (synthesised on decode)."""
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("functionCall", "functionResponse") and isinstance(item, dict):
                item = {k: v for k, v in item.items() if k != "id"}
            out[key] = _without_ids(item)
        return out
    return value


def _request(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=messages, **fields)


def _body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(GEMINI.encode_request(request))
    return body


# --- golden requests ----------------------------------------------------------------------------


def test_request_decodes_tools_images_thinking_and_results() -> None:
    request = GEMINI.decode_request(
        fixture("gemini_request_tools_images_thinking.json"), model="gemini-3-pro"
    )
    assert request.model == "gemini-3-pro"
    assert request.system == (TextPart("You are a concise travel assistant."),)
    user, model, results = request.messages
    assert user.content[1:] == (
        ImagePart(media_type="image/png", data=user.content[1].data),  # type: ignore[union-attr]
        ImagePart(media_type="image/jpeg", url="https://example.com/chart.jpg"),
    )
    assert model.role == "assistant"
    assert model.content == (
        ThinkingPart(
            text="The photo shows the Eiffel Tower, so Paris.", signature="c2lnLXRob3VnaHQ="
        ),
        ThinkingPart(signature="c2lnLWNhbGw="),  # the call's signature, just before it
        ToolCallPart(
            id="call_0", name="get_weather", arguments={"city": "Paris", "unit": "celsius"}
        ),
        ToolCallPart(id="call_1", name="get_time", arguments={"city": "Paris"}),
    )
    assert results.content == (
        ToolResultPart(tool_call_id="call_0", content=(TextPart("18 C, light rain"),)),
        ToolResultPart(
            tool_call_id="call_1", content=(TextPart("time service unavailable"),), is_error=True
        ),
    )
    assert [t.name for t in request.tools if isinstance(t, Tool)] == ["get_weather", "get_time"]
    assert request.tool_choice == ToolChoice("auto")
    assert request.thinking == Thinking(budget_tokens=4096)
    assert (request.max_tokens, request.temperature, request.top_p, request.top_k) == (
        8192,
        0.7,
        0.95,
        40,
    )
    assert request.stop == ("END",)


def test_request_encodes_back_to_the_golden_body() -> None:
    source = fixture("gemini_request_tools_images_thinking.json")
    again = json.loads(GEMINI.encode_request(GEMINI.decode_request(source)))
    # the same body, with the synthesised ids now written out
    assert _without_ids(again) == _without_ids(json.loads(source))
    calls = again["contents"][1]["parts"]
    answers = again["contents"][2]["parts"]
    assert [p["functionCall"]["id"] for p in calls[1:]] == ["call_0", "call_1"]
    assert [p["functionResponse"]["id"] for p in answers] == ["call_0", "call_1"]


TRANSLATIONS = [
    (
        "gemini_request_tools_images_thinking.json",
        GEMINI,
        ANTHROPIC,
        "gemini_request_tools_images_thinking.anthropic.json",
    ),
    (
        "openai_request_tools_images.json",
        OPENAI,
        GEMINI,
        "gemini_request_from_openai_tools_images.json",
    ),
    (
        "anthropic_request_thinking_cache.json",
        ANTHROPIC,
        GEMINI,
        "gemini_request_from_anthropic_thinking_cache.json",
    ),
]


@pytest.mark.parametrize(("source", "client", "upstream", "expected"), TRANSLATIONS)
def test_request_translates_to_the_golden_body(
    source: str, client: Any, upstream: Any, expected: str
) -> None:
    request = client.decode_request(fixture(source))
    if client is GEMINI:
        request = GEMINI.decode_request(fixture(source), model="gemini-3-pro")
    assert json.loads(upstream.encode_request(request)) == fixture_json(expected)


def test_openai_request_through_gemini_keeps_the_conversation() -> None:
    first = OPENAI.decode_request(fixture("openai_request_tools_images.json"))
    back = GEMINI.decode_request(GEMINI.encode_request(first))
    expected = request_view(first)
    merged: list[tuple[str, list[Any]]] = []
    for role, parts in expected["messages"]:  # Gemini merges consecutive same-role turns
        if merged and merged[-1][0] == role:
            merged[-1][1].extend(parts)
        else:
            merged.append((role, list(parts)))
    tools = [  # schemas reach Gemini cleaned to what it accepts
        (kind, name, description, clean_schema(schema))
        for kind, name, description, schema in expected["tools"]
    ]
    # the method chooses streaming, and Gemini has no end-user field
    assert request_view(back) == {
        **expected,
        "messages": merged,
        "tools": tools,
        "stream": False,
        "user": None,
    }


# --- request rules ------------------------------------------------------------------------------


def test_first_turn_is_user_and_same_role_turns_merge() -> None:
    request = _request(
        Message("assistant", (TextPart("hello"),)),
        Message("user", (TextPart("a"),)),
        Message("user", (TextPart("b"),)),
    )
    assert _body(request)["contents"] == [
        {"role": "user", "parts": [{"text": LEADING_USER_TEXT}]},
        {"role": "model", "parts": [{"text": "hello"}]},
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
    ]


def test_empty_turns_and_empty_texts_next_to_content_are_dropped() -> None:
    request = _request(
        Message("user", (TextPart(""), TextPart("x"))),
        Message("assistant", ()),
        Message("assistant", (ThinkingPart(redacted_data="opaque"),)),
    )
    assert _body(request)["contents"] == [{"role": "user", "parts": [{"text": "x"}]}]


def test_function_response_name_comes_from_the_call() -> None:
    request = _request(
        Message("user", (TextPart("go"),)),
        Message("assistant", (ToolCallPart(id="toolu_1", name="lookup", arguments={"q": 1}),)),
        Message("user", (ToolResultPart(tool_call_id="toolu_1", content=(TextPart("42"),)),)),
    )
    answer = _body(request)["contents"][2]["parts"][0]
    assert answer == {
        "functionResponse": {"id": "toolu_1", "name": "lookup", "response": {"result": "42"}}
    }


def test_missing_ids_are_synthesised_and_responses_matched_by_name() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "a", "args": {}}},
                    {"functionCall": {"name": "b"}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "b", "response": {"result": "B"}}},
                    {"functionResponse": {"name": "a", "response": {"x": 1}}},
                ],
            },
            {"role": "model", "parts": [{"functionCall": {"name": "a", "args": {"n": 2}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {}}}]},
        ]
    }
    request = GEMINI.decode_request(json.dumps(body).encode())
    calls = [p for m in request.messages for p in m.content if isinstance(p, ToolCallPart)]
    results = [p for m in request.messages for p in m.content if isinstance(p, ToolResultPart)]
    assert [c.id for c in calls] == ["call_0", "call_1", "call_2"]
    assert calls[1].arguments == {}
    assert [(r.tool_call_id, r.content) for r in results] == [
        ("call_1", (TextPart("B"),)),
        ("call_0", (TextPart('{"x":1}'),)),
        ("call_2", ()),
    ]
    # stable: the same body gives the same ids
    assert GEMINI.decode_request(json.dumps(body).encode()) == request


def test_signature_only_thinking_rides_on_the_next_part() -> None:
    request = _request(
        Message("user", (TextPart("go"),)),
        Message(
            "assistant",
            (
                ThinkingPart(signature="S1"),
                ToolCallPart(id="c", name="f"),
                ThinkingPart(signature="S2"),
            ),
        ),
    )
    assert _body(request)["contents"][1]["parts"] == [
        {"functionCall": {"id": "c", "name": "f", "args": {}}, "thoughtSignature": "S1"},
        {"text": "", "thought": True, "thoughtSignature": "S2"},
    ]


def test_images_in_tool_results_follow_the_function_response() -> None:
    image = ImagePart(media_type="image/png", data="AAAA")
    request = _request(
        Message("user", (ToolResultPart(tool_call_id="c", content=(TextPart("ok"), image)),)),
    )
    assert _body(request)["contents"][0]["parts"] == [
        {"functionResponse": {"id": "c", "name": "c", "response": {"result": "ok"}}},
        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
    ]


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (ToolChoice("auto"), {"mode": "AUTO"}),
        (ToolChoice("none"), {"mode": "NONE"}),
        (ToolChoice("required"), {"mode": "ANY"}),
        (ToolChoice("tool", "f"), {"mode": "ANY", "allowedFunctionNames": ["f"]}),
    ],
)
def test_tool_choice_both_ways(choice: ToolChoice, config: dict[str, Any]) -> None:
    request = _request(
        Message("user", (TextPart("x"),)), tools=(Tool(name="f"),), tool_choice=choice
    )
    body = _body(request)
    assert body["toolConfig"] == {"functionCallingConfig": config}
    assert GEMINI.decode_request(json.dumps(body).encode()).tool_choice == choice


def test_validated_mode_decodes_as_auto() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}},
    }
    assert GEMINI.decode_request(json.dumps(body).encode()).tool_choice == ToolChoice("auto")


@pytest.mark.parametrize(
    ("thinking", "config"),
    [
        (Thinking(budget_tokens=2048), {"includeThoughts": True, "thinkingBudget": 2048}),
        (Thinking(enabled=False), {"includeThoughts": False, "thinkingBudget": 0}),
        (Thinking(), {"includeThoughts": True, "thinkingBudget": -1}),
        (Thinking(effort="medium"), {"includeThoughts": True, "thinkingBudget": 8192}),
    ],
)
def test_thinking_config(thinking: Thinking, config: dict[str, Any]) -> None:
    body = _body(_request(Message("user", (TextPart("x"),)), thinking=thinking))
    assert body["generationConfig"]["thinkingConfig"] == config


def test_thinking_level_decodes_as_effort() -> None:
    body = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}},
    }
    assert GEMINI.decode_request(json.dumps(body).encode()).thinking == Thinking(effort="high")


def test_unknown_fields_are_kept_for_gemini_only() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "tools": [{"googleSearch": {}}],
        "generationConfig": {"candidateCount": 1, "responseMimeType": "application/json"},
    }
    request = GEMINI.decode_request(json.dumps(body).encode())
    assert request.response_format == {"type": "json_object"}
    assert request.tools == (
        OpaquePart(format=FORMAT, kind="tool", name="googleSearch", data={"googleSearch": {}}),
    )
    assert json.loads(GEMINI.encode_request(request)) == body
    with pytest.raises(UnsupportedContent):
        ANTHROPIC.encode_request(request)


def test_content_of_other_formats_is_unsupported() -> None:
    document = OpaquePart(format="anthropic_messages", kind="block", name="document", data={})
    with pytest.raises(UnsupportedContent, match="Gemini"):
        GEMINI.encode_request(_request(Message("user", (document,))))
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    with pytest.raises(UnsupportedContent):
        GEMINI.encode_request(_request(Message("user", (TextPart("x"),)), response_format=schema))


# --- schema cleaning ----------------------------------------------------------------------------


def test_schema_cleaning() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Args",
        "type": "object",
        "additionalProperties": False,
        "$defs": {"Unit": {"type": "string", "enum": ["c", "f"], "default": "c"}},
        "properties": {
            "unit": {"$ref": "#/$defs/Unit"},
            "note": {"anyOf": [{"type": "string", "examples": ["x"]}, {"type": "null"}]},
            "kind": {"const": "weather"},
            "count": {"type": ["integer", "null"], "minimum": 0, "x-extra": 1},
            "level": {"enum": [1, 2]},
            "both": {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}]},
            "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "list": {"type": "array", "items": {"$ref": "#/definitions/Missing", "title": "i"}},
        },
        "required": ["unit"],
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {
            "unit": {"type": "string", "enum": ["c", "f"]},
            "note": {"nullable": True, "type": "string"},
            "kind": {"enum": ["weather"], "type": "string"},
            "count": {"nullable": True, "type": "integer", "minimum": 0},
            "level": {"enum": ["1", "2"], "type": "string"},
            "both": {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "list": {"type": "array", "items": {}},
        },
        "required": ["unit"],
    }


def test_recursive_refs_stop() -> None:
    schema = {"$defs": {"N": {"$ref": "#/$defs/N"}}, "properties": {"n": {"$ref": "#/$defs/N"}}}
    assert clean_schema(schema) == {"properties": {"n": {}}}


@pytest.mark.parametrize("size", [10, 1000], ids=["small", "past the remembered size"])
def test_tool_schemas_go_out_cleaned_on_every_request(size: int) -> None:
    """Schemas are cleaned once and remembered; a long one is cleaned every time; the request
    carries the cleaned schema either way, on the first request and the next."""
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "properties": {f"p{i}": {"type": "string", "default": "x"} for i in range(size)},
    }
    tool = Tool(name="t", parameters=schema)
    for _ in range(2):
        sent = json.loads(
            GEMINI.encode_request(_request(Message("user", (TextPart("hi"),)), tools=(tool,)))
        )
        assert sent["tools"][0]["functionDeclarations"][0]["parameters"] == clean_schema(schema)
        assert "additionalProperties" not in json.dumps(sent)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"", None),
        (b"{not json", None),
        (b"[]", None),
        (b"{}", "contents"),
        (b'{"contents": []}', "contents"),
        (b'{"contents": "hi"}', "contents"),
        (b'{"contents": [{"parts": [{"text": 3}]}]}', "contents[0].parts[0].text"),
        (
            b'{"contents": [{"parts": [{"functionCall": {"args": {}}}]}]}',
            "contents[0].parts[0].functionCall.name",
        ),
        (
            b'{"contents": [{"parts": [{"inlineData": {"data": "x"}}]}]}',
            "contents[0].parts[0].inlineData.mimeType",
        ),
        (
            b'{"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"topK": "a"}}',
            "generationConfig.topK",
        ),
        (b'{"contents": [{"parts": ["x"]}]}', "contents[0].parts[0]"),
        (
            b'{"contents": [{"parts": [{"text": "x"}]}],'
            b' "systemInstruction": {"parts": [{"x": 1}]}}',
            "systemInstruction.parts[0].text",
        ),
    ],
)
def test_malformed_bodies_are_400s_naming_the_field(body: bytes, param: str | None) -> None:
    with pytest.raises(GatewayError) as caught:
        GEMINI.decode_request(body)
    assert caught.value.status == 400
    assert caught.value.param == param


# --- responses ----------------------------------------------------------------------------------


def test_response_decodes_function_call_and_usage() -> None:
    response = GEMINI.decode_response(fixture("gemini_response_function_call.json"))
    assert response.id == "resp-abc123" and response.model == "gemini-2.5-flash"
    assert response.content == (
        ThinkingPart(text="The user wants the weather in Paris; I should call the tool."),
        TextPart("Let me check the weather in Paris."),
        ThinkingPart(signature="c2lnLWNhbGw="),
        ToolCallPart(
            id="call_0", name="get_weather", arguments={"city": "Paris", "unit": "celsius"}
        ),
    )
    assert response.stop_reason is StopReason.TOOL_USE
    # prompt 120 of which 100 cached; output = candidates 25 + thoughts 40
    assert response.usage == Usage(
        input_tokens=20, output_tokens=65, cache_read_tokens=100, reasoning_tokens=40
    )


def test_response_encodes_back_to_the_golden_body() -> None:
    source = fixture_json("gemini_response_function_call.json")
    again = json.loads(
        GEMINI.encode_response(
            GEMINI.decode_response(fixture("gemini_response_function_call.json"))
        )
    )
    assert _without_ids(again) == _without_ids(source)


@pytest.mark.parametrize(
    ("source", "client", "expected"),
    [
        ("gemini_response_function_call.json", OPENAI, "gemini_response_function_call.openai.json"),
        (
            "gemini_response_function_call.json",
            ANTHROPIC,
            "gemini_response_function_call.anthropic.json",
        ),
    ],
)
def test_response_translates_to_the_golden_body(source: str, client: Any, expected: str) -> None:
    response = GEMINI.decode_response(fixture(source))
    assert json.loads(client.encode_response(response, created=CREATED)) == fixture_json(expected)
    back = client.decode_response(client.encode_response(response, created=CREATED))
    assert response_view(back) == {
        **response_view(response),
        "content": response_view(back)["content"],
    }


def test_anthropic_response_translates_to_gemini() -> None:
    response = ANTHROPIC.decode_response(fixture("anthropic_response_thinking_tools.json"))
    body = GEMINI.encode_response(response)
    assert json.loads(body) == fixture_json("gemini_response_from_anthropic_thinking_tools.json")
    assert response_view(GEMINI.decode_response(body)) == response_view(response)


def test_antigravity_envelope_is_unwrapped() -> None:
    inner = fixture_json("gemini_response_function_call.json")
    body = json.dumps({"response": inner, "traceId": "t"}).encode()
    assert GEMINI.decode_response(body) == GEMINI.decode_response(json.dumps(inner).encode())


@pytest.mark.parametrize(
    ("reason", "calls", "stop"),
    [
        ("STOP", False, StopReason.END_TURN),
        ("STOP", True, StopReason.TOOL_USE),
        (None, True, StopReason.TOOL_USE),
        (None, False, None),
        ("MAX_TOKENS", False, StopReason.MAX_TOKENS),
        ("MAX_TOKENS", True, StopReason.MAX_TOKENS),
        ("SAFETY", False, StopReason.CONTENT_FILTER),
        ("RECITATION", False, StopReason.CONTENT_FILTER),
        ("BLOCKLIST", False, StopReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", False, StopReason.CONTENT_FILTER),
        ("SPII", False, StopReason.CONTENT_FILTER),
        ("OTHER", False, StopReason.CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", False, StopReason.OTHER),
    ],
)
def test_finish_reasons(reason: str | None, calls: bool, stop: StopReason | None) -> None:
    assert finish_reason(reason, has_calls=calls) is stop


def test_usage_maps_to_openai_and_anthropic_per_the_tables() -> None:
    response = GEMINI.decode_response(fixture("gemini_response_function_call.json"))
    openai = json.loads(OPENAI.encode_response(response, created=CREATED))["usage"]
    assert openai["prompt_tokens"] == 120 and openai["completion_tokens"] == 65
    assert openai["prompt_tokens_details"]["cached_tokens"] == 100
    assert openai["completion_tokens_details"]["reasoning_tokens"] == 40
    anthropic = json.loads(ANTHROPIC.encode_response(response))["usage"]
    assert anthropic == {"input_tokens": 20, "output_tokens": 65, "cache_read_input_tokens": 100}


def test_malformed_responses_are_wire_format_errors() -> None:
    with pytest.raises(WireFormatError):
        GEMINI.decode_response(b"not json")
    with pytest.raises(WireFormatError):
        GEMINI.decode_response(b'{"candidates": [{"content": {"parts": [{"text": 1}]}}]}')
    assert GEMINI.decode_response(b"{}") == ChatResponse(id="", model="")


def test_redacted_thinking_cannot_be_answered() -> None:
    response = ChatResponse(id="r", model="m", content=(ThinkingPart(redacted_data="x"),))
    with pytest.raises(UnsupportedContent):
        GEMINI.encode_response(response)


# --- streams ------------------------------------------------------------------------------------

STREAM = fixture("gemini_stream_thinking_tools.sse")


def test_stream_decodes_to_canonical_events() -> None:
    decoder = GEMINI.stream_decoder()
    events = decoder.feed(STREAM) + decoder.finish()
    assert events == [
        MessageStart(id="resp-stream-1", model="gemini-3-pro-preview"),
        BlockStart(index=0, kind=BlockKind.THINKING),
        ThinkingDelta(0, "Checking the forecast "),
        ThinkingDelta(0, "for both cities."),
        SignatureDelta(0, "c2lnLXRob3VnaHQ="),
        BlockStop(0),
        BlockStart(index=1, kind=BlockKind.TEXT),
        TextDelta(1, "I will look up "),
        TextDelta(1, "Paris and Rome."),
        BlockStop(1),
        BlockStart(index=2, kind=BlockKind.THINKING),
        SignatureDelta(2, "c2lnLWNhbGw="),
        BlockStop(2),
        BlockStart(index=3, kind=BlockKind.TOOL_USE, id="call_0", name="get_weather"),
        ToolArgumentsDelta(3, '{"city":"Paris"}'),
        BlockStop(3),
        BlockStart(index=4, kind=BlockKind.TOOL_USE, id="call-rome", name="get_weather"),
        ToolArgumentsDelta(4, '{"city":"Rome"}'),
        BlockStop(4),
        MessageDelta(
            stop_reason=StopReason.TOOL_USE,
            usage=Usage(
                input_tokens=30, output_tokens=42, cache_read_tokens=20, reasoning_tokens=12
            ),
        ),
        MessageStop(),
    ]


def test_stream_split_anywhere_gives_the_same_events() -> None:
    decoder = GEMINI.stream_decoder()
    expected = decoder.feed(STREAM) + decoder.finish()
    for cut in range(0, len(STREAM), 7):
        for other in (cut + 1, cut + 50):
            decoder = GEMINI.stream_decoder()
            events = [e for piece in split(STREAM, [cut, other]) for e in decoder.feed(piece)]
            assert events + decoder.finish() == expected


def test_stream_accumulates_like_the_response() -> None:
    answer = decode_stream(GEMINI.stream_decoder(), [STREAM])
    assert answer.stop_reason is StopReason.TOOL_USE
    assert [type(p).__name__ for p in answer.content] == [
        "ThinkingPart",
        "TextPart",
        "ThinkingPart",
        "ToolCallPart",
        "ToolCallPart",
    ]


@pytest.mark.parametrize("include_usage", [False, True])
def test_stream_translates_to_openai(include_usage: bool) -> None:
    translator = StreamTranslator(
        GEMINI.stream_decoder(), OPENAI.stream_encoder(include_usage=include_usage, created=CREATED)
    )
    out = (
        b"".join(translator.feed(p) for p in split(STREAM, [13, 400, 401, 900]))
        + translator.finish()
    )
    chunks = assert_valid_openai_stream(out, include_usage=include_usage)
    calls = [
        c
        for chunk in chunks
        if chunk["choices"]
        for c in chunk["choices"][0]["delta"].get("tool_calls", ())
    ]
    assert [c["index"] for c in calls if "id" in c] == [0, 1]
    answer = decode_stream(OPENAI.stream_decoder(), [out])
    assert answer.stop_reason is StopReason.TOOL_USE
    assert [p.arguments for p in answer.content if isinstance(p, ToolCallPart)] == [
        {"city": "Paris"},
        {"city": "Rome"},
    ]
    if include_usage:
        assert chunks[-1]["usage"]["prompt_tokens"] == 50
        assert chunks[-1]["usage"]["completion_tokens"] == 42


def test_stream_translates_to_anthropic() -> None:
    translator = StreamTranslator(GEMINI.stream_decoder(), ANTHROPIC.stream_encoder())
    out = b"".join(translator.feed(p) for p in split(STREAM, [5, 700])) + translator.finish()
    frames = assert_valid_anthropic_stream(out)
    assert frames[0][0] == "message_start"
    tool_inputs = [
        payload["delta"]["partial_json"]
        for name, payload in frames
        if name == "content_block_delta" and payload["delta"]["type"] == "input_json_delta"
    ]
    assert tool_inputs == ['{"city":"Paris"}', '{"city":"Rome"}']
    delta = next(payload for name, payload in frames if name == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == 42


def test_stream_starting_with_a_call_starts_the_message_first() -> None:
    chunk = {
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}]},
                "finishReason": "STOP",
            }
        ]
    }
    data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    translator = StreamTranslator(GEMINI.stream_decoder(), ANTHROPIC.stream_encoder())
    assert_valid_anthropic_stream(translator.feed(data) + translator.finish())


def test_stream_encoder_round_trips_the_fixture() -> None:
    decoder = GEMINI.stream_decoder()
    events = decoder.feed(STREAM) + decoder.finish()
    encoded = encode_stream(GEMINI.stream_encoder(), events)
    assert all(name == "" and "candidates" in payload for name, payload in sse_frames(encoded))
    again = GEMINI.stream_decoder()
    assert again.feed(encoded) + again.finish() == events


def test_anthropic_stream_translates_to_gemini() -> None:
    source = fixture("anthropic_stream_thinking_tools.sse")
    translator = StreamTranslator(ANTHROPIC.stream_decoder(), GEMINI.stream_encoder(model="alias"))
    out = translator.feed(source) + translator.finish()
    assert translator.done and translator.error is None
    frames = sse_frames(out)
    assert frames[-1][1]["candidates"][0]["finishReason"] == "STOP"
    assert all(payload["modelVersion"] == "alias" for _, payload in frames)
    expected = decode_stream(ANTHROPIC.stream_decoder(), [source])
    got = decode_stream(GEMINI.stream_decoder(), [out])
    assert [p for p in got.content if isinstance(p, ToolCallPart)] == [
        p for p in expected.content if isinstance(p, ToolCallPart)
    ]
    assert got.stop_reason == expected.stop_reason


def test_empty_or_unfinished_streams_end_in_errors() -> None:
    decoder = GEMINI.stream_decoder()
    (error,) = decoder.feed(b": keep-alive\n\n") + decoder.finish()
    assert isinstance(error, StreamError) and "empty" in error.message
    decoder = GEMINI.stream_decoder()
    events = decoder.feed(b'data: {"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}\n\n')
    events += decoder.finish()
    assert isinstance(events[-1], StreamError)
    assert events[-2] == BlockStop(0)  # the open block is closed first


def test_stream_error_chunks_and_bad_json() -> None:
    decoder = GEMINI.stream_decoder()
    body = b'data: {"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}\n\n'
    assert decoder.feed(body) + decoder.finish() == [StreamError(ErrorType.RATE_LIMIT, "quota")]
    with pytest.raises(WireFormatError):
        GEMINI.stream_decoder().feed(b"data: {oops\n\n")


def test_stream_encoder_writes_errors_and_ignores_what_gemini_lacks() -> None:
    encoder = GEMINI.stream_encoder()
    assert encoder.encode(BlockStart(index=0, kind=BlockKind.REDACTED_THINKING, data="x")) == b""
    with pytest.raises(UnsupportedContent):
        encoder.encode(
            BlockStart(index=1, kind=BlockKind.OPAQUE, name="x", data={}, format="other")
        )
    out = encoder.encode(StreamError(ErrorType.OVERLOADED, "busy"))
    assert sse_frames(out) == [
        ("", {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}})
    ]
    assert encoder.done and encoder.encode(MessageStop()) == b""


# --- errors -------------------------------------------------------------------------------------


def test_decode_error_reads_google_rpc_status() -> None:
    body = (
        b'{"error":{"code":429,"message":"Resource has been exhausted",'
        b'"status":"RESOURCE_EXHAUSTED"}}'
    )
    assert GEMINI.decode_error(429, body) == ApiError(
        status=429,
        type=ErrorType.RATE_LIMIT,
        message="Resource has been exhausted",
        code="RESOURCE_EXHAUSTED",
    )
    listed = b'[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]'
    assert GEMINI.decode_error(400, listed).message == "bad"
    assert (
        GEMINI.decode_error(502, b"<html>bad gateway</html>").message == "<html>bad gateway</html>"
    )
    assert GEMINI.decode_error(500, b"").message == "upstream answered HTTP 500"
    odd = b'{"error":{"code":499,"message":"slow","status":"DEADLINE_EXCEEDED"}}'
    assert GEMINI.decode_error(499, odd).type is ErrorType.TIMEOUT


@pytest.mark.parametrize(
    ("error_type", "status", "name"),
    [
        (ErrorType.INVALID_REQUEST, 400, "INVALID_ARGUMENT"),
        (ErrorType.AUTHENTICATION, 401, "UNAUTHENTICATED"),
        (ErrorType.PERMISSION, 403, "PERMISSION_DENIED"),
        (ErrorType.NOT_FOUND, 404, "NOT_FOUND"),
        (ErrorType.RATE_LIMIT, 429, "RESOURCE_EXHAUSTED"),
        (ErrorType.API_ERROR, 500, "INTERNAL"),
        (ErrorType.OVERLOADED, 503, "UNAVAILABLE"),
        (ErrorType.TIMEOUT, 504, "DEADLINE_EXCEEDED"),
    ],
)
def test_encode_error_writes_google_rpc_status(
    error_type: ErrorType, status: int, name: str
) -> None:
    error = ApiError(status=status, type=error_type, message="m")
    assert json.loads(CODEC.encode_error(error)) == {
        "error": {"code": status, "message": "m", "status": name}
    }
    assert CODEC.decode_error(status, CODEC.encode_error(error)).type is error_type
    framed = CODEC.encode_stream_error(StreamError(error_type, "m"))
    assert sse_frames(framed)[0][1]["error"]["status"] == name


def test_codec_identity() -> None:
    assert GEMINI.format == FORMAT == "gemini"
