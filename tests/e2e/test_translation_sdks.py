"""Cross-format translation, driven end to end by the official anthropic and openai SDKs.

One embedded gateway (SQLite + in-process stores) with two providers:
- `openai` (kind openai) pointed at a FakeOpenAI upstream: `gpt-*` models;
- `anthropic` (kind anthropic, seeded by the migration) pointed at a FakeAnthropic upstream:
  `claude-*` models.
The anthropic SDK talks to `/v1/messages` and the openai SDK to `/v1/chat/completions`; a model
of the other family makes the gateway translate both ways, a model of the same family is a
passthrough. Every test looks only at the upstream calls it made itself (`calls[before:]`), so
the tests do not depend on their order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic.types import (
    ContentBlockParam,
    Message,
    MessageParam,
    TextBlock,
    ToolParam,
    ToolUseBlock,
)
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from tests.e2e.harness import Gateway, gateway_env
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import Call, FakeOpenAI, content_text

pytestmark = [
    pytest.mark.e2e,
    # the anthropic SDK warns about model names it knows to be deprecated
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
]

OPENAI_ACCOUNT_KEY = "sk-test-openai-translation-0001"
ANTHROPIC_ACCOUNT_KEY = "sk-ant-test-translation-0001"
OPENAI_REPLY = "Hello from the fake OpenAI upstream."
ANTHROPIC_REPLY = "Hello from the fake Anthropic upstream."
GPT = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-5"
QUESTION = "What is the weather in Paris?"
TOOL_RESULT = "Sunny, 21 C"
TIMEOUT_S = 30.0

WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name"}},
    "required": ["city"],
}
OPENAI_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather of a city",
        "parameters": WEATHER_SCHEMA,
    },
}
ANTHROPIC_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "The current weather of a city",
    "input_schema": WEATHER_SCHEMA,
}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply_text=OPENAI_REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(reply_text=ANTHROPIC_REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("translation")
    with Gateway(workdir, gateway_env(workdir)) as gw:
        yield gw


@pytest.fixture(scope="module")
def client_key(gateway: Gateway, fake_openai: FakeOpenAI, fake_anthropic: FakeAnthropic) -> str:
    """Both providers on their fakes, one account each; a client key.

    Each provider lists one exact model name besides its pattern, so `/v1/models` has entries.
    """
    with gateway.admin() as admin:
        admin.patch(
            "/providers/openai", json={"base_url": fake_openai.base_url, "models": [GPT, "gpt-*"]}
        ).raise_for_status()
        seeded = admin.get("/providers/anthropic")
        seeded.raise_for_status()
        assert seeded.json()["kind"] == "anthropic"
        admin.patch(
            "/providers/anthropic",
            json={"base_url": fake_anthropic.base_url, "models": [CLAUDE, "claude-*"]},
        ).raise_for_status()
        for provider, key in (("openai", OPENAI_ACCOUNT_KEY), ("anthropic", ANTHROPIC_ACCOUNT_KEY)):
            admin.post(
                "/accounts",
                json={
                    "provider_id": provider,
                    "label": f"{provider} translation",
                    "auth_data": {"api_key": key},
                    "is_active": True,
                },
            ).raise_for_status()
        created = admin.post("/api-keys", json={"label": "translation"})
        created.raise_for_status()
        return str(created.json()["key"])


def one_call(calls: list[Call], before: int) -> tuple[int, Call]:
    """The single upstream call made since `before` (and its index in `calls`)."""
    new = calls[before:]
    assert len(new) == 1, f"expected one upstream call, got {len(new)}"
    return before, new[0]


def header(call: Call, name: str) -> str | None:
    for key, value in call.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def texts(message: Message) -> str:
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


def tool_uses(message: Message) -> list[ToolUseBlock]:
    return [block for block in message.content if isinstance(block, ToolUseBlock)]


def as_param(message: Message) -> list[ContentBlockParam]:
    """An assistant answer as the content of the next request's assistant turn."""
    blocks: list[ContentBlockParam] = []
    for block in message.content:
        if isinstance(block, TextBlock):
            blocks.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolUseBlock):
            blocks.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
    return blocks


