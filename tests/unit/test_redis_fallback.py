"""The breaker in front of Redis: fall back at once, probe once, come back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from aigateway.adapters.memory.coordination import InMemoryRotation
from aigateway.adapters.redis.fallback import (
    CircuitBreaker,
    FallbackConfigVersion,
    FallbackRotation,
)
from aigateway.application.ports.coordination import Turn
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
    assert breaker.is_open


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
