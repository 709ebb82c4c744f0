"""Counting tokens: asked of a provider with a counter through the hot path, estimated without
an account for any other; one log row either way."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from aigateway.adapters.codecs import anthropic_messages
from aigateway.adapters.codecs.anthropic_messages import AnthropicMessagesCodec
from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.token_estimate import CharacterEstimator
from aigateway.application.errors import GatewayError
from aigateway.application.use_cases.chat_request import InboundChat
from aigateway.application.use_cases.token_counting import COUNT_HEADER, TokenCounting
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.llm import Operation
from aigateway.domain.providers import ProviderKind
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown
from tests.unit.chat_world import World
from tests.unit.chat_world import chat as chat_request

COUNTED = frozenset({ProviderKind.ANTHROPIC, ProviderKind.ANTIGRAVITY})


def counting(world: World) -> TokenCounting:
    codecs = {c.format: c for c in (OpenAIChatCodec(), AnthropicMessagesCodec())}
    return TokenCounting(
        world.catalog,
        world.proxy,
        CharacterEstimator(codecs),
        world.logs,
        world.clock,
        counted_upstream=COUNTED,
    )


def count_request(model: str, text: str = "abcd" * 10, **fields: object) -> InboundChat:
    body = {"model": model, "messages": [{"role": "user", "content": text}], **fields}
    return InboundChat(
        model=model,
        stream=False,
        body=json.dumps(body).encode(),
        format=anthropic_messages.FORMAT,
        operation=Operation.COUNT_TOKENS,
        forward_headers={"anthropic-beta": "token-counting-2024-11-01"},
        query="beta=true",
    )


async def rows(world: World) -> list[RequestLogEntry]:
    await world.logs.flush()
    return world.sink.rows


async def setup(world: World) -> ClientKey:
    await world.catalog.reload()
    return world.proxy.authenticate(await world.client())


async def test_a_model_of_a_kind_without_a_counter_is_estimated_with_no_account() -> None:
    world = World()
    client = await setup(world)
    result = await counting(world).count(count_request("gpt-4o", "abcd" * 10), client)
    assert (result.status, json.loads(result.body)) == (200, {"input_tokens": 10})
    assert result.headers == {COUNT_HEADER: "estimate"} and result.request_id
    assert world.upstream.requests == []
    (row,) = await rows(world)
    assert (row.provider_id, row.account_id, row.status_code) == ("openai", None, 200)
    assert (row.prompt_tokens, row.model, row.api_key_id) == (10, "gpt-4o", client.id)


async def test_an_estimate_touches_no_account_even_when_every_one_is_cooling_down() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    world.upstream.unreachable = True
    until = world.clock.now() + timedelta(hours=1)
    for account in await world.accounts.list():
        cooldown = Cooldown(account_id=account.id, model=None, until=until)
        await world.rotation.cool_down("openai", cooldown)
    client = await setup(world)
    counter = counting(world)
    for _ in range(3):
        result = await counter.count(count_request("gpt-4o"), client)
        assert result.status == 200 and result.headers[COUNT_HEADER] == "estimate"
    assert world.upstream.requests == []
    turn = await world.rotation.turn("openai", "gpt-4o", world.clock.now())
    assert turn.counter == 1  # the first turn taken: the estimates took none
    with pytest.raises(GatewayError) as chat:  # a chat would find no account
        await world.proxy.start(chat_request(), client)
    assert chat.value.status == 429


async def test_a_kind_with_a_counter_is_asked_through_an_account_of_its_pool() -> None:
    world = World()
    await world.add_accounts("sk-ant-a", provider_id="anthropic")
    world.upstream.script["sk-ant-a"] = (200, b'{"input_tokens":12}', {})
    client = await setup(world)
    chat = count_request("claude-x")
    result = await counting(world).count(chat, client)
    assert (result.status, result.body) == (200, b'{"input_tokens":12}')
    assert result.headers[COUNT_HEADER] == "upstream"
    (sent,) = world.upstream.requests
    assert sent.url == "http://claude/v1/messages/count_tokens?beta=true"
    assert sent.body == chat.body  # passed through: no max_tokens added
    assert "token-counting-2024-11-01" in sent.headers["anthropic-beta"]
    (row,) = await rows(world)
    assert (row.provider_id, row.status_code, row.prompt_tokens) == ("anthropic", 200, 12)
    assert row.account_id is not None


async def test_a_refused_upstream_count_is_not_marked_as_a_count() -> None:
    world = World()
    await world.add_accounts("sk-ant-a", provider_id="anthropic")
    refusal = b'{"type":"error","error":{"type":"invalid_request_error","message":"no"}}'
    world.upstream.script["sk-ant-a"] = (400, refusal, {})
    client = await setup(world)
    result = await counting(world).count(count_request("claude-x"), client)
    assert result.status == 400 and COUNT_HEADER not in result.headers


async def test_an_unknown_model_is_the_404_of_a_chat() -> None:
    world = World()
    client = await setup(world)
    with pytest.raises(GatewayError) as refused:
        await counting(world).count(count_request("llama-x"), client)
    assert (refused.value.status, refused.value.message) == (404, "provider not found: llama-x")
    (row,) = await rows(world)
    assert (row.status_code, row.provider_id) == (404, None)


async def test_an_overlong_model_name_is_refused_before_resolution() -> None:
    world = World()
    client = await setup(world)
    with pytest.raises(GatewayError) as refused:
        await counting(world).count(count_request("gpt-" + "x" * 300), client)
    assert refused.value.status == 400 and refused.value.param == "model"


async def test_a_body_the_estimate_cannot_read_is_a_400_and_a_row() -> None:
    world = World()
    client = await setup(world)
    chat = count_request("gpt-4o", messages=[{"role": "user", "content": [{"type": "text"}]}])
    with pytest.raises(GatewayError) as refused:
        await counting(world).count(chat, client)
    assert refused.value.status == 400 and "text" in refused.value.message
    (row,) = await rows(world)
    assert (row.status_code, row.provider_id, row.prompt_tokens) == (400, "openai", None)
    assert row.error == refused.value.message