def upstream_openai_usage(fake: FakeOpenAI, index: int) -> dict[str, int]:
    """The usage the fake OpenAI upstream answered to call `index` (non-stream or stream)."""
    raw = fake.raw_responses[index].decode()
    if not raw.startswith("data: "):
        return dict(json.loads(raw)["usage"])
    for line in raw.splitlines():
        if line.startswith("data: {") and '"usage"' in line:
            return dict(json.loads(line[6:])["usage"])
    raise AssertionError("the upstream stream had no usage chunk")


def upstream_anthropic_message(fake: FakeAnthropic, index: int) -> dict[str, Any]:
    """The message the fake Anthropic upstream answered to call `index` (id, usage...)."""
    raw = fake.raw_responses[index].decode()
    if not raw.startswith("event: "):
        return dict(json.loads(raw))
    events = parse_anthropic_sse(raw)
    message = dict(events[0][1]["message"])
    delta = next(data for name, data in events if name == "message_delta")
    message["usage"] = {**message["usage"], **delta["usage"]}
    return message


def parse_anthropic_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """`(event name, data)` pairs of an Anthropic SSE stream; each `event:` names its data."""
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in frame.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        names = [line[len("event:") :].strip() for line in lines if line.startswith("event:")]
        data = "\n".join(line[len("data:") :].strip() for line in lines if line.startswith("data:"))
        assert len(names) == 1, f"an SSE frame without one event line: {frame!r}"
        payload = json.loads(data)
        assert payload["type"] == names[0], f"event {names[0]} carries {payload['type']}"
        events.append((names[0], payload))
    return events


def check_anthropic_event_order(events: list[tuple[str, dict[str, Any]]]) -> None:
    """message_start, properly nested content blocks, message_delta, message_stop."""
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert names.count("message_start") == 1
    open_index: int | None = None
    next_index = 0
    for name, data in events[1:]:
        if name == "content_block_start":
            assert open_index is None, "a block started before the previous one stopped"
            assert data["index"] == next_index
            open_index = data["index"]
        elif name == "content_block_delta":
            assert data["index"] == open_index
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index, next_index = None, next_index + 1
        elif name in ("message_delta", "message_stop"):
            assert open_index is None, f"{name} inside an open content block"


def ant_turn(
    client: anthropic.Anthropic,
    *,
    stream: bool,
    model: str,
    messages: list[MessageParam],
    tools: list[ToolParam],
) -> Message:
    if stream:
        with client.messages.stream(
            model=model, max_tokens=256, messages=messages, tools=tools
        ) as events:
            return events.get_final_message()
    return client.messages.create(model=model, max_tokens=256, messages=messages, tools=tools)


def oai_turn(
    client: openai.OpenAI,
    *,
    stream: bool,
    model: str,
    messages: list[ChatCompletionMessageParam],
    tools: list[ChatCompletionToolParam],
) -> ChatCompletion:
    if stream:
        with client.chat.completions.stream(model=model, messages=messages, tools=tools) as events:
            return events.get_final_completion()
    return client.chat.completions.create(model=model, messages=messages, tools=tools)


def assert_no_client_key(call: Call, client_key: str) -> None:
    assert all(client_key not in value for value in call.headers.values())
    assert client_key not in call.raw.decode()


# --- a. anthropic SDK -> /v1/messages -> OpenAI upstream ----------------------------------------


