"""One contract for the coordination ports, run against the in-memory and the Redis adapters
(a private password-protected Redis, on a database other than 0: see conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import redis.asyncio as aioredis

from aigateway.adapters.memory.coordination import (
    InMemoryConfigVersion,
    InMemoryRotation,
    StaticPinger,
)
from aigateway.adapters.redis.client import RedisPinger, create_redis
from aigateway.adapters.redis.coordination import (
    ROTATION_TTL_SECONDS,
    STATS_TTL_SECONDS,
    RedisConfigVersion,
    RedisRotation,
    RedisStatsCounters,
)
from aigateway.adapters.redis.pipelined import PipelinedRedis
from aigateway.application.ports.coordination import ConfigVersion, Rotation
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown
from tests.services import unavailable, unique_name

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
Snapshot = dict[str, dict[str, int]]


@dataclass
class RedisSlice:
    client: aioredis.Redis
    prefix: str


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
async def redis_slice(redis_url: str) -> AsyncIterator[RedisSlice]:
    client = create_redis(redis_url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        unavailable("Redis", exc)
    prefix = unique_name("aigw_test") + ":"
    yield RedisSlice(client, prefix)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def stats_hashes(r: RedisSlice) -> Snapshot:
    """Every `stats:*` hash under the slice's prefix, as an operator reads them."""
    result: Snapshot = {}
    async for key in r.client.scan_iter(match=r.prefix + "stats:*"):
        fields = await r.client.hgetall(key)
        result[_text(key).removeprefix(r.prefix)] = {_text(f): int(v) for f, v in fields.items()}
    return result


@pytest.fixture
async def pipelined(redis_url: str) -> AsyncIterator[PipelinedRedis]:
    connection = PipelinedRedis(redis_url)
    yield connection
    connection.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def version(request: pytest.FixtureRequest) -> ConfigVersion:
    if request.param == "memory":
        return InMemoryConfigVersion()
    r: RedisSlice = request.getfixturevalue("redis_slice")
    return RedisConfigVersion(r.client, r.prefix)


def entry(
    at: datetime,
    status: int = 200,
    *,
    provider: str | None = "openai",
    model: str | None = "gpt-4o",
    account: str | None = "acc-1",
    latency: int = 100,
    prompt: int | None = None,
    completion: int | None = None,
) -> RequestLogEntry:
    return RequestLogEntry(
        request_id=unique_name("req"),
        created_at=at,
        api_key_id="key-1",
        provider_id=provider,
        account_id=account,
        proxy_id=None,
        model=model,
        stream=False,
        status_code=status,
        latency_ms=latency,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


DAY1 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAY2 = datetime(2025, 3, 2, 0, 0, 1, tzinfo=UTC)
BATCH_1 = [
    entry(DAY1, prompt=10, completion=5),
    entry(DAY1, 429, account="acc-2", latency=50),
]
BATCH_2 = [
    # 01:30 at UTC+2 is still 2025-03-01 in UTC
    entry(
        datetime(2025, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=2))),
        provider="anthropic",
        model="claude-x",
        account="acc-3",
        latency=300,
        prompt=7,
        completion=3,
    ),
    entry(DAY1, 401, provider=None, model=None, account=None, latency=1),
    entry(DAY2, 500, latency=20),
]
EXPECTED_STATS: Snapshot = {
    "stats:requests:2025-03-01": {
        "total": 4,
        "success": 2,
        "error": 2,
        "status:200": 2,
        "status:429": 1,
        "status:401": 1,
        "provider:openai": 2,
        "provider:anthropic": 1,
        "model:gpt-4o": 2,
        "model:claude-x": 1,
    },
    "stats:tokens:2025-03-01": {
        "prompt": 17,
        "completion": 8,
        "provider:openai:prompt": 10,
        "provider:openai:completion": 5,
        "provider:anthropic:prompt": 7,
        "provider:anthropic:completion": 3,
    },
    "stats:latency_ms:2025-03-01": {"sum": 451, "count": 4},
    "stats:account:acc-1:2025-03-01": {"requests": 1},
    "stats:account:acc-2:2025-03-01": {"requests": 1, "errors": 1},
    "stats:account:acc-3:2025-03-01": {"requests": 1},
    "stats:requests:2025-03-02": {
        "total": 1,
        "error": 1,
        "status:500": 1,
        "provider:openai": 1,
        "model:gpt-4o": 1,
    },
    "stats:latency_ms:2025-03-02": {"sum": 20, "count": 1},
    "stats:account:acc-1:2025-03-02": {"requests": 1, "errors": 1},
}


# --- the contract, for every implementation ---


async def test_config_version_starts_at_zero_and_bumps(version: ConfigVersion) -> None:
    assert await version.current() == 0
    assert await version.bump() == 1
    assert await version.bump() == 2
    assert await version.current() == 2


