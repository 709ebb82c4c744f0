"""Each attempt is decided on the upstream's raw answer, on the passthrough and the translated
path alike; every answer the gateway gives is logged."""

from __future__ import annotations

import msgspec
import pytest

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.application.errors import GatewayError
from aigateway.application.ports.upstream import UpstreamRequest
from aigateway.application.use_cases.admin import AccountDisabler, AccountPatch, AccountsAdmin
from aigateway.application.use_cases.proxy_chat import MAX_MODEL_NAME
from aigateway.domain.llm import WireFormat
from aigateway.domain.providers import ProviderKind
from tests.unit.chat_world import World, chat, used_keys

ANTHROPIC = anthropic_messages.FORMAT


async def rows(world: World) -> list[tuple[int, str | None]]:
    assert await world.logs.flush()
    return [(r.status_code, r.error) for r in world.sink.rows]


async def test_an_error_inside_a_200_fails_over_on_the_translated_path() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b", provider_id="anthropic")
    world.upstream.script = {"sk-a": "error-in-200"}
    client = world.proxy.authenticate(await world.client())
    for _ in range(2):  # whichever account comes first, the client gets the real answer
        result = await world.proxy.start(chat("claude-x"), client)
        answer = msgspec.json.decode(result.body)
        assert result.status == 200
        assert answer["choices"][0]["message"]["content"] == "hello"
    assert "sk-a" in used_keys(world)


async def test_the_last_error_inside_a_200_is_a_502_not_an_empty_success() -> None:
    world = World()
    await world.add_accounts("sk-a", provider_id="anthropic")
    world.upstream.script = {"sk-a": "error-in-200"}
    client = world.proxy.authenticate(await world.client())
    with pytest.raises(GatewayError) as caught:
        await world.proxy.start(chat("claude-x"), client)
    assert caught.value.status == 502
    assert (await rows(world))[-1][0] == 502


@pytest.mark.parametrize(
    ("model", "provider", "format"),
    [
        ("gpt-4o", "openai", openai_chat.FORMAT),  # passthrough
        ("claude-x", "anthropic", ANTHROPIC),  # passthrough
        ("claude-x", "anthropic", openai_chat.FORMAT),  # translated
        ("gpt-4o", "openai", ANTHROPIC),  # translated
    ],
)
@pytest.mark.parametrize("plan", ["error-in-200", "empty"])
async def test_a_stream_that_starts_with_an_error_or_nothing_fails_over(
    model: str, provider: str, format: WireFormat, plan: str
) -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b", provider_id=provider)
    world.upstream.script = {"sk-a": plan}
    client = world.proxy.authenticate(await world.client())
    for _ in range(2):
        result = await world.proxy.start(chat(model, stream=True, format=format), client)
        assert result.chunks is not None
        body = b"".join([c async for c in result.chunks])
        assert b"error" not in body
        assert b"hello" in body or b"hi" in body
    assert used_keys(world).count("sk-a") >= 1
    assert {status for status, _ in await rows(world)} == {200}


async def test_an_undecodable_upstream_stream_is_a_logged_502_not_a_disconnect() -> None:
    world = World()
    await world.add_accounts("sk-a", provider_id="anthropic")
    deep = b"[" * 100_000 + b"]" * 100_000
    start, block = world_stream_head()
    world.upstream.script = {
        "sk-a": [
            start,
            b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
            b'"content_block":{"type":"tool_use","id":"t1","name":"f","input":{"a":%s}}}\n\n'
            % deep,
            block,
        ]
    }
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat("claude-x", stream=True), client)
    assert result.chunks is not None
    body = b"".join([c async for c in result.chunks])
    assert b'"error"' in body
    (status, error), *_ = await rows(world)
    assert status == 502 and error is not None and "client disconnected" not in error


def world_stream_head() -> tuple[bytes, bytes]:
    from tests.unit.chat_world import ANTHROPIC_STREAM

    return ANTHROPIC_STREAM[0], ANTHROPIC_STREAM[3]


async def test_untranslatable_requests_and_unsupported_kinds_are_logged() -> None:
    world = World()
    await world.add_accounts("sk-a", provider_id="anthropic")
    client = world.proxy.authenticate(await world.client())
    audio = '[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]'
    with pytest.raises(GatewayError) as untranslatable:
        await world.proxy.start(chat("claude-x", content=audio), client)
    assert untranslatable.value.status == 400
    del world.proxy._executors[ProviderKind.ANTHROPIC]  # type: ignore[attr-defined]
    with pytest.raises(GatewayError) as unsupported:
        await world.proxy.start(chat("claude-x"), client)
    assert unsupported.value.status == 501
    assert [status for status, _ in await rows(world)] == [400, 501]
    assert world.upstream.requests == []


