"""The estimate of a request's input tokens: four characters a token over everything the model
reads, a fixed cost per image, one linear pass over the body."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.anthropic_messages import AnthropicMessagesCodec
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.token_estimate import IMAGE_TOKENS, CharacterEstimator
from aigateway.application.errors import GatewayError

ESTIMATOR = CharacterEstimator({c.format: c for c in (OpenAIChatCodec(), AnthropicMessagesCodec())})
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PIXEL = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def estimate(messages: list[dict[str, Any]], **fields: Any) -> int:
    body = {"model": "claude-x", "messages": messages, **fields}
    return ESTIMATOR.estimate(json.dumps(body).encode(), anthropic_messages.FORMAT)


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def test_four_characters_make_a_token_rounded_up() -> None:
    assert estimate(user("abcd" * 100)) == 100
    assert estimate(user("abcd" * 100 + "e")) == 101
    assert estimate(user("hi")) == 1


@given(st.text(max_size=300), st.text(min_size=1, max_size=300))
def test_more_text_is_never_fewer_tokens(text: str, more: str) -> None:
    shorter = estimate(user([{"type": "text", "text": text or "x"}]))
    longer = estimate(user([{"type": "text", "text": (text or "x") + more}]))
    assert longer >= shorter
    assert longer - shorter <= -(-len(more) // 4)


def test_the_system_prompt_counts() -> None:
    assert estimate(user("y" * 40), system="x" * 40) == 20
    blocks = [{"type": "text", "text": "x" * 40}, {"type": "text", "text": "z" * 40}]
    assert estimate(user("y" * 40), system=blocks) == 30


def test_tool_definitions_count_their_name_description_and_schema() -> None:
    bare = estimate(user("y" * 40))
    tool = {"name": "get_weather", "input_schema": SCHEMA}
    schema_chars = len(json.dumps(SCHEMA, separators=(",", ":")))
    with_tool = estimate(user("y" * 40), tools=[tool])
    assert with_tool == -(-(40 + len("get_weather") + schema_chars) // 4)
    described = estimate(user("y" * 40), tools=[{**tool, "description": "d" * 400}])
    assert described == with_tool + 100 and with_tool > bare


def test_tool_calls_and_results_count() -> None:
    question = user("y" * 40)
    call = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"q": "z" * 40}}],
    }
    result = user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "r" * 400}])
    without = estimate(question)
    arguments = len('{"q":""}') + 40 + len("f")
    assert estimate([*question, call, *result]) == -(-(40 + arguments + 400) // 4)
    assert estimate([*question, call, *result]) > without


def test_each_image_costs_a_fixed_number_of_tokens() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
    }
    text = {"type": "text", "text": "abcd"}
    assert estimate(user([text, image])) == 1 + IMAGE_TOKENS
    assert estimate(user([text, image, image])) == 1 + 2 * IMAGE_TOKENS
    in_result = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [image]}]
    call = {"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}
    messages = [*user("abcd"), {"role": "assistant", "content": [call]}, *user(in_result)]
    assert estimate(messages) >= IMAGE_TOKENS


@pytest.mark.parametrize(
    "fields",
    [
        {"thinking": {"type": "enabled", "budget_tokens": 2000}},
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
        {"cache_control": {"type": "ephemeral"}},
        {"context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}},
        {"mcp_servers": [{"type": "url", "url": "https://mcp.example", "name": "docs"}]},
        {"tool_choice": {"type": "auto"}},
    ],
)
def test_the_fields_of_a_count_request_are_taken_without_max_tokens(fields: Any) -> None:
    assert estimate(user("abcd" * 10), **fields) == 10


def test_a_chat_completions_body_is_counted_by_the_same_rule() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "x" * 40},
            {"role": "user", "content": "y" * 40},
        ],
    }
    assert ESTIMATOR.estimate(json.dumps(body).encode(), openai_chat.FORMAT) == 20


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"model": "claude-x", "messages": []}',
        b'{"model": "claude-x", "messages": [{"role": "user", "content": [{"type": "text"}]}]}',
        b'{"model": "claude-x", "messages": [{"role": "robot", "content": "hi"}]}',
        b'{"model": "claude-x", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_a_body_that_cannot_be_read_is_a_400(body: bytes) -> None:
    with pytest.raises(GatewayError) as refused:
        ESTIMATOR.estimate(body, anthropic_messages.FORMAT)
    assert refused.value.status == 400


def test_a_huge_request_is_counted_in_one_pass() -> None:
    turns = [
        {"role": role, "content": "abcd" * 250}
        for _ in range(5_000)
        for role in ("user", "assistant")
    ]  # 10 MB of text in 10,000 turns
    body = json.dumps({"model": "claude-x", "messages": turns}).encode()
    started = time.monotonic()
    assert ESTIMATOR.estimate(body, anthropic_messages.FORMAT) == 10_000 * 250
    assert time.monotonic() - started < 5
