"""Request mapping details between OpenAI Chat Completions and Anthropic Messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.adapters.codecs.anthropic_messages import AnthropicMessagesCodec
from aigateway.adapters.codecs.anthropic_messages import wire as anthropic_wire
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.codecs.openai_chat import wire as openai_wire
from aigateway.domain.llm import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    StopReason,
    TextPart,
    Thinking,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from tests.unit.codecs.wire import ANTHROPIC, OPENAI


def openai(**fields: Any) -> ChatRequest:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **fields}
    return OPENAI.decode_request(json.dumps(body).encode())


def as_anthropic(request: ChatRequest, codec: AnthropicMessagesCodec = ANTHROPIC) -> Any:
    return json.loads(codec.encode_request(request))


def as_openai(request: ChatRequest, codec: OpenAIChatCodec = OPENAI) -> Any:
    return json.loads(codec.encode_request(request))


def test_max_tokens_default_is_a_parameter() -> None:
    assert as_anthropic(openai())["max_tokens"] == 4096
    assert (
        as_anthropic(openai(), AnthropicMessagesCodec(default_max_tokens=1000))["max_tokens"]
        == 1000
    )
    assert as_anthropic(openai(max_tokens=77))["max_tokens"] == 77
    assert as_anthropic(openai(max_tokens=77, max_completion_tokens=88))["max_tokens"] == 88


@pytest.mark.parametrize(
    ("fields", "thinking", "max_tokens"),
    [
        ({"reasoning_effort": "low"}, {"type": "enabled", "budget_tokens": 2048}, 4096),
        ({"reasoning_effort": "high"}, {"type": "enabled", "budget_tokens": 16384}, 16384 + 4096),
        (
            {"reasoning_effort": "high", "max_tokens": 5000},
            {"type": "enabled", "budget_tokens": 4999},
            5000,
        ),
        ({"reasoning_effort": "medium", "max_tokens": 1000}, None, 1000),  # too small to think
        ({"reasoning_effort": "none"}, {"type": "disabled"}, 4096),
    ],
)
def test_reasoning_effort_becomes_a_thinking_budget(
    fields: dict[str, Any], thinking: dict[str, Any] | None, max_tokens: int
) -> None:
    body = as_anthropic(openai(**fields))
    assert body.get("thinking") == thinking
    assert body["max_tokens"] == max_tokens


@pytest.mark.parametrize(
    ("budget", "effort"), [(1024, "low"), (2048, "low"), (5000, "medium"), (60000, "high")]
)
def test_thinking_budget_becomes_a_reasoning_effort(budget: int, effort: str) -> None:
    request = ChatRequest(
        model="m",
        messages=(Message("user", (TextPart("x"),)),),
        thinking=Thinking(budget_tokens=budget),
    )
    assert as_openai(request)["reasoning_effort"] == effort
    assert "reasoning_effort" not in as_openai(
        request, OpenAIChatCodec(send_reasoning_effort=False)
    )


def test_openai_codec_options() -> None:
    request = ChatRequest(model="m", messages=(), max_tokens=5, top_k=3)
    assert as_openai(request) == {"model": "m", "messages": [], "max_tokens": 5}
    codec = OpenAIChatCodec(max_tokens_field="max_completion_tokens", send_top_k=True)
    assert as_openai(request, codec) == {
        "model": "m",
        "messages": [],
        "max_completion_tokens": 5,
        "top_k": 3,
    }


def test_invalid_tool_arguments_never_crash_and_are_kept_for_openai() -> None:
    request = openai(
        messages=[
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{bad"},
                    },
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": ""}},
                ],
            },
        ]
    )
    bad, empty = request.messages[1].content
    assert bad == ToolCallPart(id="c1", name="f", arguments={}, raw_arguments="{bad")
    assert empty == ToolCallPart(id="c2", name="g", arguments={})
    calls = as_openai(request)["messages"][1]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ["{bad", "{}"]
    uses = as_anthropic(request)["messages"][1]["content"]
    assert [u["input"] for u in uses] == [{}, {}]


def test_invalid_arguments_in_a_response_never_crash() -> None:
    body = {
        "id": "x",
        "model": "m",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "[1,"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    answer = OPENAI.decode_response(json.dumps(body).encode())
    (call,) = answer.content
    assert isinstance(call, ToolCallPart) and call.raw_arguments == "[1,"
    assert json.loads(ANTHROPIC.encode_response(answer))["content"][0]["input"] == {}
    assert "[1," in OPENAI.encode_response(answer).decode()


def test_tool_ids_are_sanitised_the_same_way_for_anthropic() -> None:
    request = openai(
        messages=[
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "functions.get_weather:0",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "sunny"},
        ]
    )
    messages = as_anthropic(request)["messages"]
    assert messages[1]["content"][0]["id"] == "functions_get_weather_0"
    assert messages[2]["content"][0]["tool_use_id"] == "functions_get_weather_0"


def test_system_and_developer_messages_anywhere_become_the_system_prompt() -> None:
    request = openai(
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": "be brief"},
            {"role": "system", "content": [{"type": "text", "text": "no emoji"}]},
        ]
    )
    assert request.system == (TextPart("be brief"), TextPart("no emoji"))
    body = as_anthropic(request)
    assert body["system"] == [
        {"type": "text", "text": "be brief"},
        {"type": "text", "text": "no emoji"},
    ]
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_empty_assistant_text_next_to_tool_calls_is_not_sent_to_anthropic() -> None:
    request = openai(
        messages=[
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
        ]
    )
    assert [b["type"] for b in as_anthropic(request)["messages"][1]["content"]] == ["tool_use"]


def test_parallel_tool_calls_and_tool_choice() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body = as_anthropic(openai(tools=tools, parallel_tool_calls=False))
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    named = {"type": "function", "function": {"name": "f"}}
    assert as_anthropic(openai(tools=tools, tool_choice=named))["tool_choice"] == {
        "type": "tool",
        "name": "f",
    }
    assert as_anthropic(openai(tools=tools, tool_choice="none"))["tool_choice"] == {"type": "none"}
    assert "tool_choice" not in as_anthropic(openai(tool_choice="auto"))  # no tools: no choice
    back = ANTHROPIC.decode_request(
        json.dumps(
            {
                "model": "c",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            }
        ).encode()
    )
    assert back.tool_choice == ToolChoice("required") and back.parallel_tool_calls is False
    assert as_openai(back)["tool_choice"] == "required"
    assert as_openai(back)["parallel_tool_calls"] is False


def test_thinking_history_crossing_formats() -> None:
    signed = ThinkingPart(text="plan", signature="sig")
    unsigned = ThinkingPart(text="deepseek reasoning")
    redacted = ThinkingPart(redacted_data="opaque")
    request = ChatRequest(
        model="m",
        messages=(
            Message("user", (TextPart("q"),)),
            Message("assistant", (signed, unsigned, redacted, TextPart("a"))),
        ),
    )
    blocks = as_anthropic(request)["messages"][1]["content"]
    assert blocks == [
        {"type": "thinking", "thinking": "plan", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "a"},
    ]
    assert as_openai(request)["messages"][1] == {"role": "assistant", "content": "a"}
    codec = OpenAIChatCodec(reasoning_history=True)
    assert as_openai(request, codec)["messages"][1]["reasoning_content"] == "plandeepseek reasoning"


def test_tool_result_images_follow_the_tool_message_for_openai() -> None:
    image = ImagePart(media_type="image/png", data="iVBOR")
    request = ChatRequest(
        model="m",
        messages=(
            Message(
                "user",
                (
                    ToolResultPart(
                        tool_call_id="t1", content=(TextPart("shot"), image), is_error=True
                    ),
                    TextPart("and?"),
                ),
            ),
        ),
    )
    assert as_openai(request)["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "shot"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "[images returned by tool call t1]"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "text", "text": "and?"},
            ],
        },
    ]


def test_anthropic_stream_request_asks_openai_for_usage() -> None:
    request = ANTHROPIC.decode_request(
        b'{"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}'
    )
    assert as_openai(request)["stream_options"] == {"include_usage": True}


def test_image_urls_and_data_urls() -> None:
    request = openai(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/webp;base64,UklG"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            }
        ]
    )
    assert as_anthropic(request)["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklG"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
    ]


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        (StopReason.END_TURN, "stop"),
        (StopReason.STOP_SEQUENCE, "stop"),
        (StopReason.MAX_TOKENS, "length"),
        (StopReason.TOOL_USE, "tool_calls"),
        (StopReason.CONTENT_FILTER, "content_filter"),
        (StopReason.PAUSE_TURN, "stop"),
    ],
)
def test_stop_reasons_to_openai(stop: StopReason, finish: str) -> None:
    answer = ChatResponse(id="x", model="m", stop_reason=stop)
    assert json.loads(OPENAI.encode_response(answer))["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reasons_to_anthropic(finish: str, stop: str) -> None:
    body = {
        "id": "x",
        "model": "m",
        "choices": [{"message": {"content": "a"}, "finish_reason": finish}],
    }
    answer = OPENAI.decode_response(json.dumps(body).encode())
    assert json.loads(ANTHROPIC.encode_response(answer))["stop_reason"] == stop


def test_tools_keep_schema_and_cache_hint_for_anthropic() -> None:
    tool = Tool(
        name="f",
        description="d",
        parameters={"type": "object"},
        cache_control={"type": "ephemeral"},
    )
    request = ChatRequest(model="m", messages=(), tools=(tool,))
    assert as_anthropic(request)["tools"] == [
        {
            "name": "f",
            "description": "d",
            "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral"},
        }
    ]
    assert as_openai(request)["tools"] == [
        {
            "type": "function",
            "function": {"name": "f", "description": "d", "parameters": {"type": "object"}},
        }
    ]


@pytest.mark.parametrize("wire", [openai_wire, anthropic_wire], ids=["openai", "anthropic"])
def test_the_typed_decode_reads_every_field_the_generic_one_keeps(wire: Any) -> None:
    """A body decodes in one typed pass only when it holds no field outside these; every field
    the generic decode reads or keeps in the extras is one of them, unportable ones aside (a
    body with one of those takes the generic decode)."""
    typed = set(wire.FastRequest.__struct_fields__)
    assert typed == (wire.KNOWN_FIELDS - wire.UNPORTABLE_FIELDS) | set(wire.FAST_EXTRAS)
    assert not wire.KNOWN_FIELDS & set(wire.FAST_EXTRAS)
