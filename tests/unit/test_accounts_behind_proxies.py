"""The hot path with a proxy pool: each account's calls go through its own proxy, an account
whose proxy cannot serve is not used, and nothing leaves directly unless allowed."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import pytest

from aigateway.application.errors import GatewayError
from aigateway.application.use_cases.proxy_assignments import ProxyAssignments
from aigateway.domain.proxies import (
    DirectEgress,
    Proxy,
    ProxyHealth,
    Route,
    parse_proxy_url,
)
from tests.unit.chat_world import World, chat


async def pool(world: World, *healths: ProxyHealth) -> list[Proxy]:
    """One proxy per health given, in id order."""
    return [
        await world.proxies.add(
            Proxy(
                id=0,
                endpoint=parse_proxy_url(f"http://u:pw-{n}@10.0.0.{n}:3128"),
                health=health,
            )
        )
        for n, health in enumerate(healths, start=1)
    ]


async def place(world: World, **keys_to_proxy: int | None) -> None:
    """Accounts by key (sk-<name>), each behind the proxy given."""
    await world.add_accounts(*(f"sk-{name}" for name in keys_to_proxy))
    by_key = {a.credential.secret: a.id for a in await world.accounts.list()}
    await world.accounts.assign_proxies(
        {by_key[f"sk-{name}"]: proxy for name, proxy in keys_to_proxy.items()}
    )
    await world.catalog.reload()


async def test_each_account_goes_out_through_its_own_proxy_and_is_logged_with_it() -> None:
    world = World()
    one, two = await pool(world, ProxyHealth.HEALTHY, ProxyHealth.HEALTHY)
    await place(world, a=one.id, b=two.id)
    client = world.proxy.authenticate(await world.client())
    for _ in range(4):
        assert (await world.proxy.start(chat(), client)).status == 200
    sent = {(r.headers["Authorization"][7:], r.route.proxy_id) for r in world.upstream.requests}
    assert sent == {("sk-a", one.id), ("sk-b", two.id)}
    assert all(r.route.endpoint is not None for r in world.upstream.requests)
    await world.logs.flush()
    assert sorted(r.proxy_id or 0 for r in world.sink.rows) == [one.id, one.id, two.id, two.id]


async def test_an_account_whose_proxy_is_down_or_disabled_is_not_used() -> None:
    world = World()
    up, down, off = await pool(world, ProxyHealth.HEALTHY, ProxyHealth.DOWN, ProxyHealth.HEALTHY)
    await world.proxies.update(msgspec.structs.replace(off, is_active=False))
    await place(world, a=up.id, b=down.id, c=off.id, d=None)
    client = world.proxy.authenticate(await world.client())
    for _ in range(6):
        assert (await world.proxy.start(chat(), client)).status == 200
    assert set(world.upstream.keys) == {"sk-a"}


async def test_no_usable_proxy_is_a_503_naming_why_and_no_byte_leaves() -> None:
    world = World()
    (down,) = await pool(world, ProxyHealth.DOWN)
    await place(world, a=down.id, b=None)
    client = world.proxy.authenticate(await world.client())
    with pytest.raises(GatewayError) as refused:
        await world.proxy.start(chat(), client)
    assert refused.value.status == 503
    assert f"proxy {down.id} of account" in refused.value.message
    assert "is down" in refused.value.message and "has no proxy assigned" in refused.value.message
    assert world.upstream.requests == []
    await world.logs.flush()
    (row,) = world.sink.rows
    assert row.status_code == 503 and "is down" in (row.error or "")


async def test_without_any_proxy_accounts_go_direct_and_never_does_not() -> None:
    world = World()
    await place(world, a=None)
    client = world.proxy.authenticate(await world.client())
    assert (await world.proxy.start(chat(), client)).status == 200
    assert world.upstream.requests[0].route == Route()
    await world.logs.flush()
    assert world.sink.rows[0].proxy_id is None

    never = World()
    never.catalog._egress = DirectEgress.NEVER  # proxy.direct_egress: never
    await place(never, a=None)
    with pytest.raises(GatewayError, match=r"proxy\.direct_egress is never"):
        await never.proxy.start(chat(), never.proxy.authenticate(await never.client()))
    assert never.upstream.requests == []


async def test_fallback_sends_an_account_without_a_usable_proxy_directly() -> None:
    world = World()
    world.catalog._egress = DirectEgress.FALLBACK
    (down,) = await pool(world, ProxyHealth.DOWN)
    await place(world, a=down.id)
    assert (
        await world.proxy.start(chat(), world.proxy.authenticate(await world.client()))
    ).status == 200
    assert world.upstream.requests[0].route == Route()


async def test_a_dead_proxy_costs_no_account_a_cooldown_and_is_marked_down() -> None:
    world = World()
    dead, alive = await pool(world, ProxyHealth.HEALTHY, ProxyHealth.HEALTHY)
    await place(world, a=dead.id, b=dead.id, c=alive.id)
    world.upstream.dead_proxies = {dead.id}
    client = world.proxy.authenticate(await world.client())
    for _ in range(8):
        before = len(world.upstream.requests)
        result = await world.proxy.start(chat(), client)
        assert result.status == 200  # the request moved on to the account behind the other
        tried = world.upstream.requests[before:]
        # a failed proxy takes all its accounts out of the request: no second try through it
        assert sum(r.route.proxy_id == dead.id for r in tried) <= 1
    # three failures in a row mark it down: from then on its accounts are not tried
    through_dead = [r for r in world.upstream.requests if r.route.proxy_id == dead.id]
    assert len(through_dead) == 3
    assert world.catalog.current.proxies[dead.id].health is ProxyHealth.DOWN
    assert {a.credential.secret for a in world.catalog.current.accounts_for("openai")} == {"sk-c"}
    stored = await world.proxies.get(dead.id)
    for _ in range(20):  # the write runs in the background
        if stored.health is ProxyHealth.DOWN:
            break
        await asyncio.sleep(0)
        stored = await world.proxies.get(dead.id)
    assert stored.health is ProxyHealth.DOWN and stored.marked_down_at is not None
    for account in await world.accounts.list():
        assert await world.rotation.cooldowns("openai", account.id, world.clock.now()) == []
    before = len(world.upstream.requests)
    await world.proxy.start(chat(), client)
    assert world.upstream.requests[before:][0].route.proxy_id == alive.id


async def test_a_token_refresh_goes_through_the_accounts_proxy() -> None:
    world = World()
    (proxy,) = await pool(world, ProxyHealth.HEALTHY)
    account = await world.add_oauth_account("at-old", "rt-1", world.clock.now())
    await world.accounts.assign_proxies({account.id: proxy.id})
    await world.catalog.reload()
    result = await world.proxy.start(
        chat("claude-x"), world.proxy.authenticate(await world.client())
    )
    assert result.status == 200
    assert world.token_endpoint.calls == ["rt-1"]
    assert [r.proxy_id for r in world.token_endpoint.routes] == [proxy.id]
    assert [r.route.proxy_id for r in world.upstream.requests] == [proxy.id]


async def test_the_check_brings_a_down_proxy_back_after_its_recovery_wait() -> None:
    world = World()
    (proxy,) = await pool(world, ProxyHealth.HEALTHY)
    await place(world, a=proxy.id)
    world.upstream.dead_proxies = {proxy.id}
    for _ in range(3):  # three failed checks in a row
        await world.monitor.check_once()
    assert (await world.proxies.get(proxy.id)).health is ProxyHealth.DOWN
    assert world.catalog.current.accounts_for("openai") == ()
    assert any(f"proxy {proxy.id}" in n.message for n in world.notices.current())
    world.upstream.dead_proxies = set()
    checks = len(world.upstream.probes)
    await world.monitor.check_once()  # within the recovery wait: not tried
    assert len(world.upstream.probes) == checks
    world.clock.t += 301
    await world.monitor.check_once()
    stored = await world.proxies.get(proxy.id)
    assert stored.health is ProxyHealth.HEALTHY and stored.latency_ms is not None
    assert [a.credential.secret for a in world.catalog.current.accounts_for("openai")] == ["sk-a"]
    assert not any(f"proxy {proxy.id}" in n.message for n in world.notices.current())
    # the pools of the proxies in the pool are kept, any other is closed
    assert world.upstream.kept[-1] == [Route(proxy.id, proxy.endpoint)]


async def test_an_upstream_error_through_a_proxy_resets_its_failure_streak() -> None:
    world = World()
    (flaky,) = await pool(world, ProxyHealth.HEALTHY)
    await place(world, a=flaky.id)
    client = world.proxy.authenticate(await world.client())

    async def ask() -> None:
        with contextlib.suppress(GatewayError):
            await world.proxy.start(chat(), client)
        world.clock.t += 3600  # past any cooldown the answer put on the account

    for _ in range(3):  # two failures through the proxy, then an upstream 500 through it
        world.upstream.dead_proxies = {flaky.id}
        await ask()
        await ask()
        world.upstream.dead_proxies = set()
        world.upstream.script["sk-a"] = (500, b'{"error":{"message":"down"}}', {})
        await ask()
        del world.upstream.script["sk-a"]
    # never three proxy failures in a row: the proxy answered in between, it is not down
    assert world.catalog.current.proxies[flaky.id].health is ProxyHealth.HEALTHY


async def test_the_down_notice_goes_when_its_proxy_leaves_the_pool() -> None:
    world = World()
    (proxy,) = await pool(world, ProxyHealth.DOWN)
    world.upstream.dead_proxies = {proxy.id}  # its checks fail: it stays down
    await world.catalog.reload()
    await world.monitor.check_once()
    assert any(f"proxy {proxy.id}" in n.message for n in world.notices.current())
    await world.proxies.delete(proxy.id)
    await world.catalog.reload()
    await world.monitor.check_once()
    assert not any(f"proxy {proxy.id}" in n.message for n in world.notices.current())


async def test_a_proxy_disabled_by_hand_moves_its_accounts_before_the_snapshot_serves() -> None:
    world = World()
    off, on = await pool(world, ProxyHealth.HEALTHY, ProxyHealth.HEALTHY)
    await place(world, a=off.id, b=on.id)
    served: list[set[str]] = []
    assignments = ProxyAssignments(world.uow)

    async def reassign() -> object:
        served.append({a.credential.secret for a in world.catalog.current.accounts_for("openai")})
        return await assignments.recalculate()

    world.catalog.keep_assigned(reassign)
    # what `UPDATE proxy_pool SET is_active = false WHERE id = …` does: no announcement
    await world.proxies.update(msgspec.structs.replace(off, is_active=False))
    world.clock.t += 31  # the snapshot's TTL
    await world.catalog.refresh_if_stale()
    assert served == [{"sk-a", "sk-b"}]  # never a snapshot where sk-a had no route
    current = world.catalog.current
    assert {a.credential.secret for a in current.accounts_for("openai")} == {"sk-a", "sk-b"}
    assert {r.proxy_id for r in current.routes.values()} == {on.id}
