"""Anthropic `count_tokens` through the Cloud Code executor (production profile and codecs,
scripted transport): Gemini CLI's countTokens body goes up, `{"input_tokens": N}` comes back,
and refusals are decided as for a chat."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.adapters.codecs import gemini, openai_chat
from aigateway.application.errors import GatewayError
from aigateway.application.ports.upstream import Answer, ChatCall, Refusal
from aigateway.domain.llm import Operation, WireFormat
from aigateway.domain.providers import Provider
from tests.unit.chat_world import ScriptedResponse
from tests.unit.cloud_code_chat_world import (
    ANTHROPIC,
    FIRST,
    SECOND,
    Transport,
    answer_of,
    error,
    provider,
    run,
)

MODEL = "claude-sonnet-4-6"
BODY: dict[str, Any] = {
    "model": MODEL,
    "system": "You are terse.",
    "messages": [
        {"role": "user", "content": "one two three"},
        {"role": "assistant", "content": "four five"},
        {"role": "user", "content": "six"},
    ],
    "tools": [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ],
}


def count_call(
    body: dict[str, Any] | None = None,
    *,
    model: str = MODEL,
    where: Provider | None = None,
    client_format: WireFormat = ANTHROPIC,
    operation: Operation = Operation.COUNT_TOKENS,
) -> ChatCall:
    return ChatCall(
        provider=where or provider(),
        model=model,
        requested_model=model,
        body=json.dumps(body if body is not None else BODY).encode(),
        client_format=client_format,
        stream=False,
        operation=operation,
    )


def counted(total: int) -> ScriptedResponse:
    body = json.dumps({"totalTokens": total}).encode()
    return ScriptedResponse(200, body, [body], {})


async def test_count_tokens_goes_to_count_tokens_as_gemini_cli_sends_it() -> None:
    transport = Transport(first=[counted(7)])
    where = provider(models={"sonnet": MODEL})
    call = count_call(model="sonnet", where=where)
    result = await answer_of(run(transport), call)
    assert isinstance(result, Answer) and result.status == 200
    assert json.loads(result.body) == {"input_tokens": 7}
    assert result.usage is not None and result.usage.prompt_tokens == 7
    (request,) = transport.requests
    assert request.url == f"{FIRST}/v1internal:countTokens"
    sent = json.loads(request.body)
    assert list(sent) == ["request"]  # no envelope, no project
    assert sent["request"]["model"] == f"models/{MODEL}"
    contents = sent["request"]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    first = [p["text"] for p in contents[0]["parts"]]
    assert first[0] == "You are terse."
    assert "get_weather" in first[1] and first[2] == "one two three"
    assert contents[1]["parts"] == [{"text": "four five"}]


async def test_a_count_without_a_system_prompt_or_tools_is_the_messages() -> None:
    transport = Transport(first=[counted(3)])
    body = {"model": MODEL, "messages": [{"role": "user", "content": "one two three"}]}
    await answer_of(run(transport), count_call(body))
    sent = json.loads(transport.requests[0].body)
    assert sent["request"]["contents"] == [{"role": "user", "parts": [{"text": "one two three"}]}]


async def test_a_refused_count_is_a_refusal_with_anthropics_error_for_the_client() -> None:
    refusal = error(429, "RESOURCE_EXHAUSTED")
    transport = Transport(first=[refusal])
    result = await answer_of(run(transport), count_call(where=provider(base_urls=[])))
    assert isinstance(result, Refusal) and result.status == 429
    assert b"RESOURCE_EXHAUSTED" in result.body  # classified by the upstream's own answer
    assert result.client_body is not None
    assert json.loads(result.client_body)["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize("status", [429, 503])
async def test_a_count_moves_to_the_next_endpoint(status: int) -> None:
    transport = Transport(first=[error(status)], second=[counted(4)])
    result = await answer_of(run(transport), count_call())
    assert isinstance(result, Answer) and json.loads(result.body) == {"input_tokens": 4}
    assert [r.url for r in transport.requests] == [
        f"{FIRST}/v1internal:countTokens",
        f"{SECOND}/v1internal:countTokens",
    ]


async def test_an_error_inside_a_200_is_a_refusal() -> None:
    body = b'{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}'
    transport = Transport(first=[ScriptedResponse(200, body, [body], {})])
    result = await answer_of(run(transport), count_call())
    assert isinstance(result, Refusal) and "busy" in result.body.decode()


async def test_an_unreadable_count_is_a_502_in_anthropics_format() -> None:
    transport = Transport(first=[ScriptedResponse(200, b"<html>", [b"<html>"], {})])
    result = await answer_of(run(transport), count_call())
    assert isinstance(result, Answer) and result.status == 502
    assert json.loads(result.body)["type"] == "error"


async def test_a_bad_count_body_is_a_400_before_any_attempt() -> None:
    transport = Transport(first=[counted(1)])
    with pytest.raises(GatewayError) as refused:
        run(transport).prepare(count_call({"model": MODEL, "messages": []}))
    assert refused.value.status == 400
    assert transport.requests == []


@pytest.mark.parametrize(
    ("operation", "client_format"),
    [
        (Operation.EMBEDDINGS, openai_chat.FORMAT),
        (Operation.COUNT_TOKENS, gemini.FORMAT),
    ],
)
def test_what_antigravity_does_not_serve_is_a_400(
    operation: Operation, client_format: WireFormat
) -> None:
    call = count_call(operation=operation, client_format=client_format)
    with pytest.raises(GatewayError) as refused:
        run(Transport(first=[counted(1)])).prepare(call)
    assert refused.value.status == 400
    assert "antigravity" in refused.value.message