async def test_an_over_long_model_name_is_refused_and_logged() -> None:
    world = World()
    await world.add_accounts("sk-a")
    client = world.proxy.authenticate(await world.client())
    name = "gpt-" + "x" * MAX_MODEL_NAME
    with pytest.raises(GatewayError) as caught:
        await world.proxy.start(chat(name), client)
    assert caught.value.status == 400 and str(MAX_MODEL_NAME) in caught.value.message
    assert [status for status, _ in await rows(world)] == [400]
    assert world.upstream.requests == []
    assert world.rotation.turn_now("openai", name, world.clock.now()).counter == 1


async def test_passthrough_forwards_beta_headers_and_query_translation_does_not() -> None:
    world = World()
    await world.add_accounts("sk-a", provider_id="anthropic")
    client = world.proxy.authenticate(await world.client())
    beta = {"anthropic-beta": "interleaved-thinking-2025-05-14"}
    same = chat("claude-x", format=ANTHROPIC, forward_headers=beta, query="beta=true")
    await world.proxy.start(same, client)
    other = chat("claude-x", forward_headers=beta, query="beta=true")
    await world.proxy.start(other, client)
    passthrough, translated = world.upstream.requests
    assert passthrough.url == "http://claude/v1/messages?beta=true"
    assert passthrough.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert translated.url == "http://claude/v1/messages"
    assert "anthropic-beta" not in translated.headers


async def test_the_model_name_is_spliced_into_passthrough_bytes() -> None:
    world = World()
    await world.add_accounts("sk-a")
    client = world.proxy.authenticate(await world.client())
    body = b'{"model": "openai/gpt-4o", "temperature": 1.0e0, "messages": []}'
    from aigateway.application.use_cases.chat_request import InboundChat

    await world.proxy.start(
        InboundChat(model="openai/gpt-4o", stream=False, body=body, format=openai_chat.FORMAT),
        client,
    )
    (sent,) = world.upstream.requests
    assert sent.body == b'{"model":"gpt-4o","temperature":1.0e0,"messages":[]}'


async def test_a_first_line_over_the_sse_cap_is_relayed_not_a_500() -> None:
    world = World()
    await world.add_accounts("sk-a")
    huge = b"data: " + b"x" * (9 << 20)  # no newline: a line past the 8 MiB SSE cap
    world.upstream.script = {"sk-a": [huge]}
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(stream=True), client)
    assert result.chunks is not None
    assert b"".join([c async for c in result.chunks]) == huge


async def test_a_rotated_key_starts_without_the_old_keys_cooldowns() -> None:
    world = World()
    await world.add_accounts("sk-old")
    denied = b'{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}'
    world.upstream.script["sk-old"] = (401, denied, {})
    client = world.proxy.authenticate(await world.client())
    revoked = await world.proxy.start(chat(), client)  # the account rests account-wide
    assert revoked.status == 401
    (account,) = await world.accounts.list()
    admin = AccountsAdmin(world.accounts, world.uow, world.clock, world.rotation)
    assert await admin.cooldowns(account.id)
    await admin.update(account.id, AccountPatch(auth_data={"api_key": "sk-new"}))
    assert await admin.cooldowns(account.id) == []
    result = await world.proxy.start(chat(), client)
    assert result.status == 200 and used_keys(world)[-1] == "sk-new"


@pytest.mark.parametrize(("plan", "scope"), [("timeout", "gpt-4o"), ("unreachable", None)])
async def test_a_timeout_cools_the_model_and_a_refused_connection_the_account(
    plan: str, scope: str | None
) -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    world.upstream.script = {"sk-a": plan}
    client = world.proxy.authenticate(await world.client())
    for _ in range(2):  # whichever account is first, the request is answered
        assert (await world.proxy.start(chat(), client)).status == 200
    (cooling,) = world.rotation.turn_now("openai", "gpt-4o", world.clock.now()).cooling
    assert cooling.model == scope


