"""Translation accepts what current clients send (CLIENT-APIS-2026): each field group of the
Anthropic Messages and OpenAI Chat Completions requests, decoded by the client's codec and
encoded for the other format, is carried, dropped on purpose, or (tested in test_unsupported.py)
refused. Unknown fields never make a translated request a 400.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from aigateway.adapters.codecs.gemini import GeminiCodec
from tests.unit.codecs.wire import ANTHROPIC, OPENAI

GEMINI = GeminiCodec()
CLAUDE_CODE_USER_ID = json.dumps(
    {"device_id": "3e55" * 16, "account_uuid": "", "session_id": "4092015d-a276-44fe-b883"}
)
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def anthropic(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-opus-4-7",
        "max_tokens": 64000,
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(fields)
    return body


def openai(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-5.1", "messages": [{"role": "user", "content": "hi"}]}
    body.update(fields)
    return body


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        OPENAI.encode_request(ANTHROPIC.decode_request(json.dumps(body).encode()))
    )
    return result


def to_anthropic(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        ANTHROPIC.encode_request(OPENAI.decode_request(json.dumps(body).encode()))
    )
    return result


def system_text(body: dict[str, Any]) -> str:
    return "\n".join(
        m["content"] if isinstance(m["content"], str) else "".join(p["text"] for p in m["content"])
        for m in body["messages"]
        if m["role"] == "system"
    )


# --- Anthropic Messages -> OpenAI Chat ------------------------------------------------------


def test_claude_code_request_for_a_non_claude_model_translates() -> None:
    """The shape Claude Code 2.1.332 sends for a model it does not know (captured from it)."""
    body = anthropic(
        system=[
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.e8f;"},
            {
                "type": "text",
                "text": "You are a Claude agent.",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "Run echo"}]},
            {
                "role": "system",
                "content": [
                    {
                        "type": "text",
                        "text": "# Environment\nPlatform: linux",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
        tools=[
            {"name": "Bash", "description": "Run a command", "input_schema": SCHEMA},
            {
                "name": "DeferredToolPlaceholder",
                "description": "d",
                "input_schema": SCHEMA,
                "defer_loading": True,
            },
        ],
        metadata={"user_id": CLAUDE_CODE_USER_ID},
        thinking={"type": "adaptive", "display": "omitted"},
        context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        output_config={"effort": "high"},
        stream=True,
    )
    out = to_openai(body)
    assert [m["role"] for m in out["messages"]] == ["system", "user"]
    assert "You are a Claude agent." in system_text(out)
    assert "# Environment" in system_text(out)  # the mid-conversation system message
    assert out["reasoning_effort"] == "high"
    assert [t["function"]["name"] for t in out["tools"]] == ["Bash", "DeferredToolPlaceholder"]
    assert out["user"] == hashlib.sha256(CLAUDE_CODE_USER_ID.encode()).hexdigest()
    for dropped in ("context_management", "thinking", "metadata", "output_config"):
        assert dropped not in out


def test_system_role_messages_and_mid_conv_system_blocks_join_the_system_prompt() -> None:
    body = anthropic(
        system="base",
        messages=[
            {"role": "system", "content": "first reminder"},
            {
                "role": "user",
                "content": [
                    {"type": "mid_conv_system", "content": [{"type": "text", "text": "second"}]},
                    {"type": "text", "text": "question"},
                ],
            },
        ],
    )
    request = ANTHROPIC.decode_request(json.dumps(body).encode())
    assert [p.text for p in request.system] == ["base", "first reminder", "second"]
    assert [m.role for m in request.messages] == ["user"]
    out = to_openai(body)
    assert out["messages"][-1] == {"role": "user", "content": "question"}
    # and Gemini gets them as its system instruction
    gemini = json.loads(GEMINI.encode_request(request))
    assert [p["text"] for p in gemini["systemInstruction"]["parts"]] == [
        "base",
        "first reminder",
        "second",
    ]


@pytest.mark.parametrize(
    ("fields", "effort"),
    [
        ({"thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}, "xhigh"),
        ({"output_config": {"effort": "max"}}, "max"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, "low"),
        ({"thinking": {"type": "adaptive", "display": "summarized"}}, None),
        ({"thinking": {"type": "disabled"}}, None),
    ],
)
def test_effort_and_thinking_become_reasoning_effort(
    fields: dict[str, Any], effort: str | None
) -> None:
    assert to_openai(anthropic(**fields)).get("reasoning_effort") == effort


@pytest.mark.parametrize("field", ["output_config", "output_format"])
def test_json_schema_output_becomes_response_format(field: str) -> None:
    output = {"type": "json_schema", "schema": SCHEMA}
    value = {"format": output} if field == "output_config" else output
    out = to_openai(anthropic(**{field: value}))
    assert out["response_format"]["type"] == "json_schema"
    assert out["response_format"]["json_schema"]["schema"] == SCHEMA


def test_text_documents_and_search_results_are_carried_as_text() -> None:
    body = anthropic(
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "DOC"},
                        "title": "Title",
                        "citations": {"enabled": True},
                        "cache_control": {"type": "ephemeral"},
                    },
                    {
                        "type": "document",
                        "source": {"type": "content", "content": [{"type": "text", "text": "C"}]},
                    },
                    {
                        "type": "search_result",
                        "source": "https://example.com/a",
                        "title": "Result",
                        "content": [{"type": "text", "text": "found"}],
                    },
                    {"type": "text", "text": "summarise", "citations": None},
                ],
            }
        ]
    )
    content = to_openai(body)["messages"][0]["content"]
    texts = [part["text"] for part in content]
    assert texts == ["Title\n\nDOC", "C", "Result\nhttps://example.com/a\n\nfound", "summarise"]


def test_tool_results_with_tool_references_and_search_results_are_text() -> None:
    body = anthropic(
        messages=[
            {"role": "user", "content": "find tools"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "ToolSearch",
                        "input": {},
                        "caller": {"type": "direct"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [
                            {"type": "tool_reference", "tool_name": "mcp__x__y"},
                            {
                                "type": "search_result",
                                "source": "s",
                                "title": "t",
                                "content": [{"type": "text", "text": "body"}],
                            },
                        ],
                    }
                ],
            },
        ],
        tools=[{"name": "ToolSearch", "input_schema": SCHEMA}],
    )
    tool_message = to_openai(body)["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "toolu_1"
    texts = [part["text"] for part in tool_message["content"]]
    assert texts == ["[tool reference: mcp__x__y]", "t\ns\n\nbody"]


@pytest.mark.parametrize(
    "server_tool",
    [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        {"type": "web_fetch_20250910", "name": "web_fetch"},
        {"type": "code_execution_20250825", "name": "code_execution"},
        {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
    ],
)
def test_server_tools_are_left_out_for_other_upstreams(server_tool: dict[str, Any]) -> None:
    body = anthropic(tools=[{"name": "Bash", "input_schema": SCHEMA}, server_tool])
    request = ANTHROPIC.decode_request(json.dumps(body).encode())
    assert json.loads(ANTHROPIC.encode_request(request))["tools"][1] == server_tool
    assert [t["function"]["name"] for t in to_openai(body)["tools"]] == ["Bash"]
    gemini = json.loads(GEMINI.encode_request(request))
    assert [d["name"] for d in gemini["tools"][0]["functionDeclarations"]] == ["Bash"]
    only_server = anthropic(tools=[server_tool])
    assert "tools" not in to_openai(only_server)


def test_tool_fields_of_the_current_api() -> None:
    tool = {
        "type": "custom",
        "name": "get_weather",
        "input_schema": SCHEMA,
        "strict": True,
        "defer_loading": True,
        "eager_input_streaming": True,
        "input_examples": [{"city": "Paris"}],
        "allowed_callers": ["direct"],
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }
    out = to_openai(anthropic(tools=[tool], tool_choice={"type": "none"}))
    assert out["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": SCHEMA, "strict": True},
        }
    ]
    assert out["tool_choice"] == "none"


def test_anthropic_only_fields_and_unknown_fields_are_dropped_not_refused() -> None:
    body = anthropic(
        cache_control={"type": "ephemeral"},
        container="container_1",
        inference_geo="us",
        service_tier="standard_only",
        speed="fast",
        fallbacks="default",
        fallback_credit_token={"token": "t"},
        diagnostics={"previous_message_id": "msg_1"},
        some_field_from_the_future={"x": 1},
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "future_key": 1}],
                "future_message_key": True,
            }
        ],
    )
    out = to_openai(body)
    assert out["messages"] == [{"role": "user", "content": "hi"}]
    assert set(out) == {"model", "messages", "max_tokens"}


# --- OpenAI Chat -> Anthropic Messages ------------------------------------------------------


def test_current_openai_request_fields_translate() -> None:
    body = openai(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "long shared prefix",
                        "prompt_cache_breakpoint": {"mode": "explicit"},
                    },
                    {"type": "text", "text": "question"},
                ],
                "name": "alice",
            },
        ],
        max_completion_tokens=50000,
        reasoning_effort="max",
        verbosity="low",
        modalities=["text"],
        prediction={"type": "content", "content": "x"},
        prompt_cache_key="thread-1",
        prompt_cache_options={"mode": "explicit", "ttl": "30m"},
        safety_identifier="user-123",
        store=False,
        metadata={"k": "v"},
        moderation={"model": "omni-moderation-latest"},
        service_tier="fast",
        stream=True,
        stream_options={"include_usage": True, "include_obfuscation": False},
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True},
        },
    )
    out = to_anthropic(body)
    assert out["system"] == "Be brief."
    assert out["messages"][0]["content"][0] == {
        "type": "text",
        "text": "long shared prefix",
        "cache_control": {"type": "ephemeral"},
    }
    assert out["max_tokens"] == 50000
    assert out["thinking"]["type"] == "enabled" and out["thinking"]["budget_tokens"] >= 32768
    assert out["metadata"] == {"user_id": "user-123"}
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert out["stream"] is True
    for dropped in (
        "verbosity",
        "prediction",
        "prompt_cache_key",
        "prompt_cache_options",
        "store",
        "moderation",
        "service_tier",
        "stream_options",
        "modalities",
        "safety_identifier",
    ):
        assert dropped not in out


def test_parallel_tool_calls_and_allowed_tools_choice() -> None:
    tools = [
        {"type": "function", "function": {"name": name, "parameters": SCHEMA}}
        for name in ("a", "b", "c")
    ]
    choice = {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "b"}}],
        },
    }
    out = to_anthropic(openai(tools=tools, tool_choice=choice, parallel_tool_calls=False))
    assert [t["name"] for t in out["tools"]] == ["b"]
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_openai_unknown_fields_are_dropped_not_refused() -> None:
    body = openai(a_field_from_the_future=[1, 2], user="u", seed=7, logit_bias={"1": 2})
    out = to_anthropic(body)
    assert set(out) == {"model", "messages", "max_tokens", "metadata"}
    assert out["metadata"] == {"user_id": "u"}


def test_a_short_user_goes_to_openai_unchanged() -> None:
    assert to_openai(anthropic(metadata={"user_id": "user-1"}))["user"] == "user-1"