# --- Redis specifics: key names operators rely on, expiry, round trips, health ---


@pytest.mark.redis
async def test_redis_config_version_key(redis_slice: RedisSlice) -> None:
    await RedisConfigVersion(redis_slice.client, redis_slice.prefix).bump()
    assert await redis_slice.client.get(redis_slice.prefix + "config:version") == b"1"


@pytest.mark.redis
async def test_redis_stats_aggregate_batches_per_utc_day(redis_slice: RedisSlice) -> None:
    stats = RedisStatsCounters(redis_slice.client, redis_slice.prefix)
    await stats.record([])
    assert await stats_hashes(redis_slice) == {}
    await stats.record(BATCH_1)
    await stats.record(BATCH_2)
    assert await stats_hashes(redis_slice) == EXPECTED_STATS


@pytest.mark.redis
async def test_redis_stats_write_one_pipeline_and_set_expiry(
    redis_slice: RedisSlice, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, pipelines = redis_slice.client, []
    original = client.pipeline

    def spy(*args: Any, **kwargs: Any) -> Any:
        pipelines.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "pipeline", spy)
    await RedisStatsCounters(client, redis_slice.prefix).record(BATCH_1 + BATCH_2)
    assert pipelines == [{"transaction": False}]
    for key in EXPECTED_STATS:
        ttl = await client.ttl(redis_slice.prefix + key)
        assert STATS_TTL_SECONDS - 60 < ttl <= STATS_TTL_SECONDS, key


async def test_redis_stats_empty_batch_makes_no_round_trip() -> None:
    client = create_redis(CLOSED_PORT_URL)  # any command would fail
    try:
        await RedisStatsCounters(client).record([])
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_pinger_is_true_on_a_live_redis(redis_slice: RedisSlice) -> None:
    pinger = RedisPinger(redis_slice.client)
    assert pinger.name == "redis"
    assert await pinger.ping() is True


async def test_redis_pinger_is_false_when_redis_is_unreachable() -> None:
    client = create_redis(CLOSED_PORT_URL)
    try:
        assert await RedisPinger(client).ping() is False
    finally:
        await client.aclose()


async def test_static_pinger() -> None:
    pinger = StaticPinger("mysql")
    assert (pinger.name, await pinger.ping()) == ("mysql", True)
    pinger.ok = False
    assert await pinger.ping() is False
    assert await StaticPinger("redis", ok=False).ping() is False


# --- Rotation: round-robin turn plus shared cooldowns -------------------------------------


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def rotation(request: pytest.FixtureRequest) -> Rotation:
    if request.param == "memory":
        return InMemoryRotation()
    slice_ = request.getfixturevalue("redis_slice")
    return RedisRotation(request.getfixturevalue("pipelined"), slice_.client, slice_.prefix)


# Redis expires cooldown keys on the wall clock, so "now" must be the real time
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now_is_the_tests_start() -> None:
    """Redis expires cooldown keys on the real clock: a module-wide NOW taken at import would
    put a later test's short cooldowns in the past."""
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)


def cooldown(account: str, model: str | None, seconds: float, reason: str = "") -> Cooldown:
    return Cooldown(
        account_id=account, model=model, until=NOW + timedelta(seconds=seconds), reason=reason
    )


async def test_turns_start_at_one_and_count_each_provider_and_model(rotation: Rotation) -> None:
    assert [(await rotation.turn("openai", "gpt-4o", NOW)).counter for _ in range(3)] == [1, 2, 3]
    assert (await rotation.turn("openai", "gpt-4o-mini", NOW)).counter == 1
    assert (await rotation.turn("glm", "gpt-4o", NOW)).counter == 1
    assert (await rotation.turn("openai", "gpt-4o", NOW)).counter == 4


async def test_concurrent_turns_each_get_a_distinct_counter(rotation: Rotation) -> None:
    turns = await asyncio.gather(*(rotation.turn("openai", "gpt-4o", NOW) for _ in range(200)))
    assert sorted(t.counter for t in turns) == list(range(1, 201))


async def test_turns_count_and_carry_the_cooldowns_that_apply(rotation: Rotation) -> None:
    assert (await rotation.turn("p", "m", NOW)).counter == 1
    await rotation.cool_down("p", cooldown("acc-1", "m", 30, "rate limited"))
    await rotation.cool_down("p", cooldown("acc-2", None, 60, "revoked"))
    await rotation.cool_down("p", cooldown("acc-3", "other-model", 60))
    await rotation.cool_down("q", cooldown("acc-4", "m", 60))
    turn = await rotation.turn("p", "m", NOW)
    assert turn.counter == 2
    assert {c.account_id for c in turn.cooling} == {"acc-1", "acc-2"}
    assert {
        c.account_id for c in (await rotation.turn("p", "m", NOW + timedelta(seconds=31))).cooling
    } == {"acc-2"}


