"""One contract for the access-token cache and the refresh lock, run against the in-process and
the Redis adapters (a private Redis: see conftest)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.memory.tokens import InMemoryRefreshLock, InMemoryTokenCache
from aigateway.adapters.redis.client import create_redis
from aigateway.adapters.redis.tokens import RedisRefreshLock, RedisTokenCache, token_key
from aigateway.application.ports.oauth import RefreshLock, TokenCache
from aigateway.domain.credentials.tokens import OAuthToken
from tests.services import unavailable, unique_name

EXPIRY = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
TOKEN = OAuthToken("at-contract-secret-value", EXPIRY)


class SystemClockForTests:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class Stores:
    cache: TokenCache
    lock: RefreshLock
    redis: aioredis.Redis | None = None
    prefix: str = ""


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = create_redis(redis_url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        unavailable("Redis", exc)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_stores(redis_client: aioredis.Redis) -> AsyncIterator[Stores]:
    prefix = unique_name("aigw_test") + ":"
    cipher = CredentialCipher("contract-token-secret")
    yield Stores(
        RedisTokenCache(redis_client, cipher, prefix),
        RedisRefreshLock(redis_client, prefix),
        redis_client,
        prefix,
    )
    keys = [key async for key in redis_client.scan_iter(match=prefix + "*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        clock = SystemClockForTests()
        return Stores(InMemoryTokenCache(clock), InMemoryRefreshLock(clock))
    redis_stores: Stores = request.getfixturevalue("redis_stores")
    return redis_stores


async def until(predicate_async: Callable[[], Awaitable[bool]], deadline_s: float = 5.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if await predicate_async():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met before the deadline")


async def test_a_put_token_is_got_back_until_its_ttl(stores: Stores) -> None:
    cache = stores.cache
    assert await cache.get("anthropic", "acc-1") is None
    assert await cache.ttl("anthropic", "acc-1") is None
    await cache.put("anthropic", "acc-1", TOKEN, timedelta(minutes=10))
    assert await cache.get("anthropic", "acc-1") == TOKEN
    assert await cache.get("anthropic", "acc-2") is None
    ttl = await cache.ttl("anthropic", "acc-1")
    assert ttl is not None
    assert timedelta(minutes=9) < ttl <= timedelta(minutes=10)


async def test_a_token_expires_with_its_ttl(stores: Stores) -> None:
    await stores.cache.put("anthropic", "acc-1", TOKEN, timedelta(milliseconds=50))

    async def gone() -> bool:
        return await stores.cache.get("anthropic", "acc-1") is None

    await until(gone)
    assert await stores.cache.ttl("anthropic", "acc-1") is None


async def test_a_ttl_of_zero_keeps_nothing(stores: Stores) -> None:
    cache = stores.cache
    await cache.put("anthropic", "acc-1", TOKEN, timedelta(minutes=10))
    await cache.put("anthropic", "acc-1", TOKEN, timedelta(0))
    assert await cache.get("anthropic", "acc-1") is None


async def test_delete_forgets_the_token(stores: Stores) -> None:
    cache = stores.cache
    await cache.put("anthropic", "acc-1", TOKEN, timedelta(minutes=10))
    assert await cache.delete("anthropic", "acc-1") is True
    assert await cache.get("anthropic", "acc-1") is None
    assert await cache.delete("anthropic", "acc-1") is False


async def test_the_lock_has_one_holder_at_a_time(stores: Stores) -> None:
    lock = stores.lock
    assert await lock.acquire("anthropic", "acc-1", "p1", timedelta(seconds=30))
    assert not await lock.acquire("anthropic", "acc-1", "p2", timedelta(seconds=30))
    assert await lock.acquire("anthropic", "acc-2", "p2", timedelta(seconds=30))
    assert not await lock.release("anthropic", "acc-1", "p2")  # not p2's to release
    assert not await lock.acquire("anthropic", "acc-1", "p2", timedelta(seconds=30))
    assert await lock.release("anthropic", "acc-1", "p1")
    assert await lock.acquire("anthropic", "acc-1", "p2", timedelta(seconds=30))


async def test_a_lost_holder_s_lock_expires(stores: Stores) -> None:
    lock = stores.lock
    assert await lock.acquire("anthropic", "acc-1", "p1", timedelta(milliseconds=50))

    async def free() -> bool:
        return await lock.acquire("anthropic", "acc-1", "p2", timedelta(seconds=30))

    await until(free)
    assert not await lock.release("anthropic", "acc-1", "p1")  # expired: p2 holds it now
    assert await lock.release("anthropic", "acc-1", "p2")


@pytest.mark.redis
async def test_the_redis_key_reads_as_documented(redis_client: aioredis.Redis) -> None:
    prefix = unique_name("aigw_test") + ":"
    cache = RedisTokenCache(redis_client, CredentialCipher("contract-token-secret"), prefix)
    try:
        await cache.put("antigravity", "acc-9", TOKEN, timedelta(minutes=5))
        key = token_key("antigravity", "acc-9", prefix)
        assert key == f"{prefix}auth:oauth:antigravity:acc-9"
        raw = await redis_client.get(key)
        assert raw is not None
        stored = json.loads(raw)
        assert stored["expires_at"] == "2026-12-01T13:00:00Z"
        assert TOKEN.access_token not in json.dumps(stored)  # encrypted at rest
        assert 0 < await redis_client.ttl(key) <= 300
        # another secret key cannot read it: a miss (then a refresh), not an error
        other = RedisTokenCache(redis_client, CredentialCipher("another-secret"), prefix)
        assert await other.get("antigravity", "acc-9") is None
        await redis_client.delete(key)  # `redis-cli DEL` forces a refresh on next use
        assert await cache.get("antigravity", "acc-9") is None
    finally:
        await redis_client.delete(token_key("antigravity", "acc-9", prefix))