def test_anthropic_sdk_text_from_an_openai_upstream(
    ant: anthropic.Anthropic, fake_openai: FakeOpenAI, client_key: str
) -> None:
    before = len(fake_openai.calls)
    message = ant.messages.create(
        model=GPT,
        max_tokens=256,
        system="Answer briefly.",
        messages=[{"role": "user", "content": "Say hello"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert [block.type for block in message.content] == ["text"]
    assert texts(message) == OPENAI_REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    index, call = one_call(fake_openai.calls, before)
    usage = upstream_openai_usage(fake_openai, index)
    assert message.usage.input_tokens == usage["prompt_tokens"]
    assert message.usage.output_tokens == usage["completion_tokens"]
    assert call.key == OPENAI_ACCOUNT_KEY
    assert call.model == GPT and not call.stream
    assert_no_client_key(call, client_key)
    sent = call.body["messages"]
    assert sent[0]["role"] in ("system", "developer")
    assert content_text(sent[0]["content"]) == "Answer briefly."
    assert sent[-1]["role"] == "user" and content_text(sent[-1]["content"]) == "Say hello"
    assert (call.body.get("max_tokens") or call.body.get("max_completion_tokens")) == 256


def test_anthropic_sdk_stream_from_an_openai_upstream(
    ant: anthropic.Anthropic, fake_openai: FakeOpenAI
) -> None:
    before = len(fake_openai.calls)
    with ant.messages.stream(
        model=GPT, max_tokens=256, messages=[{"role": "user", "content": "Say hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == OPENAI_REPLY
    assert texts(final) == OPENAI_REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0

    index, call = one_call(fake_openai.calls, before)
    assert call.stream and call.key == OPENAI_ACCOUNT_KEY
    # the gateway asks the upstream for usage, so it can report it in message_delta
    assert (call.body.get("stream_options") or {}).get("include_usage") is True
    usage = upstream_openai_usage(fake_openai, index)
    assert final.usage.output_tokens == usage["completion_tokens"]
    assert final.usage.input_tokens == usage["prompt_tokens"]


def test_messages_stream_from_an_openai_upstream_is_well_formed_sse(
    gateway: Gateway, client_key: str
) -> None:
    body = {
        "model": GPT,
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "Say hello"}],
    }
    headers = {"x-api-key": client_key, "anthropic-version": "2023-06-01"}
    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/messages", json=body, headers=headers, timeout=TIMEOUT_S
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = parse_anthropic_sse(raw)
    check_anthropic_event_order(events)
    start = events[0][1]["message"]
    assert start["role"] == "assistant" and start["content"] == []
    assert isinstance(start["id"], str) and start["id"]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert "".join(d["text"] for d in deltas if d["type"] == "text_delta") == OPENAI_REPLY
    message_delta = next(d for n, d in events if n == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "end_turn"
    assert message_delta["usage"]["output_tokens"] > 0


# --- b. openai SDK -> /v1/chat/completions -> Anthropic upstream --------------------------------


def test_openai_sdk_text_from_an_anthropic_upstream(
    oai: openai.OpenAI, fake_anthropic: FakeAnthropic, client_key: str
) -> None:
    before = len(fake_anthropic.calls)
    reply = oai.chat.completions.create(
        model=CLAUDE,
        max_tokens=300,
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Say hello"},
        ],
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == ANTHROPIC_REPLY
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens

    index, call = one_call(fake_anthropic.calls, before)
    upstream = upstream_anthropic_message(fake_anthropic, index)
    assert reply.usage.prompt_tokens == upstream["usage"]["input_tokens"]
    assert reply.usage.completion_tokens == upstream["usage"]["output_tokens"]
    assert call.model == CLAUDE and not call.stream
    assert call.key == ANTHROPIC_ACCOUNT_KEY
    assert header(call, "x-api-key") == ANTHROPIC_ACCOUNT_KEY
    assert header(call, "anthropic-version")
    assert_no_client_key(call, client_key)
    assert call.body["max_tokens"] == 300
    assert content_text(call.body["system"]) == "Answer briefly."
    assert [m["role"] for m in call.body["messages"]] == ["user"]
    assert content_text(call.body["messages"][0]["content"]) == "Say hello"


def test_openai_sdk_stream_from_an_anthropic_upstream(
    oai: openai.OpenAI, fake_anthropic: FakeAnthropic, client_key: str
) -> None:
    before = len(fake_anthropic.calls)
    chunks = list(
        oai.chat.completions.create(
            model=CLAUDE,
            messages=[{"role": "user", "content": "Say hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert text == ANTHROPIC_REPLY
    finishes = [c.choices[0].finish_reason for c in with_choices if c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert len({c.id for c in chunks}) == 1
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1]
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    index, call = one_call(fake_anthropic.calls, before)
    upstream = upstream_anthropic_message(fake_anthropic, index)
    assert usage.prompt_tokens == upstream["usage"]["input_tokens"]
    assert usage.completion_tokens == upstream["usage"]["output_tokens"]
    assert call.stream and call.key == ANTHROPIC_ACCOUNT_KEY
    assert header(call, "x-api-key") == ANTHROPIC_ACCOUNT_KEY
    assert header(call, "anthropic-version")
    assert_no_client_key(call, client_key)
    # Anthropic requires max_tokens: the gateway fills it in when the client gave none
    assert isinstance(call.body["max_tokens"], int) and call.body["max_tokens"] > 0


# --- c. tool use, both directions, streaming and not ------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_sdk_tool_round_trip_through_an_openai_upstream(
    ant: anthropic.Anthropic, fake_openai: FakeOpenAI, stream: bool
) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": QUESTION}]
    before = len(fake_openai.calls)
    first = ant_turn(ant, stream=stream, model=GPT, messages=messages, tools=[ANTHROPIC_TOOL])
    assert first.stop_reason == "tool_use"
    [tool_use] = tool_uses(first)
    assert tool_use.name == "get_weather"
    assert tool_use.input == {"city": "Paris"}
    assert tool_use.id

    index, call = one_call(fake_openai.calls, before)
    tools = call.body["tools"]
    assert len(tools) == 1 and tools[0]["type"] == "function"
    assert tools[0]["function"]["name"] == "get_weather"
    assert tools[0]["function"]["parameters"] == WEATHER_SCHEMA
    upstream_call_id = fake_openai.issued_tool_ids[index]

    messages += [
        {"role": "assistant", "content": as_param(first)},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": tool_use.id, "content": TOOL_RESULT}
            ],
        },
    ]
    before = len(fake_openai.calls)
    final = ant_turn(ant, stream=stream, model=GPT, messages=messages, tools=[ANTHROPIC_TOOL])
    assert final.stop_reason == "end_turn"
    assert TOOL_RESULT in texts(final)
    assert not tool_uses(final)

    _, call = one_call(fake_openai.calls, before)
    sent = call.body["messages"]
    assistant = [m for m in sent if m["role"] == "assistant"]
    assert len(assistant) == 1 and len(assistant[0]["tool_calls"]) == 1
    tool_call = assistant[0]["tool_calls"][0]
    assert tool_call["id"] == upstream_call_id
    assert tool_call["type"] == "function"
    assert tool_call["function"]["name"] == "get_weather"
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}
    assert sent[-1]["role"] == "tool"
    assert sent[-1]["tool_call_id"] == upstream_call_id
    assert content_text(sent[-1]["content"]) == TOOL_RESULT


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_sdk_tool_round_trip_through_an_anthropic_upstream(
    oai: openai.OpenAI, fake_anthropic: FakeAnthropic, stream: bool
) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
    before = len(fake_anthropic.calls)
    first = oai_turn(oai, stream=stream, model=CLAUDE, messages=messages, tools=[OPENAI_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None and len(choice.message.tool_calls) == 1
    tool_call = choice.message.tool_calls[0]
    assert tool_call.type == "function"
    assert tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}
    assert tool_call.id
    # the fake answers a short text block before the tool_use block
    assert choice.message.content == "Let me check."

    index, call = one_call(fake_anthropic.calls, before)
    tools = call.body["tools"]
    assert len(tools) == 1 and tools[0]["name"] == "get_weather"
    assert tools[0]["input_schema"] == WEATHER_SCHEMA
    upstream_use_id = fake_anthropic.issued_tool_ids[index]

    messages += [
        {
            "role": "assistant",
            "content": choice.message.content,
            "tool_calls": [
                {
                    "id": tool_call.id,
                    "type": "function",
                    "function": {
                        "name": tool_call.function.name,
                        "arguments": tool_call.function.arguments,
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": tool_call.id, "content": TOOL_RESULT},
    ]
    before = len(fake_anthropic.calls)
    final = oai_turn(oai, stream=stream, model=CLAUDE, messages=messages, tools=[OPENAI_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert TOOL_RESULT in (final.choices[0].message.content or "")
    assert not final.choices[0].message.tool_calls

    _, call = one_call(fake_anthropic.calls, before)
    sent = call.body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    uses = [b for b in sent[1]["content"] if b["type"] == "tool_use"]
    assert len(uses) == 1
    assert uses[0]["id"] == upstream_use_id
    assert uses[0]["name"] == "get_weather"
    assert uses[0]["input"] == {"city": "Paris"}
    results = [b for b in sent[2]["content"] if b["type"] == "tool_result"]
    assert len(results) == 1
    assert results[0]["tool_use_id"] == upstream_use_id
    assert content_text(results[0]["content"]) == TOOL_RESULT


# --- d. same format: passthrough -------------------------------------------------------------


@pytest.mark.parametrize("model", [CLAUDE, f"anthropic/{CLAUDE}"], ids=["plain", "prefixed"])
def test_anthropic_passthrough_is_faithful(
    gateway: Gateway, client_key: str, fake_anthropic: FakeAnthropic, model: str
) -> None:
    sent: list[bytes] = []

    def record(request: Any) -> None:  # an httpx(2) Request: the SDK's own HTTP library
        sent.append(bytes(request.read()))

    http = anthropic.DefaultHttpxClient(event_hooks={"request": [record]}, timeout=TIMEOUT_S)
    with anthropic.Anthropic(
        base_url=gateway.base_url, api_key=client_key, max_retries=0, http_client=http
    ) as client:
        before = len(fake_anthropic.calls)
        raw = client.messages.with_raw_response.create(
            model=model,
            max_tokens=64,
            system="Be brief.",
            stop_sequences=["END"],
            metadata={"user_id": "user-1"},
            messages=[{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}],
            extra_body={"temperature": 0.5, "top_k": 5},
        )
        message = raw.parse()
        received = raw.http_response.content

    index, call = one_call(fake_anthropic.calls, before)
    produced = fake_anthropic.raw_responses[index]
    assert message.id == json.loads(produced)["id"]
    assert received == produced
    assert texts(message) == ANTHROPIC_REPLY
    assert call.key == ANTHROPIC_ACCOUNT_KEY
    assert header(call, "anthropic-version")
    assert_no_client_key(call, client_key)
    client_body = json.loads(sent[-1])
    assert call.body == {**client_body, "model": CLAUDE}
    if model == CLAUDE:
        assert call.raw == sent[-1]


def test_anthropic_passthrough_stream_is_relayed_byte_for_byte(
    gateway: Gateway, client_key: str, fake_anthropic: FakeAnthropic
) -> None:
    body = json.dumps(
        {
            "model": CLAUDE,
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": "Say hello"}],
        }
    ).encode()
    headers = {
        "x-api-key": client_key,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    before = len(fake_anthropic.calls)
    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/messages", content=body, headers=headers, timeout=TIMEOUT_S
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = response.read()
    index, call = one_call(fake_anthropic.calls, before)
    assert call.raw == body
    assert received == fake_anthropic.raw_responses[index]


def test_anthropic_passthrough_stream_with_tools_accumulates(
    ant: anthropic.Anthropic, fake_anthropic: FakeAnthropic
) -> None:
    before = len(fake_anthropic.calls)
    with ant.messages.stream(
        model=CLAUDE,
        max_tokens=64,
        messages=[{"role": "user", "content": QUESTION}],
        tools=[ANTHROPIC_TOOL],
    ) as stream:
        final = stream.get_final_message()
    index, _ = one_call(fake_anthropic.calls, before)
    upstream = upstream_anthropic_message(fake_anthropic, index)
    assert final.id == upstream["id"]
    assert final.stop_reason == "tool_use"
    [tool_use] = tool_uses(final)
    assert tool_use.id == fake_anthropic.issued_tool_ids[index]
    assert tool_use.input == {"city": "Paris"}


# --- e. errors on /v1/messages in Anthropic's format -----------------------------------------


def assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["type"] == "error", payload
    assert payload["error"]["type"] == error_type, payload
    message = payload["error"]["message"]
    assert isinstance(message, str) and message
    return message


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}]}' % CLAUDE.encode(),
        b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}]}' % GPT.encode(),
        b'{"model": "%s", "max_tokens": 16, "messages": "hello"}' % CLAUDE.encode(),
        b'{"model": "%s", "max_tokens": 16, "messages": "hello"}' % GPT.encode(),
    ],
    ids=[
        "bad-json",
        "no-max-tokens-claude",
        "no-max-tokens-gpt",
        "messages-not-a-list-claude",
        "messages-not-a-list-gpt",
    ],
)
def test_bad_bodies_on_messages_get_400_in_anthropic_format(
    gateway: Gateway,
    client_key: str,
    fake_openai: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    body: bytes,
) -> None:
    before = (len(fake_openai.calls), len(fake_anthropic.calls))
    response = httpx.post(
        f"{gateway.base_url}/v1/messages",
        content=body,
        headers={
            "x-api-key": client_key,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
        },
        timeout=TIMEOUT_S,
    )
    assert_anthropic_error(response, 400, "invalid_request_error")
    assert (len(fake_openai.calls), len(fake_anthropic.calls)) == before


def test_missing_client_key_on_messages_is_401_in_anthropic_format(
    gateway: Gateway, fake_anthropic: FakeAnthropic
) -> None:
    before = len(fake_anthropic.calls)
    response = httpx.post(
        f"{gateway.base_url}/v1/messages",
        json={"model": CLAUDE, "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]},
        headers={"anthropic-version": "2023-06-01"},
        timeout=TIMEOUT_S,
    )
    assert_anthropic_error(response, 401, "authentication_error")
    assert len(fake_anthropic.calls) == before


def test_wrong_client_key_is_an_anthropic_authentication_error(gateway: Gateway) -> None:
    client = anthropic.Anthropic(
        base_url=gateway.base_url, api_key="ak_" + "0" * 48, max_retries=0, timeout=TIMEOUT_S
    )
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(
            model=CLAUDE, max_tokens=16, messages=[{"role": "user", "content": "x"}]
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"


def test_unknown_model_on_messages_is_404_not_found_error(ant: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        ant.messages.create(
            model="no-such-model", max_tokens=16, messages=[{"role": "user", "content": "x"}]
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "no-such-model" in body["error"]["message"]


# --- f. /v1/models in both formats -----------------------------------------------------------


def test_models_in_anthropic_format_with_anthropic_version(
    gateway: Gateway, client_key: str, ant: anthropic.Anthropic
) -> None:
    response = httpx.get(
        f"{gateway.base_url}/v1/models",
        headers={"x-api-key": client_key, "anthropic-version": "2023-06-01"},
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["has_more"] is False
    data = payload["data"]
    assert data and all(item["type"] == "model" and item["id"] for item in data)
    ids = [item["id"] for item in data]
    assert {GPT, CLAUDE} <= set(ids)
    assert not any("*" in i for i in ids)
    assert payload["first_id"] == ids[0] and payload["last_id"] == ids[-1]
    assert "object" not in payload
    assert {model.id for model in ant.models.list()} == set(ids)


def test_models_in_openai_format_without_anthropic_version(
    gateway: Gateway, client_key: str, oai: openai.OpenAI
) -> None:
    response = httpx.get(
        f"{gateway.base_url}/v1/models",
        headers={"Authorization": f"Bearer {client_key}"},
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "list"
    assert "has_more" not in payload
    assert all(item["object"] == "model" for item in payload["data"])
    ids = {item["id"] for item in payload["data"]}
    assert {GPT, CLAUDE} <= ids
    assert {model.id for model in oai.models.list()} == ids
