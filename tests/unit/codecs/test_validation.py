"""Client bodies that are not valid requests are 400s naming the offending field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.application.errors import GatewayError
from aigateway.domain.llm import ErrorType
from tests.unit.codecs.wire import ANTHROPIC, OPENAI

_MESSAGES = [{"role": "user", "content": "hi"}]


def _anthropic(**fields: Any) -> bytes:
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": _MESSAGES}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"", None),
        (b"{", None),
        (b"[1, 2]", None),
        (_anthropic(model=...), "model"),
        (_anthropic(model="  "), "model"),
        (_anthropic(model=5), "model"),
        (_anthropic(messages=...), "messages"),
        (_anthropic(messages=[]), "messages"),
        (_anthropic(messages="hi"), "messages"),
        (_anthropic(max_tokens=...), "max_tokens"),
        (_anthropic(max_tokens="100"), "max_tokens"),
        (_anthropic(max_tokens=0), "max_tokens"),
        (_anthropic(stream="yes"), "stream"),
        (_anthropic(temperature="hot"), "temperature"),
        (_anthropic(stop_sequences="END"), "stop_sequences"),
        (_anthropic(messages=[{"role": "tool", "content": "x"}]), "messages[0].role"),
        # a system message is valid, but a conversation of system messages only is not
        (_anthropic(messages=[{"role": "system", "content": "x"}]), "messages"),
        (_anthropic(messages=[{"role": "user"}]), "messages[0].content"),
        (_anthropic(messages=[{"role": "user", "content": 7}]), "messages[0].content"),
        (
            _anthropic(messages=[{"role": "user", "content": [{"text": "no type"}]}]),
            "messages[0].content[0].type",
        ),
        (
            _anthropic(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "messages[0].content[0].text",
        ),
        (
            _anthropic(
                messages=[
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "input": {}}],
                    },
                ]
            ),
            "messages[1].content[0].name",
        ),
        (
            _anthropic(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "data": "AAAA"}}
                        ],
                    }
                ]
            ),
            "messages[0].content[0].source.media_type",
        ),
        (
            _anthropic(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [{"type": "text"}],
                            }
                        ],
                    }
                ]
            ),
            "messages[0].content[0].content[0].text",
        ),
        (_anthropic(system=[{"type": "image"}]), "system[0].type"),
        (_anthropic(system=5), "system"),
        (_anthropic(tools=[{"name": "f"}]), "tools[0].input_schema"),
        (_anthropic(tools=[{"input_schema": {}}]), "tools[0].name"),
        (_anthropic(tool_choice={"type": "sometimes"}), "tool_choice.type"),
        (_anthropic(tool_choice={"type": "tool"}), "tool_choice.name"),
        (_anthropic(thinking={"type": "enabled"}), "thinking.budget_tokens"),
        (
            _anthropic(thinking={"type": "enabled", "budget_tokens": "lots"}),
            "thinking.budget_tokens",
        ),
        (_anthropic(metadata={"user_id": 5}), "metadata.user_id"),
    ],
)
def test_anthropic_invalid_requests_are_400_naming_the_field(
    body: bytes, param: str | None
) -> None:
    with pytest.raises(GatewayError) as caught:
        ANTHROPIC.decode_request(body)
    assert caught.value.status == 400
    assert caught.value.type is ErrorType.INVALID_REQUEST
    assert caught.value.param == param
    if param is not None:
        assert param.split(".")[-1].split("[")[0] in caught.value.message


def _openai(**fields: Any) -> bytes:
    body: dict[str, Any] = {"model": "gpt-4o", "messages": _MESSAGES}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"", None),
        (b"nope", None),
        (_openai(model=...), "model"),
        (_openai(messages=[]), "messages"),
        (_openai(messages=[{"role": "robot", "content": "x"}]), "messages[0].role"),
        (_openai(messages=[{"role": "tool", "content": "x"}]), "messages[0].tool_call_id"),
        (
            _openai(messages=[{"role": "user", "content": [{"type": "image_url"}]}]),
            "messages[0].content[0].image_url",
        ),
        (
            _openai(
                messages=[
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "type": "function", "function": {}}],
                    }
                ]
            ),
            "messages[0].tool_calls[0].function.name",
        ),
        (_openai(tools=[{"type": "function"}]), "tools[0].function"),
        (_openai(tool_choice="sometimes"), "tool_choice"),
        (_openai(tool_choice={"type": "function", "function": {}}), "tool_choice.function.name"),
        (_openai(reasoning_effort="maximal"), "reasoning_effort"),
        (_openai(max_completion_tokens="10"), "max_completion_tokens"),
        (_openai(stop=5), "stop"),
    ],
)
def test_openai_invalid_requests_are_400_naming_the_field(body: bytes, param: str | None) -> None:
    with pytest.raises(GatewayError) as caught:
        OPENAI.decode_request(body)
    assert caught.value.status == 400
    assert caught.value.param == param


def test_anthropic_unknown_fields_are_kept_for_anthropic_only() -> None:
    request = ANTHROPIC.decode_request(_anthropic(service_tier="auto", container="c-1"))
    assert request.extras == {"anthropic_messages": {"service_tier": "auto", "container": "c-1"}}
    assert json.loads(ANTHROPIC.encode_request(request))["service_tier"] == "auto"
    assert "service_tier" not in json.loads(OPENAI.encode_request(request))


def test_openai_unknown_fields_are_kept_for_openai_only() -> None:
    request = OPENAI.decode_request(_openai(seed=7, logit_bias={"50256": -100}))
    assert json.loads(OPENAI.encode_request(request))["seed"] == 7
    assert "seed" not in json.loads(ANTHROPIC.encode_request(request))
