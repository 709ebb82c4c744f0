"""One contract for the thought-signature store, run against the in-process store, the Redis
one (a private Redis: see conftest) and the production wrapper of the Redis one (circuit
breaker, in-process stand-in), also while its Redis is unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
import redis.asyncio as aioredis

from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.adapters.redis.client import create_redis
from aigateway.adapters.redis.fallback import CircuitBreaker, FallbackSignatures
from aigateway.adapters.redis.pipelined import PipelinedRedis
from aigateway.adapters.redis.signatures import RedisSignatures, signature_key
from aigateway.application.ports.signatures import (
    MAX_ID_CHARS,
    MAX_SIGNATURE_CHARS,
    SIGNATURE_TTL_S,
    ThoughtSignatures,
)
from tests.services import unavailable, unique_name

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
SIGNATURE = "CiQB0e2Kb4n1c2lnbmF0dXJlLWJ5dGVzLWZyb20tZ2VtaW5p"


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
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    name = unique_name("aigw_test") + ":"
    yield name
    keys = [key async for key in redis_client.scan_iter(match=name + "*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def hot(redis_url: str) -> AsyncIterator[PipelinedRedis]:
    connection = PipelinedRedis(redis_url)
    yield connection
    connection.close()


@pytest.fixture
async def down() -> AsyncIterator[FallbackSignatures]:
    dead = PipelinedRedis(CLOSED_PORT_URL, timeout_s=0.5)
    yield FallbackSignatures(RedisSignatures(dead), CircuitBreaker())
    dead.close()


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("fallback", marks=pytest.mark.redis),
        "fallback, Redis down",
    ]
)
def store(request: pytest.FixtureRequest) -> ThoughtSignatures:
    if request.param == "memory":
        return InMemorySignatures()
    if request.param == "fallback, Redis down":
        wrapped: FallbackSignatures = request.getfixturevalue("down")
        return wrapped
    hot: PipelinedRedis = request.getfixturevalue("hot")
    prefix: str = request.getfixturevalue("prefix")
    shared = RedisSignatures(hot, prefix)
    return shared if request.param == "redis" else FallbackSignatures(shared, CircuitBreaker())


async def test_remembered_signatures_are_recalled_in_one_call(store: ThoughtSignatures) -> None:
    await store.remember({"call_1": SIGNATURE, "fc_2": SIGNATURE + "2"})
    found = await store.recall(["call_1", "fc_2", "never-seen"])
    assert found == {"call_1": SIGNATURE, "fc_2": SIGNATURE + "2"}
    assert await store.recall([]) == {}


async def test_a_later_signature_for_the_same_id_replaces_the_first(
    store: ThoughtSignatures,
) -> None:
    await store.remember({"call_1": "first"})
    await store.remember({"call_1": "second"})
    assert await store.recall(["call_1"]) == {"call_1": "second"}


async def test_oversized_ids_and_signatures_are_neither_kept_nor_looked_up(
    store: ThoughtSignatures,
) -> None:
    long_id = "x" * (MAX_ID_CHARS + 1)
    await store.remember(
        {long_id: SIGNATURE, "call_big": "s" * (MAX_SIGNATURE_CHARS + 1), "": SIGNATURE}
    )
    assert await store.recall([long_id, "call_big", ""]) == {}
    edge = "y" * MAX_ID_CHARS
    await store.remember({edge: "s" * MAX_SIGNATURE_CHARS})
    assert await store.recall([edge]) == {edge: "s" * MAX_SIGNATURE_CHARS}


def test_in_process_signatures_expire_and_stay_bounded() -> None:
    now = [0.0]
    store = InMemorySignatures(ttl_s=10.0, max_entries=2, clock=lambda: now[0])
    store.remember_now({"call_1": "sig-1"})
    now[0] = 5.0
    store.remember_now({"call_2": "sig-2", "call_3": "sig-3"})  # past the bound: oldest go
    assert store.recall_now(["call_1", "call_2", "call_3"]) == {
        "call_2": "sig-2",
        "call_3": "sig-3",
    }
    now[0] = 15.0
    assert store.recall_now(["call_2"]) == {}
    store.remember_now({"call_4": "sig-4"})
    assert len(store) == 1 and "sig" not in repr(store)


@pytest.mark.redis
async def test_redis_keys_say_what_they_hold_and_expire_with_the_store(
    hot: PipelinedRedis, prefix: str, redis_client: aioredis.Redis
) -> None:
    await RedisSignatures(hot, prefix).remember({"call_1": SIGNATURE})
    key = signature_key("call_1", prefix)
    assert key == f"{prefix}cloudcode:sig:call_1"
    assert await redis_client.get(key) == SIGNATURE.encode()
    ttl_ms = await redis_client.pttl(key)
    assert 0 < ttl_ms <= SIGNATURE_TTL_S * 1000


class Reachable:
    """A Redis store whose Redis can be cut off (the closed port) and restored."""

    def __init__(self, shared: RedisSignatures) -> None:
        self.shared = shared
        self.dead = PipelinedRedis(CLOSED_PORT_URL, timeout_s=0.5)
        self.up = True

    def _now(self) -> RedisSignatures:
        return self.shared if self.up else RedisSignatures(self.dead)

    async def remember(self, signatures: Mapping[str, str]) -> None:
        await self._now().remember(signatures)

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        return await self._now().recall(call_ids)


@pytest.mark.redis
async def test_what_an_outage_kept_in_the_process_is_found_once_redis_is_back(
    hot: PipelinedRedis, prefix: str
) -> None:
    redis = Reachable(RedisSignatures(hot, prefix))
    store = FallbackSignatures(redis, CircuitBreaker(open_for_s=0.0))  # every call probes
    redis.up = False
    await store.remember({"call_out": SIGNATURE})  # kept in the process
    assert await store.recall(["call_out"]) == {"call_out": SIGNATURE}
    redis.up = True
    await store.remember({"call_in": "shared"})
    assert await redis.shared.recall(["call_in", "call_out"]) == {"call_in": "shared"}
    assert await store.recall(["call_out", "call_in"]) == {
        "call_out": SIGNATURE,
        "call_in": "shared",
    }
    redis.dead.close()


class Counted:
    """A shared store that counts the lookups that reach it."""

    def __init__(self, shared: ThoughtSignatures) -> None:
        self.shared = shared
        self.asked: list[list[str]] = []

    async def remember(self, signatures: Mapping[str, str]) -> None:
        await self.shared.remember(signatures)

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        self.asked.append(list(call_ids))
        return await self.shared.recall(call_ids)


@pytest.mark.redis
async def test_the_process_answers_what_it_relayed_and_redis_only_what_it_lacks(
    hot: PipelinedRedis, prefix: str
) -> None:
    other_process = RedisSignatures(hot, prefix)
    await other_process.remember({"call_elsewhere": "sig-elsewhere"})
    redis = Counted(RedisSignatures(hot, prefix))
    store = FallbackSignatures(redis, CircuitBreaker())
    await store.remember({"call_here": SIGNATURE})
    assert await store.recall(["call_here"]) == {"call_here": SIGNATURE}
    assert redis.asked == []  # relayed by this process: no round trip
    wanted = ["call_here", "call_elsewhere", "call_never_relayed"]
    assert await store.recall(wanted) == {
        "call_here": SIGNATURE,
        "call_elsewhere": "sig-elsewhere",
    }
    assert redis.asked == [["call_elsewhere", "call_never_relayed"]]
    # an agent resends its history: the id no process relayed is not asked for again
    assert await store.recall(["call_never_relayed"]) == {}
    assert len(redis.asked) == 1


@pytest.mark.redis
async def test_an_id_asked_while_redis_is_away_is_asked_again_once_it_is_back(
    hot: PipelinedRedis, prefix: str
) -> None:
    await RedisSignatures(hot, prefix).remember({"call_1": SIGNATURE})  # another process's
    reachable = Reachable(RedisSignatures(hot, prefix))
    store = FallbackSignatures(reachable, CircuitBreaker(open_for_s=0.0))  # every call probes
    reachable.up = False
    assert await store.recall(["call_1"]) == {}  # Redis did not answer: nothing said of it
    reachable.up = True
    assert await store.recall(["call_1"]) == {"call_1": SIGNATURE}
    reachable.dead.close()


def test_in_process_signatures_are_bounded_in_bytes_too() -> None:
    store = InMemorySignatures(max_bytes=10_000)
    for n in range(10):
        store.remember_now({f"call_{n}": "s" * 3_000})
    assert len(store) == 3  # 9,000 characters: the oldest went first
    assert store.recall_now(["call_9", "call_0"]) == {"call_9": "s" * 3_000}
