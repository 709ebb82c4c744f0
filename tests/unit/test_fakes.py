"""The fake upstreams speak their real wire formats: the official SDKs parse and accumulate them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic.types import Message, MessageParam, TextBlock, ToolParam, ToolUseBlock
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, ChatCompletionToolParam

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI

OPENAI_KEY = "sk-fake-openai-0001"
ANTHROPIC_KEY = "sk-ant-fake-0001"
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

REPLY = "Hello there from a fake upstream."
QUESTION = "What is the weather in Paris?"

OPENAI_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ANTHROPIC_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Current weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply_text=REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(reply_text=REPLY) as fake:
        yield fake


@pytest.fixture
def oai(fake_openai: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=fake_openai.base_url, api_key=OPENAI_KEY, max_retries=0, timeout=10
    )


@pytest.fixture
def ant(fake_anthropic: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=fake_anthropic.base_url, api_key=ANTHROPIC_KEY, max_retries=0, timeout=10
    )


# --- FakeOpenAI -------------------------------------------------------------------------------


def test_openai_text(oai: openai.OpenAI, fake_openai: FakeOpenAI) -> None:
    reply = oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi there"}]
    )
    assert reply.choices[0].message.content == REPLY
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 2
    assert reply.usage.completion_tokens == len(REPLY.split())
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    call = fake_openai.calls[-1]
    assert (call.key, call.model, call.stream) == (OPENAI_KEY, "gpt-4o-mini", False)
    assert json.loads(call.raw) == call.body
    assert json.loads(fake_openai.raw_responses[len(fake_openai.calls) - 1])["id"] == reply.id


def test_openai_text_stream(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(REPLY.split())


def test_openai_stream_without_include_usage_has_no_usage_chunk(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_tool_round_trip(oai: openai.OpenAI, fake_openai: FakeOpenAI, stream: bool) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
    first: ChatCompletion
    if stream:
        with oai.chat.completions.stream(
            model="gpt-4o", messages=messages, tools=[OPENAI_TOOL]
        ) as events:
            first = events.get_final_completion()
    else:
        first = oai.chat.completions.create(model="gpt-4o", messages=messages, tools=[OPENAI_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    tool_call = choice.message.tool_calls[0]
    assert tool_call.type == "function"
    assert tool_call.id == f"call_{len(fake_openai.calls)}"
    assert fake_openai.issued_tool_ids[len(fake_openai.calls) - 1] == tool_call.id
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert first.usage is None or first.usage.completion_tokens > 0
    if stream:
        raw = fake_openai.raw_responses[len(fake_openai.calls) - 1].decode()
        deltas = [
            json.loads(line[6:])["choices"]
            for line in raw.splitlines()
            if line.startswith("data: {")
        ]
        fragments = [
            c[0]["delta"]["tool_calls"][0]["function"]["arguments"]
            for c in deltas
            if c and "tool_calls" in c[0]["delta"]
        ]
        assert fragments[0] == "" and len([f for f in fragments if f]) >= 2

    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": tool_call.id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": tool_call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": tool_call.id, "content": "Sunny, 21 C"},
    ]
    final: ChatCompletion
    if stream:
        with oai.chat.completions.stream(
            model="gpt-4o", messages=messages, tools=[OPENAI_TOOL]
        ) as events:
            final = events.get_final_completion()
    else:
        final = oai.chat.completions.create(model="gpt-4o", messages=messages, tools=[OPENAI_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "The tool said: Sunny, 21 C"


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "tool", "tool_call_id": "call_x", "content": "r"}],
        [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_x",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ],
            },
            {"role": "user", "content": "no tool answer"},
        ],
        [],
    ],
    ids=["orphan-tool-message", "unanswered-tool-call", "no-messages"],
)
def test_openai_refuses_what_openai_refuses(
    fake_openai: FakeOpenAI, messages: list[dict[str, Any]]
) -> None:
    response = httpx.post(
        f"{fake_openai.base_url}/chat/completions",
        json={"model": "gpt-4o", "messages": messages},
        headers={"Authorization": f"Bearer {OPENAI_KEY}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_openai_error_per_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.errors["sk-broken"] = (429, {"error": {"message": "slow down", "type": "x"}})
    try:
        client = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-broken", max_retries=0)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}]
            )
    finally:
        del fake_openai.errors["sk-broken"]


# --- FakeAnthropic ----------------------------------------------------------------------------


def test_anthropic_text(ant: anthropic.Anthropic, fake_anthropic: FakeAnthropic) -> None:
    message = ant.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": "hi there"}],
    )
    assert message.id.startswith("msg_")
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-4-5"
    assert isinstance(message.content[0], TextBlock) and message.content[0].text == REPLY
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == 4
    assert message.usage.output_tokens == len(REPLY.split())
    call = fake_anthropic.calls[-1]
    assert (call.key, call.model, call.stream) == (ANTHROPIC_KEY, "claude-sonnet-4-5", False)
    assert fake_anthropic.versions_seen()[-1]
    raw = fake_anthropic.raw_responses[len(fake_anthropic.calls) - 1]
    assert json.loads(raw)["id"] == message.id


def test_anthropic_text_stream(ant: anthropic.Anthropic, fake_anthropic: FakeAnthropic) -> None:
    with ant.messages.stream(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == REPLY
    assert isinstance(final.content[0], TextBlock) and final.content[0].text == REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 1
    assert final.usage.output_tokens == len(REPLY.split())
    raw = fake_anthropic.raw_responses[len(fake_anthropic.calls) - 1].decode()
    events = [line[7:] for line in raw.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "ping" in events and events[-2] == "message_delta"


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_tool_round_trip(
    ant: anthropic.Anthropic, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": QUESTION}]
    first: Message
    if stream:
        with ant.messages.stream(
            model="claude-sonnet-4-5", max_tokens=100, messages=messages, tools=[ANTHROPIC_TOOL]
        ) as events:
            first = events.get_final_message()
    else:
        first = ant.messages.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=messages, tools=[ANTHROPIC_TOOL]
        )
    assert first.stop_reason == "tool_use"
    assert [block.type for block in first.content] == ["text", "tool_use"]
    tool_use = first.content[1]
    assert isinstance(tool_use, ToolUseBlock)
    assert tool_use.id.startswith("toolu_") and tool_use.name == "get_weather"
    assert fake_anthropic.issued_tool_ids[len(fake_anthropic.calls) - 1] == tool_use.id
    assert tool_use.input == {"city": "Paris"}
    if stream:
        raw = fake_anthropic.raw_responses[len(fake_anthropic.calls) - 1].decode()
        fragments = [
            json.loads(line[6:])["delta"]["partial_json"]
            for line in raw.splitlines()
            if "input_json_delta" in line
        ]
        assert len(fragments) >= 2

    messages += [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": tool_use.id,
                    "name": tool_use.name,
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "Rain"}],
        },
    ]
    final: Message
    if stream:
        with ant.messages.stream(
            model="claude-sonnet-4-5", max_tokens=100, messages=messages, tools=[ANTHROPIC_TOOL]
        ) as events:
            final = events.get_final_message()
    else:
        final = ant.messages.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=messages, tools=[ANTHROPIC_TOOL]
        )
    assert final.stop_reason == "end_turn"
    assert isinstance(final.content[0], TextBlock)
    assert final.content[0].text == "The tool said: Rain"


def test_anthropic_bearer_key_is_accepted(fake_anthropic: FakeAnthropic) -> None:
    client = anthropic.Anthropic(
        base_url=fake_anthropic.base_url, auth_token="sk-ant-oauth-0001", max_retries=0
    )
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
    )
    assert fake_anthropic.keys_seen()[-1] == "sk-ant-oauth-0001"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x"}]}',
        b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": "x"}',
        b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user",'
        b' "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "r"}]}]}',
        b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user",'
        b' "content": [{"type": "text", "text": ""}]}]}',
        b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user",'
        b' "content": "x"}, {"role": "assistant", "content": [{"type": "thinking", "thinking":'
        b' "", "signature": "skip_thought_signature_validator"}, {"type": "text", "text": "y"}]},'
        b' {"role": "user", "content": "z"}]}',
    ],
    ids=[
        "bad-json",
        "no-max-tokens",
        "messages-not-list",
        "orphan-tool-result",
        "empty-text",
        "foreign-signature",
    ],
)
def test_anthropic_refuses_what_anthropic_refuses(
    fake_anthropic: FakeAnthropic, body: bytes
) -> None:
    response = httpx.post(
        f"{fake_anthropic.base_url}/v1/messages",
        content=body,
        headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"]


def test_anthropic_missing_max_tokens_message(fake_anthropic: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake_anthropic.base_url}/v1/messages",
        json={"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x"}]},
        headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.json()["error"]["message"] == "max_tokens: Field required"


def test_anthropic_error_per_key(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.errors["sk-ant-broken"] = (
        529,
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    try:
        client = anthropic.Anthropic(
            base_url=fake_anthropic.base_url, api_key="sk-ant-broken", max_retries=0
        )
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(
                model="claude-sonnet-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        assert caught.value.status_code == 529
    finally:
        del fake_anthropic.errors["sk-ant-broken"]
