"""The fake Responses upstream speaks the real wire format (the openai SDK parses its answers
and streams) and refuses what a bad translation would send it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.openai_responses import FakeResponses

KEY = "sk-fake-responses-0001"
QUESTION = "What is the weather in Paris?"
TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeResponses]:
    with FakeResponses(keys=frozenset({KEY}), reasoning="Weather means a tool.") as server:
        yield server


@pytest.fixture
def client(fake: FakeResponses) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_round_trip_with_encrypted_reasoning(
    client: openai.OpenAI, fake: FakeResponses, stream: bool
) -> None:
    extra: dict[str, Any] = {"include": ["reasoning.encrypted_content"], "store": False}
    first = client.responses.create(model="m", input=QUESTION, tools=[TOOL], **extra)
    reasoning, call = first.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content in fake.issued_reasoning
    assert call.type == "function_call" and call.name == "get_weather"
    history: list[Any] = [
        {"role": "user", "content": QUESTION},
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Weather means a tool."}],
            "encrypted_content": reasoning.encrypted_content,
        },
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"},
    ]
    if stream:
        with client.responses.stream(model="m", input=history, tools=[TOOL], **extra) as events:
            kinds = [event.type for event in events]
            second = events.get_final_response()
        assert kinds[:2] == ["response.created", "response.in_progress"]
        assert kinds[-1] == "response.completed"
    else:
        second = client.responses.create(model="m", input=history, tools=[TOOL], **extra)
    assert second.output_text == "The tool said: Sunny"
    assert second.usage is not None and second.usage.output_tokens_details.reasoning_tokens > 0


REFUSED: list[tuple[str, dict[str, Any], str | None]] = [
    ("stored state", {"previous_response_id": "resp_1"}, "previous_response_id"),
    ("store true", {"store": True}, "store"),
    ("a Chat field", {"messages": []}, "messages"),
    (
        "a Chat tool",
        {"tools": [{"type": "function", "function": {"name": "f"}}]},
        "tools[0].function",
    ),
    (
        "a Chat part",
        {"input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
        "input[0].content[0]",
    ),
    (
        "an orphan output",
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "function_call_output", "call_id": "c1", "output": "y"},
            ]
        },
        "input[1]",
    ),
    (
        "an unanswered call",
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            ]
        },
        None,
    ),
    (
        "object arguments",
        {"input": [{"type": "function_call", "call_id": "c1", "name": "f", "arguments": {}}]},
        "input[0].arguments",
    ),
    (
        "foreign reasoning",
        {
            "input": [
                {"type": "reasoning", "summary": [], "encrypted_content": "from-elsewhere"},
                {"role": "user", "content": "x"},
            ]
        },
        "input[0]",
    ),
    ("unsigned reasoning", {"input": [{"type": "reasoning", "summary": []}]}, "input[0]"),
    ("a stored item", {"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
    ("a tiny limit", {"max_output_tokens": 8}, "max_output_tokens"),
]


@pytest.mark.parametrize(("extra", "param"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_bodies_the_real_service_refuses_are_400s(
    client: openai.OpenAI, extra: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="m", input="x", extra_body=extra)
    assert caught.value.param == param


def test_an_unknown_key_is_a_401(fake: FakeResponses) -> None:
    with (
        openai.OpenAI(base_url=fake.base_url, api_key="sk-other", max_retries=0) as other,
        pytest.raises(openai.AuthenticationError),
    ):
        other.responses.create(model="m", input="x")
    assert fake.calls[-1].key == "sk-other"


def test_a_scripted_error_is_answered_with_its_headers(
    client: openai.OpenAI, fake: FakeResponses
) -> None:
    fake.errors[KEY] = (429, {"error": {"message": "Rate limit reached", "type": "requests"}})
    fake.error_headers[KEY] = {"Retry-After": "7"}
    try:
        with pytest.raises(openai.RateLimitError) as caught:
            client.responses.create(model="m", input="x")
        assert caught.value.response.headers["retry-after"] == "7"
    finally:
        del fake.errors[KEY], fake.error_headers[KEY]
