"""One contract for the pending-login store (PKCE verifier + state), in process memory and in
Redis: kept for its TTL, taken at most once, bound to what was stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from aigateway.adapters.memory.login_states import InMemoryLoginStates
from aigateway.adapters.redis.client import create_redis
from aigateway.adapters.redis.login_states import RedisLoginStates
from aigateway.application.ports.onboarding import FlowType, LoginStates, PendingLogin
from tests.services import unavailable, unique_name
from tests.unit.chat_world import FakeClock

NOW = datetime(2026, 10, 1, 12, tzinfo=UTC)


def login(provider_id: str = "antigravity", initiator: str = "sha256:aaaa") -> PendingLogin:
    return PendingLogin(
        provider_id=provider_id,
        flow_type=FlowType.AUTO,
        verifier="v" * 43,
        redirect_uri="http://localhost:8080/api/v1/oauth/callback",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
        initiator=initiator,
    )


class Slice:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix


@pytest.fixture
async def redis_slice(redis_url: str) -> AsyncIterator[Slice]:
    client = create_redis(redis_url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        unavailable("Redis", exc)
    prefix = unique_name("aigw_test") + ":"
    yield Slice(client, prefix)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def states(request: pytest.FixtureRequest) -> LoginStates:
    if request.param == "memory":
        return InMemoryLoginStates(FakeClock())
    r: Slice = request.getfixturevalue("redis_slice")
    return RedisLoginStates(r.client, r.prefix)


async def test_a_login_is_kept_and_taken_once(states: LoginStates) -> None:
    await states.put("s1", login(), 600)
    assert await states.peek("s1") == login()
    assert await states.peek("s1") == login()  # peeking leaves it
    assert await states.take("s1") == login()
    assert await states.take("s1") is None
    assert await states.peek("s1") is None


async def test_unknown_states_are_none_and_states_are_separate(states: LoginStates) -> None:
    await states.put("s1", login("antigravity"), 600)
    await states.put("s2", login("anthropic"), 600)
    assert await states.take("nope") is None
    taken = await states.take("s2")
    assert taken is not None and taken.provider_id == "anthropic"
    kept = await states.take("s1")
    assert kept is not None and kept.provider_id == "antigravity"


async def test_of_concurrent_takes_exactly_one_wins(states: LoginStates) -> None:
    await states.put("race", login(), 600)
    results = await asyncio.gather(*(states.take("race") for _ in range(20)))
    assert sum(result is not None for result in results) == 1


async def test_the_verifier_never_shows_in_repr() -> None:
    assert "v" * 43 not in repr(login())


# --- expiry ---


async def test_memory_logins_expire_after_their_ttl() -> None:
    clock = FakeClock()
    states = InMemoryLoginStates(clock)
    await states.put("s1", login(), 600)
    clock.t += 599
    assert await states.peek("s1") is not None
    clock.t += 2
    assert await states.peek("s1") is None
    assert await states.take("s1") is None


async def test_memory_store_is_bounded_and_drops_expired_then_oldest() -> None:
    clock = FakeClock()
    states = InMemoryLoginStates(clock, max_pending=3)
    await states.put("short", login(), 1)
    await states.put("old", login(), 600)
    await states.put("mid", login(), 600)
    clock.t += 2  # "short" has expired
    await states.put("new", login(), 600)
    assert [await states.peek(s) is not None for s in ("old", "mid", "new")] == [True] * 3
    await states.put("newer", login(), 600)  # full of live logins: the oldest goes
    assert await states.peek("old") is None
    assert [await states.peek(s) is not None for s in ("mid", "new", "newer")] == [True] * 3


@pytest.mark.redis
async def test_redis_key_name_and_ttl(redis_slice: Slice) -> None:
    states = RedisLoginStates(redis_slice.client, redis_slice.prefix)
    await states.put("abc", login(), 600)
    key = redis_slice.prefix + "oauth:state:abc"
    ttl_ms = await redis_slice.client.pttl(key)
    assert 0 < ttl_ms <= 600_000
    await states.take("abc")
    assert await redis_slice.client.exists(key) == 0


@pytest.mark.redis
async def test_redis_logins_expire(redis_slice: Slice) -> None:
    states = RedisLoginStates(redis_slice.client, redis_slice.prefix)
    await states.put("brief", login(), 0.001)
    async with asyncio.timeout(5):
        while await states.peek("brief") is not None:  # noqa: ASYNC110 (Redis expires it)
            await asyncio.sleep(0.01)
    assert await states.take("brief") is None


@pytest.mark.redis
async def test_redis_unreadable_value_is_no_login(redis_slice: Slice) -> None:
    await redis_slice.client.set(redis_slice.prefix + "oauth:state:bad", b"{not json", ex=60)
    assert await RedisLoginStates(redis_slice.client, redis_slice.prefix).take("bad") is None
