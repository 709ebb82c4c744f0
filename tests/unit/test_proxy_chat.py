"""The hot path with in-memory adapters and a scripted transport: no network, no database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from aigateway.adapters.codecs import openai_chat
from aigateway.adapters.memory.coordination import NoStatsCounters
from aigateway.application.errors import GatewayError
from aigateway.application.use_cases.admin import (
    AccountDisabler,
    AccountsAdmin,
    ClientKeysAdmin,
    NewClientKey,
)
from aigateway.application.use_cases.chat_request import InboundChat
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.request_log import RequestLogEntry
from tests.doubles.repositories import InMemoryRequestLogSink
from tests.unit.chat_world import OK_BODY, STREAM, World, chat, used_keys


async def test_requests_rotate_and_are_logged_with_usage() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b", "sk-c")
    client = world.proxy.authenticate(await world.client())
    for _ in range(6):
        result = await world.proxy.start(chat(), client)
        assert (result.status, result.body) == (200, OK_BODY)
    used = world.upstream.keys
    assert sorted(used[:3]) == ["sk-a", "sk-b", "sk-c"] and used[3:] == used[:3]
    assert all(e.closed for e in world.upstream.responses)
    assert await world.logs.flush()
    rows = world.sink.rows
    assert len(rows) == 6
    assert {(r.status_code, r.prompt_tokens, r.completion_tokens) for r in rows} == {(200, 3, 4)}
    assert all(r.api_key_id == client.id for r in rows)
    assert sum(a.usage_count for a in await world.accounts.list()) == 6


async def test_streams_are_relayed_and_logged_when_they_end() -> None:
    world = World()
    await world.add_accounts("sk-a")
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(stream=True), client)
    assert result.chunks is not None
    world.clock.t += 0.25
    assert b"".join([c async for c in result.chunks]) == b"".join(STREAM)
    await world.logs.flush()
    (row,) = world.sink.rows
    assert row.stream and row.status_code == 200
    assert (row.prompt_tokens, row.completion_tokens) == (5, 6)
    assert row.ttfb_ms == 250
    assert world.upstream.responses[0].closed


async def test_a_stream_that_breaks_ends_with_an_error_event_and_an_error_row() -> None:
    world = World()
    await world.add_accounts("sk-a")
    world.upstream.fail_mid_stream = True
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(stream=True), client)
    assert result.chunks is not None
    chunks = [c async for c in result.chunks]
    assert b"connection reset" in chunks[-1]
    await world.logs.flush()
    assert world.sink.rows[0].status_code == 502


async def test_unknown_model_no_accounts_and_unreachable_upstream() -> None:
    world = World()
    client = world.proxy.authenticate(await world.client())
    with pytest.raises(GatewayError) as unknown:
        await world.proxy.start(chat("llama-x"), client)
    assert (unknown.value.status, unknown.value.message) == (404, "provider not found: llama-x")
    with pytest.raises(GatewayError) as empty:
        await world.proxy.start(chat(), client)
    assert empty.value.status == 503
    assert empty.value.message == "no available accounts for provider openai"
    await world.add_accounts("sk-a")
    world.upstream.unreachable = True
    with pytest.raises(GatewayError) as down:
        await world.proxy.start(chat(), client)
    assert down.value.status == 502
    await world.logs.flush()
    assert [r.status_code for r in world.sink.rows] == [404, 503, 502]


async def test_content_the_upstream_format_cannot_carry_is_a_400_before_any_attempt() -> None:
    world = World()
    await world.add_accounts("sk-claude", provider_id="anthropic")
    client = world.proxy.authenticate(await world.client())
    body = b'{"model":"claude-x","logprobs":true,"messages":[{"role":"user","content":"hi"}]}'
    inbound = InboundChat(model="claude-x", stream=False, body=body, format=openai_chat.FORMAT)
    with pytest.raises(GatewayError) as refused:
        await world.proxy.start(inbound, client)
    assert (refused.value.status, refused.value.code) == (400, "unsupported_content")
    assert "logprobs" in refused.value.message and "Anthropic Messages" in refused.value.message
    assert world.upstream.keys == []
    await world.logs.flush()
    assert [(r.status_code, r.provider_id) for r in world.sink.rows] == [(400, "anthropic")]


async def test_authentication() -> None:
    world = World()
    token = await world.client()
    assert world.proxy.authenticate(token).prefix == token[:10]
    for bad in (None, "", "ak_wrong", "' OR '1'='1"):
        with pytest.raises(GatewayError) as caught:
            world.proxy.authenticate(bad)
        assert caught.value.status == 401


async def test_disabled_and_inactive_accounts_are_skipped() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    admin = AccountsAdmin(world.accounts, world.uow, world.clock)
    target = next(a for a in await world.accounts.list() if a.credential.secret == "sk-b")
    from aigateway.application.use_cases.admin import AccountPatch

    await admin.update(target.id, AccountPatch(is_active=False))
    client = world.proxy.authenticate(await world.client())
    for _ in range(4):
        await world.proxy.start(chat(), client)
    assert set(world.upstream.keys) == {"sk-a"}


async def test_upstream_errors_pass_through_and_the_log_never_holds_the_key() -> None:
    world = World()
    await world.add_accounts("sk-account-secret-value")
    world.upstream.status = 401
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(), client)
    assert result.status == 401
    assert b"sk-account-secret-value" not in result.body
    assert b"[redacted]" in result.body
    await world.logs.flush()
    (row,) = world.sink.rows
    assert row.error == "bad key [redacted]"


async def test_a_steady_trickle_of_requests_is_written_in_few_batches() -> None:
    class SlowSink(InMemoryRequestLogSink):
        writes = 0

        async def write(self, entries: Sequence[RequestLogEntry]) -> None:
            self.writes += 1
            await asyncio.sleep(0.01)  # a database round trip
            await super().write(entries)

    world = World()
    sink = SlowSink()
    logs = RequestLogQueue(
        sink, NoStatsCounters(), world.accounts, world.keys, flush_interval_s=0.2
    )
    writer = asyncio.create_task(logs.run())
    for i in range(400):  # a row every 2+ ms for about a second
        logs.enqueue(entry(i))
        await asyncio.sleep(0.002)
    logs.stop()  # as shutdown does: a cancelled write may be written again by the flush
    await asyncio.wait_for(writer, 5)
    assert await logs.flush()
    assert len(sink.rows) == 400
    assert sink.writes <= 10  # about one per flush interval, not one per few rows


def entry(i: int) -> RequestLogEntry:
    return RequestLogEntry(
        request_id=str(i),
        created_at=datetime.now(UTC),
        api_key_id=None,
        provider_id=None,
        account_id=None,
        proxy_id=None,
        model="m",
        stream=False,
        status_code=200,
        latency_ms=1,
    )


async def test_a_revoked_key_stops_working_even_after_it_was_used() -> None:
    world = World()
    keys_admin = ClientKeysAdmin(world.keys, world.uow, world.clock)
    issued = await keys_admin.create(NewClientKey(label="soon revoked"))
    assert world.proxy.authenticate(issued.plaintext).id == issued.key.id
    assert world.proxy.authenticate(issued.plaintext).id == issued.key.id
    await keys_admin.revoke(issued.key.id)
    with pytest.raises(GatewayError) as caught:
        world.proxy.authenticate(issued.plaintext)
    assert caught.value.status == 401


async def test_429_with_retry_after_fails_over_and_cools_the_account_down() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    limited = b'{"error":{"message":"slow down","type":"rate_limit_error"}}'
    world.upstream.script["sk-a"] = (429, limited, {"retry-after": "30"})
    client = world.proxy.authenticate(await world.client())
    results = [await world.proxy.start(chat(), client) for _ in range(6)]
    assert [r.status for r in results] == [200] * 6
    assert used_keys(world).count("sk-a") == 1  # tried once, then skipped while cooling
    world.clock.t += 29
    await world.proxy.start(chat(), client)
    assert used_keys(world).count("sk-a") == 1
    world.clock.t += 2  # 31 s later the cooldown is over
    del world.upstream.script["sk-a"]
    for _ in range(2):
        await world.proxy.start(chat(), client)
    assert used_keys(world).count("sk-a") == 2
    await world.logs.flush()
    failed_over = [r for r in world.sink.rows if r.retry_count]
    assert len(failed_over) == 1
    assert failed_over[0].switched_from_account_id is not None
    assert failed_over[0].account_id != failed_over[0].switched_from_account_id


async def test_client_errors_are_never_retried() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    bad = b'{"error":{"message":"messages: field required","type":"invalid_request_error"}}'
    world.upstream.script = {k: (400, bad, {}) for k in ("sk-a", "sk-b")}
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(), client)
    assert (result.status, result.body) == (400, bad)
    assert len(world.upstream.requests) == 1


async def test_server_errors_exhaust_the_budget_then_reach_the_client() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b", "sk-c", "sk-d")
    boom = b'{"error":{"message":"upstream exploded","type":"server_error"}}'
    world.upstream.script = {k: (500, boom, {}) for k in ("sk-a", "sk-b", "sk-c", "sk-d")}
    client = world.proxy.authenticate(await world.client())
    result = await world.proxy.start(chat(), client)
    assert result.status == 500
    assert len(set(used_keys(world))) == 3  # the default budget: three accounts
    await world.logs.flush()
    assert world.sink.rows[-1].retry_count == 2


async def test_network_errors_empty_streams_and_errors_inside_200_move_on() -> None:
    for plan in ("unreachable", "error-in-200"):
        world = World()
        await world.add_accounts("sk-a", "sk-b")
        world.upstream.script = {"sk-a": plan}
        client = world.proxy.authenticate(await world.client())
        for _ in range(2):  # whichever account comes first, the client gets the answer
            result = await world.proxy.start(chat(), client)
            assert (result.status, result.body) == (200, OK_BODY)
        assert "sk-a" in used_keys(world)
        if plan == "error-in-200":  # retried once on the same account before moving on
            assert used_keys(world).count("sk-a") == 2

    world2 = World()
    await world2.add_accounts("sk-a", "sk-b")
    world2.upstream.script = {"sk-a": "empty"}
    client2 = world2.proxy.authenticate(await world2.client())
    for _ in range(2):  # whichever account comes first, the stream arrives whole
        streamed = await world2.proxy.start(chat(stream=True), client2)
        assert streamed.chunks is not None
        assert b"".join([c async for c in streamed.chunks]) == b"".join(STREAM)
    assert "sk-a" in used_keys(world2)


async def test_every_account_cooling_is_429_with_the_soonest_reset() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    world.upstream.script = {
        "sk-a": (429, b'{"error":{"message":"slow"}}', {"retry-after": "40"}),
        "sk-b": (429, b'{"error":{"message":"slow"}}', {"retry-after": "20"}),
    }
    client = world.proxy.authenticate(await world.client())
    first = await world.proxy.start(chat(), client)
    assert first.status == 429  # both tried: the client sees the upstream's answer
    assert first.headers["Retry-After"] in {"20", "40"}
    with pytest.raises(GatewayError) as caught:
        await world.proxy.start(chat(), client)
    assert caught.value.status == 429
    assert caught.value.headers == {"Retry-After": "20"}
    assert len(world.upstream.requests) == 2


async def test_a_revoked_api_key_disables_the_account_and_the_request_moves_on() -> None:
    world = World()
    await world.add_accounts("sk-a", "sk-b")
    denied = b'{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}'
    world.upstream.script["sk-a"] = (401, denied, {})
    admin = AccountsAdmin(world.accounts, world.uow, world.clock)
    world.proxy._disable_account = disabler = AccountDisabler(admin)
    client = world.proxy.authenticate(await world.client())
    results = [await world.proxy.start(chat(), client) for _ in range(2)]
    assert [r.status for r in results] == [200, 200]
    await disabler.drain()  # the background disable
    disabled = [a for a in await world.accounts.list() if a.disabled_reason]
    assert [a.credential.secret for a in disabled] == ["sk-a"]
    assert "sk-a" not in {a.credential.secret for a in world.catalog.current.accounts_for("openai")}