async def test_a_passthrough_stream_broken_inside_an_event_still_ends_with_a_readable_error() -> (
    None
):
    from aigateway.adapters.codecs.sse import SSEParser
    from tests.unit.chat_world import STREAM

    world = World()
    await world.add_accounts("sk-a")
    world.upstream.script = {"sk-a": [STREAM[0], b'data: {"id":"c1","choi']}
    world.upstream.fail_mid_stream = True
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(stream=True), client)
    assert result.chunks is not None
    parser = SSEParser()
    events = parser.feed(b"".join([c async for c in result.chunks])) + parser.finish()
    errors = [e for e in events if b'"error"' in e.data]
    assert errors and msgspec.json.decode(errors[0].data)["error"]["message"]


async def test_a_refusal_of_a_key_replaced_meanwhile_neither_cools_nor_disables() -> None:
    world = World()
    await world.add_accounts("sk-old", "sk-other")
    denied = b'{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}'
    world.upstream.script["sk-old"] = (401, denied, {})
    (old,) = [a for a in await world.accounts.list() if a.credential.secret == "sk-old"]
    admin = AccountsAdmin(world.accounts, world.uow, world.clock, world.rotation)
    world.proxy._disable_account = disabler = AccountDisabler(admin)

    async def rotate(request: UpstreamRequest) -> None:
        if request.headers.get("Authorization") == "Bearer sk-old":  # while it is in flight
            await admin.update(old.id, AccountPatch(auth_data={"api_key": "sk-new"}))

    world.upstream.before_answer = rotate
    client = world.proxy.authenticate(await world.client())
    for _ in range(2):
        assert (await world.proxy.start(chat(), client)).status == 200
    await disabler.drain()
    assert await admin.cooldowns(old.id) == []
    (rotated,) = [a for a in await world.accounts.list() if a.id == old.id]
    assert rotated.disabled_reason is None and rotated.credential.secret == "sk-new"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_error_inside_a_200_about_the_request_goes_to_the_client_and_cools_nothing(
    stream: bool,
) -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    error = b'{"error":{"message":"prompt is too long","code":400,"type":"invalid_request_error"}}'
    world.upstream.script = {
        key: [b": OPENROUTER PROCESSING\n\n", b"data: %s\n\n" % error]
        if stream
        else (200, error, {})
        for key in ("sk-a", "sk-b")
    }
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(stream=stream), client)
    assert result.status == 400 and b"prompt is too long" in result.body
    assert len(world.upstream.requests) == 1  # not retried, on no account
    assert world.rotation.turn_now("openai", "gpt-4o", world.clock.now()).cooling == ()


async def test_provider_prefixed_names_it_does_not_list_share_one_rotation_key() -> None:
    from aigateway.domain.routing.resolution import UNLISTED

    world = World()
    await world.add_accounts("sk-a", "sk-b")
    client = world.proxy.authenticate(await world.client())
    for i in range(4):  # client-chosen names: each reaches the upstream, none gets its own state
        assert (await world.proxy.start(chat(f"openai/made-up-{i}"), client)).status == 200
    now = world.clock.now()
    assert world.rotation.turn_now("openai", UNLISTED, now).counter == 5
    assert world.rotation.turn_now("openai", "made-up-0", now).counter == 1
    assert [r.url for r in world.upstream.requests][:1] == ["http://up/v1/chat/completions"]
    assert sorted(set(used_keys(world))) == ["sk-a", "sk-b"]  # and still rotate


async def test_a_client_leaving_between_attempts_still_gets_its_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    world = World()
    await world.add_accounts("sk-a")
    client = world.proxy.authenticate(await world.client())
    entered = asyncio.Event()

    async def slow_turn(*_: object) -> None:
        entered.set()
        await asyncio.Event().wait()  # Redis is slow to answer the rotation round trip

    monkeypatch.setattr(world.rotation, "turn", slow_turn)
    request = asyncio.ensure_future(world.proxy.start(chat(), client))
    await asyncio.wait_for(entered.wait(), 5)
    request.cancel()  # the client hangs up meanwhile
    with pytest.raises(asyncio.CancelledError):
        await request
    assert [status for status, _ in await rows(world)] == [499]


async def test_a_stream_cancelled_before_its_first_send_closes_the_upstream_and_logs() -> None:
    import asyncio

    from aigateway.entrypoints.http.gateway import _stream

    world = World()
    await world.add_accounts("sk-a")
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(stream=True), client)

    async def send(_: dict[str, object]) -> None:
        raise asyncio.CancelledError  # the client went away while the headers were written

    with pytest.raises(asyncio.CancelledError):
        await _stream(send, result, (b"x-request-id", b"r"))
    assert world.upstream.responses[0].closed
    assert [status for status, _ in await rows(world)] == [499]
