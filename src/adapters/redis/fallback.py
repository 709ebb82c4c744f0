"""Keep serving when Redis is away: a circuit breaker and in-process stand-ins.

While the breaker is open, round-robin and cooldowns work in the process (in the bounded
tables of `InMemoryRotation`), config-version checks reuse the last value seen, and stats
batches are skipped (the request log rows themselves go to the database), thought signatures
are kept in the process. After `open_for_s`
one caller probes Redis; the rest stay on the fallback until the probe answers, so a hung Redis
costs at most one socket timeout per probe, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from redis.exceptions import RedisError

from aigateway.adapters.memory.coordination import InMemoryRotation
from aigateway.adapters.memory.signatures import InMemorySignatures
from aigateway.application.ports.coordination import ConfigVersion, Rotation, StatsCounters, Turn
from aigateway.application.ports.signatures import ThoughtSignatures
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown

log = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)


class CircuitBreaker:
    def __init__(
        self, *, open_for_s: float = 5.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._open_for_s = open_for_s
        self._monotonic = monotonic
        self._open_until: float | None = None  # None: closed
        self._probing = False

    async def call(self, primary: Callable[[], Awaitable[T]], fallback: Callable[[], T]) -> T:
        if self._open_until is not None:
            if self._probing or self._monotonic() < self._open_until:
                return fallback()
            self._probing = True
        try:
            result = await primary()
        except REDIS_FAILURES as exc:
            self._trip(exc)
            return fallback()
        finally:
            self._probing = False
        if self._open_until is not None:
            log.warning("Redis answers again; shared coordination resumed")
            self._open_until = None
        return result

    def _trip(self, exc: BaseException) -> None:
        if self._open_until is None:
            log.warning(
                "Redis unavailable (%s); serving with in-process round-robin for %.0f s",
                type(exc).__name__,
                self._open_for_s,
            )
        self._open_until = self._monotonic() + self._open_for_s


class FallbackConfigVersion:
    def __init__(self, primary: ConfigVersion, breaker: CircuitBreaker) -> None:
        self._primary = primary
        self._breaker = breaker
        self._last = 0

    async def current(self) -> int:
        self._last = await self._breaker.call(self._primary.current, lambda: self._last)
        return self._last

    async def bump(self) -> int:
        self._last = await self._breaker.call(self._primary.bump, lambda: self._last + 1)
        return self._last


class FallbackStatsCounters:
    def __init__(self, primary: StatsCounters, breaker: CircuitBreaker) -> None:
        self._primary = primary
        self._breaker = breaker

    async def record(self, entries: Sequence[RequestLogEntry]) -> None:
        await self._breaker.call(lambda: self._primary.record(entries), lambda: None)


class FallbackRotation:
    """Redis rotation with an in-process mirror: cooldowns this process sets are also kept
    locally, so they hold while Redis is away; turns count in-process while the breaker is
    open."""

    def __init__(self, primary: Rotation, breaker: CircuitBreaker) -> None:
        self._primary = primary
        self._local = InMemoryRotation()
        self._breaker = breaker

    async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
        # Redis, when it answers, is the truth for every process (a cooldown cleared by an
        # operator is cleared everywhere); the local mirror stands in only while it is away.
        return await self._breaker.call(
            lambda: self._primary.turn(provider_id, model, now),
            lambda: self._local.turn_now(provider_id, model, now),
        )

    async def cool_down(self, provider_id: str, cooldown: Cooldown) -> None:
        await self._local.cool_down(provider_id, cooldown)
        await self._breaker.call(
            lambda: self._primary.cool_down(provider_id, cooldown), lambda: None
        )

    async def cooldowns(self, provider_id: str, account_id: str, now: datetime) -> list[Cooldown]:
        local = await self._local.cooldowns(provider_id, account_id, now)
        shared = await self._breaker.call(
            lambda: self._primary.cooldowns(provider_id, account_id, now), lambda: []
        )
        seen = {c.model for c in shared}  # the shared copy wins; the mirror fills gaps
        return shared + [c for c in local if c.model not in seen]

    async def clear(self, provider_id: str, account_id: str) -> int:
        local = await self._local.clear(provider_id, account_id)
        shared = await self._breaker.call(
            lambda: self._primary.clear(provider_id, account_id), lambda: 0
        )
        return max(local, shared)


UNKNOWN_ID_TTL_S = 600.0  # how long an id Redis did not hold is not asked for again
MAX_UNKNOWN_IDS = 10_000


class FallbackSignatures:
    """Redis signatures with an in-process copy in front.

    Every signature relayed here is also kept in the process, so a next turn that comes back to
    this process (the usual case with one worker) is answered without Redis; Redis is asked only
    for the ids the process does not hold. An id Redis did not hold either is remembered as
    unknown for a while: it was not relayed by any gateway process (a signature is stored before
    the client sees its call), and agents resend the same history every turn. While Redis is
    away, the process's copy is all there is (a call relayed during an outage still finds its
    signature when the next turn comes back to this process).
    """

    def __init__(self, primary: ThoughtSignatures, breaker: CircuitBreaker) -> None:
        self._primary = primary
        self._local = InMemorySignatures()
        self._unknown = InMemorySignatures(ttl_s=UNKNOWN_ID_TTL_S, max_entries=MAX_UNKNOWN_IDS)
        self._breaker = breaker

    async def remember(self, signatures: Mapping[str, str]) -> None:
        self._local.remember_now(signatures)
        await self._breaker.call(lambda: self._primary.remember(signatures), lambda: None)

    async def recall(self, call_ids: Sequence[str]) -> dict[str, str]:
        found = self._local.recall_now(call_ids)
        missing = [i for i in call_ids if i not in found]
        if missing:
            missing = [i for i in missing if i not in self._unknown.recall_now(missing)]
        if not missing:
            return found
        shared: dict[str, str] | None = await self._breaker.call(
            lambda: self._primary.recall(missing), lambda: None
        )
        if shared is not None:  # Redis answered: what it lacks, no process relayed
            found.update(shared)
            self._unknown.remember_now({i: "?" for i in missing if i not in shared})
        return found