async def test_a_cooldown_is_only_ever_extended(rotation: Rotation) -> None:
    await rotation.cool_down("p", cooldown("acc-1", "m", 60))
    await rotation.cool_down("p", cooldown("acc-1", "m", 10))
    turn = await rotation.turn("p", "m", NOW + timedelta(seconds=30))
    assert [c.account_id for c in turn.cooling] == ["acc-1"]


async def test_admin_view_and_clear(rotation: Rotation) -> None:
    await rotation.cool_down("p", cooldown("acc-1", "m", 30, "rate limited"))
    await rotation.cool_down("p", cooldown("acc-1", None, 90, "capacity"))
    listed = await rotation.cooldowns("p", "acc-1", NOW)
    assert {(c.model, c.reason) for c in listed} == {("m", "rate limited"), (None, "capacity")}
    assert await rotation.clear("p", "acc-1") == 2
    assert await rotation.cooldowns("p", "acc-1", NOW) == []
    assert (await rotation.turn("p", "m", NOW)).cooling == ()


# --- Rotation on Redis: the documented keys, their expiry, one round trip -----------------


@pytest.fixture
def redis_rotation(pipelined: PipelinedRedis, redis_slice: RedisSlice) -> RedisRotation:
    return RedisRotation(pipelined, redis_slice.client, redis_slice.prefix)


@pytest.mark.redis
async def test_redis_counter_key_is_the_documented_one_and_expires_a_day_after_its_last_use(
    redis_rotation: RedisRotation, redis_slice: RedisSlice
) -> None:
    client, key = redis_slice.client, redis_slice.prefix + "account:rr:openai:gpt-4o"
    for _ in range(3):
        await redis_rotation.turn("openai", "gpt-4o", NOW)
    assert await client.get(key) == b"3"
    assert ROTATION_TTL_SECONDS - 60 < await client.ttl(key) <= ROTATION_TTL_SECONDS
    await client.expire(key, 10)
    await redis_rotation.turn("openai", "gpt-4o", NOW)  # use re-arms the full day
    assert ROTATION_TTL_SECONDS - 60 < await client.ttl(key) <= ROTATION_TTL_SECONDS


@pytest.mark.redis
async def test_redis_cooldown_keys_expire_with_their_last_cooldown(
    redis_rotation: RedisRotation, redis_slice: RedisSlice
) -> None:
    now = datetime.now(UTC)  # not the module's NOW: the keys' lifetimes count from the clock

    def cooling(account: str, model: str | None, seconds: int) -> Cooldown:
        return Cooldown(account_id=account, model=model, until=now + timedelta(seconds=seconds))

    await redis_rotation.cool_down("p", cooling("acc-1", "m", 30))
    await redis_rotation.cool_down("p", cooling("acc-2", "m", 10))  # ends first: no shortening
    await redis_rotation.cool_down("p", cooling("acc-1", None, 90))
    ms = {
        key: await redis_slice.client.pttl(redis_slice.prefix + key)
        for key in ("cooldown:p:m", "cooldown:p:*", "cooldown:info:acc-1", "cooldown:info:acc-2")
    }
    until_ms = {
        key: (now + timedelta(seconds=s) - datetime.now(UTC)).total_seconds() * 1000
        for key, s in (
            ("cooldown:p:m", 30),
            ("cooldown:p:*", 90),
            ("cooldown:info:acc-1", 90),
            ("cooldown:info:acc-2", 10),
        )
    }
    for key, left in ms.items():
        assert until_ms[key] - 2000 < left <= until_ms[key] + 10, key


@pytest.mark.redis
async def test_redis_turn_is_one_round_trip_on_the_hot_connection(
    redis_rotation: RedisRotation,
    pipelined: PipelinedRedis,
    redis_slice: RedisSlice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await redis_rotation.turn("openai", "gpt-4o", NOW)  # loads the script if Redis lacks it
    hot: list[Any] = []
    pooled: list[Any] = []
    execute = pipelined.execute
    command: Callable[..., Awaitable[Any]] = redis_slice.client.execute_command

    async def spy_hot(*args: Any) -> Any:
        hot.append(args[0])
        return await execute(*args)

    async def spy_pooled(*args: Any, **options: Any) -> Any:
        pooled.append(args[0])
        return await command(*args, **options)

    monkeypatch.setattr(pipelined, "execute", spy_hot)
    monkeypatch.setattr(redis_slice.client, "execute_command", spy_pooled)
    await redis_rotation.cool_down("openai", cooldown("acc-1", "gpt-4o", 30))
    turn = await redis_rotation.turn("openai", "gpt-4o", NOW)
    assert (turn.counter, [c.account_id for c in turn.cooling]) == (2, ["acc-1"])
    assert (hot, pooled) == (["EVALSHA"], [])
