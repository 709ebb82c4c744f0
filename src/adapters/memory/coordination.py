"""In-process coordination: one gateway process, no Redis (the embedded default and tests).

`aggregate_stats` is the single definition of the `stats:*` counters; the Redis adapter
writes its result to Redis hashes, `InMemoryStatsCounters` adds it to dicts.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from aigateway.application.ports.coordination import Turn
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown

MAX_COUNTERS = 10_000
"""Round-robin counters kept in-process, one per (provider, model); least recently used out."""
MAX_COOLDOWNS = 10_000
"""Cooldowns kept in-process, one per (provider, account, model or every model)."""

StatsDelta = dict[str, Counter[str]]
"""Hash key (without prefix) -> field -> increment."""


def _day(entry: RequestLogEntry) -> str:
    created = entry.created_at
    if created.tzinfo is None:  # the log stores UTC; a naive value is taken as UTC
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC).date().isoformat()


def aggregate_stats(entries: Sequence[RequestLogEntry]) -> StatsDelta:
    """Sum a batch into per-day hash increments (see aigateway.adapters.redis.coordination).

    Fields whose increment is 0 are left out, so readers treat a missing field as 0.
    """
    delta: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for e in entries:
        day = _day(e)
        failed = e.status_code >= 400
        requests = delta[f"stats:requests:{day}"]
        requests.update(("total", "error" if failed else "success", f"status:{e.status_code}"))
        if e.provider_id is not None:
            requests[f"provider:{e.provider_id}"] += 1
        if e.model is not None:
            requests[f"model:{e.model}"] += 1
        prompt, completion = e.prompt_tokens or 0, e.completion_tokens or 0
        if prompt or completion:
            tokens = delta[f"stats:tokens:{day}"]
            tokens["prompt"] += prompt
            tokens["completion"] += completion
            if e.provider_id is not None:
                tokens[f"provider:{e.provider_id}:prompt"] += prompt
                tokens[f"provider:{e.provider_id}:completion"] += completion
        latency = delta[f"stats:latency_ms:{day}"]
        latency["sum"] += e.latency_ms
        latency["count"] += 1
        if e.account_id is not None:
            account = delta[f"stats:account:{e.account_id}:{day}"]
            account["requests"] += 1
            account["errors"] += failed
    return {key: +fields for key, fields in delta.items()}  # unary + drops zero fields


class InMemoryConfigVersion:
    def __init__(self) -> None:
        self._version = 0

    async def current(self) -> int:
        return self._version

    async def bump(self) -> int:
        self._version += 1
        return self._version


class NoStatsCounters:
    """Without Redis there is no `stats:*` store to count into (every request is still a
    `request_logs` row); counting in process memory would only grow, read by nobody."""

    async def record(self, entries: Sequence[RequestLogEntry]) -> None:
        return None


class StaticPinger:
    """A `Pinger` with a fixed answer (flip `ok` in tests)."""

    def __init__(self, name: str, ok: bool = True) -> None:
        self.name = name
        self.ok = ok

    async def ping(self) -> bool:
        return self.ok


class InMemoryRotation:
    """Round-robin and cooldowns for one process (the embedded default, and Redis's stand-in).

    Cooldowns are kept per (provider, model or None for every model), as in Redis, so a turn
    reads two small tables. Both kinds of table are bounded: at most `max_counters` counters
    (the least recently used goes, so that model's rotation starts over) and `max_cooldowns`
    cooldowns (those that ended are pruned when their model turns; when full, the quarter
    ending soonest goes)."""

    def __init__(
        self, *, max_counters: int = MAX_COUNTERS, max_cooldowns: int = MAX_COOLDOWNS
    ) -> None:
        self._max_counters = max_counters
        self._max_cooldowns = max_cooldowns
        self._counters: dict[tuple[str, str], int] = {}  # insertion order = recency of use
        self._cooldowns: dict[tuple[str, str | None], dict[str, Cooldown]] = {}
        self._size = 0  # cooldowns in all tables

    async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
        return self.turn_now(provider_id, model, now)

    def turn_now(self, provider_id: str, model: str, now: datetime) -> Turn:
        return Turn(self._bump(provider_id, model), self.cooling(provider_id, model, now))

    def _bump(self, provider_id: str, model: str) -> int:
        key = (provider_id, model)
        counter = self._counters.pop(key, 0) + 1  # no await here: atomic within the loop
        self._counters[key] = counter
        if len(self._counters) > self._max_counters:
            del self._counters[next(iter(self._counters))]
        return counter

    def cooling(self, provider_id: str, model: str, now: datetime) -> tuple[Cooldown, ...]:
        if not self._cooldowns:
            return ()
        return (*self._active((provider_id, model), now), *self._active((provider_id, None), now))

    def _active(self, key: tuple[str, str | None], now: datetime) -> list[Cooldown]:
        table = self._cooldowns.get(key)
        if table is None:
            return []
        active = [c for c in table.values() if c.active(now)]
        if len(active) < len(table):  # prune what ended
            self._size -= len(table) - len(active)
            if active:
                self._cooldowns[key] = {c.account_id: c for c in active}
            else:
                del self._cooldowns[key]
        return active

    async def cool_down(self, provider_id: str, cooldown: Cooldown) -> None:
        table = self._cooldowns.setdefault((provider_id, cooldown.model), {})
        current = table.get(cooldown.account_id)
        if current is None:
            self._size += 1
        if current is None or current.until < cooldown.until:
            table[cooldown.account_id] = cooldown
        if self._size > self._max_cooldowns:
            self._drop_soonest(max(1, self._max_cooldowns // 4))

    def _drop_soonest(self, count: int) -> None:
        every = (
            (c.until, key, c.account_id) for key, t in self._cooldowns.items() for c in t.values()
        )
        for _, key, account_id in heapq.nsmallest(count, every, key=lambda e: e[0]):
            table = self._cooldowns[key]
            del table[account_id]
            if not table:
                del self._cooldowns[key]
        self._size -= count

    async def cooldowns(self, provider_id: str, account_id: str, now: datetime) -> list[Cooldown]:
        return [
            table[account_id]
            for key, table in sorted(self._cooldowns.items(), key=lambda i: str(i[0]))
            if key[0] == provider_id and account_id in table and table[account_id].active(now)
        ]

    async def clear(self, provider_id: str, account_id: str) -> int:
        cleared = 0
        for key in [
            k for k, t in self._cooldowns.items() if k[0] == provider_id and account_id in t
        ]:
            table = self._cooldowns[key]
            del table[account_id]
            if not table:
                del self._cooldowns[key]
            cleared += 1
        self._size -= cleared
        return cleared
