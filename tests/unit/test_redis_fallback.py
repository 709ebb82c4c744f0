"""The breaker in front of Redis: fall back at once, probe once, come back; the in-process
stand-in's tables stay bounded."""

from __future__ import annotations

import asyncio
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aigateway.adapters.memory.coordination import MAX_COUNTERS, InMemoryRotation
from aigateway.adapters.redis.fallback import (
    CircuitBreaker,
    FallbackConfigVersion,
    FallbackRotation,
)
from aigateway.application.ports.coordination import Rotation, Turn
from aigateway.domain.routing.eligibility import Cooldown


class FlakyRotation(InMemoryRotation):
    """A shared rotation that can go down or hang; its counters start at 100."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0
        self.count = 100
        self.delay = 0.0

    async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise RedisConnectionError("connection refused")
        self.count += 1
        return Turn(self.count)


NOW = datetime.now(UTC)


async def counter(rotation: FallbackRotation) -> int:
    return (await rotation.turn("p", "m", NOW)).counter


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_outage_falls_back_and_recovers() -> None:
    clock = Clock()
    primary = FlakyRotation()
    rotation = FallbackRotation(primary, CircuitBreaker(open_for_s=5, monotonic=clock))
    assert await counter(rotation) == 101
    primary.down = True
    local = [await counter(rotation) for _ in range(10)]
    assert local == list(range(1, 11))  # in-process counting continues without raising
    assert primary.calls == 2  # only the call that tripped the breaker reached Redis
    primary.down = False
    clock.t = 5.0
    assert await counter(rotation) == 102  # the probe succeeds: back on Redis
    assert await counter(rotation) == 103


async def test_only_one_probe_while_redis_hangs() -> None:
    clock = Clock()
    primary = FlakyRotation()
    breaker = CircuitBreaker(open_for_s=5, monotonic=clock)
    rotation = FallbackRotation(primary, breaker)
    primary.down = True
    await counter(rotation)
    clock.t = 6.0
    primary.delay = 0.05
    results = await asyncio.gather(*(counter(rotation) for _ in range(20)))
    assert primary.calls == 2  # the trip and one probe; 19 callers never waited on Redis
    assert len(set(results)) == 20
    await counter(rotation)  # the failed probe re-opened the breaker: Redis is not asked
    assert primary.calls == 2


@pytest.mark.parametrize("down_first", [True, False])
async def test_config_version_keeps_the_last_value_while_down(down_first: bool) -> None:
    class Version:
        down = down_first
        value = 7

        async def current(self) -> int:
            if self.down:
                raise OSError("unreachable")
            return self.value

        async def bump(self) -> int:
            if self.down:
                raise OSError("unreachable")
            self.value += 1
            return self.value

    primary = Version()
    version = FallbackConfigVersion(primary, CircuitBreaker(open_for_s=60))
    if not down_first:
        assert await version.current() == 7
        primary.down = True
    expected = 0 if down_first else 7
    assert await version.current() == expected
    assert await version.bump() == expected + 1


async def test_rotation_keeps_local_cooldowns_while_redis_is_away() -> None:
    class DownRotation(InMemoryRotation):
        down = False

        async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
            if self.down:
                raise RedisConnectionError("refused")
            return await super().turn(provider_id, model, now)

    now = datetime.now(UTC)
    shared = DownRotation()
    rotation = FallbackRotation(shared, CircuitBreaker(open_for_s=60))
    await rotation.cool_down(
        "p", Cooldown(account_id="a", model="m", until=now + timedelta(seconds=30))
    )
    assert [c.account_id for c in (await rotation.turn("p", "m", now)).cooling] == ["a"]
    shared.down = True
    local = await rotation.turn("p", "m", now)
    assert [c.account_id for c in local.cooling] == ["a"]
    assert local.counter == 1  # counting in-process now


def _cooldown(account: str, model: str | None, seconds: float) -> Cooldown:
    return Cooldown(account_id=account, model=model, until=NOW + timedelta(seconds=seconds))


# --- in-process tables stay bounded, however many model names come by --------------------


async def test_in_process_counters_drop_the_least_recently_used() -> None:
    rotation = InMemoryRotation(max_counters=2)
    for model in ("a", "b", "a", "c"):  # "c" pushes out "b", used less recently than "a"
        await rotation.turn("p", model, NOW)
    assert (await rotation.turn("p", "a", NOW)).counter == 3
    assert (await rotation.turn("p", "b", NOW)).counter == 1  # started over


async def test_in_process_cooldowns_drop_the_soonest_ending_when_full() -> None:
    rotation = InMemoryRotation(max_cooldowns=4)
    for n, seconds in enumerate((50, 10, 40, 30)):
        await rotation.cool_down("p", _cooldown(f"acc-{n}", "m", seconds))
    await rotation.cool_down("p", _cooldown("acc-9", None, 60))
    cooling = (await rotation.turn("p", "m", NOW)).cooling
    assert sorted(c.account_id for c in cooling) == ["acc-0", "acc-2", "acc-3", "acc-9"]


async def test_in_process_cooldowns_that_ended_give_their_memory_back() -> None:
    rotation = InMemoryRotation()
    await rotation.cool_down("p", _cooldown("acc-x", None, 60))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(2000):
            await rotation.cool_down("p", _cooldown(f"acc-{n}", "m", 1))
        held = tracemalloc.get_traced_memory()[0] - before
        later = NOW + timedelta(seconds=2)
        assert [c.account_id for c in (await rotation.turn("p", "m", later)).cooling] == ["acc-x"]
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held > 200_000
    assert kept < 20_000, (held, kept)


class _DownRotation:
    """A shared rotation that is always unreachable: the fallback serves from its tables."""

    async def turn(self, provider_id: str, model: str, now: datetime) -> Any:
        raise OSError("unreachable")

    async def cool_down(self, provider_id: str, cooldown: Cooldown) -> None:
        raise OSError("unreachable")

    async def cooldowns(self, provider_id: str, account_id: str, now: datetime) -> Any:
        raise OSError("unreachable")

    async def clear(self, provider_id: str, account_id: str) -> int:
        raise OSError("unreachable")


@pytest.mark.parametrize("kind", ["memory", "fallback"])
async def test_in_process_memory_is_bounded_under_many_distinct_model_names(kind: str) -> None:
    rotation: Rotation = (
        InMemoryRotation()
        if kind == "memory"
        else FallbackRotation(_DownRotation(), CircuitBreaker(open_for_s=3600))
    )
    distinct, size = 3 * MAX_COUNTERS, 1000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(distinct):
            model = f"{n:0{size}d}"
            await rotation.turn("p", model, NOW)
            await rotation.cool_down("p", _cooldown(f"acc-{n % 7}", model, 60))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # a table per name would hold 3 x 2 x 30 MB; two tables of 10 000 entries, 1 kB keys each
    assert grown < 2 * MAX_COUNTERS * (size + 600), grown
