"""In-process coordination: one gateway process, no Redis (the embedded default and tests).

`aggregate_stats` is the single definition of the `stats:*` counters; the Redis adapter
writes its result to Redis hashes, `InMemoryStatsCounters` adds it to dicts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from aigateway.application.ports.coordination import Turn
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown

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


class InMemoryRoundRobinCursor:
    def __init__(self) -> None:
        self._counters: Counter[tuple[str, str]] = Counter()

    async def next(self, provider_id: str, model: str) -> int:
        return self.bump(provider_id, model)

    def bump(self, provider_id: str, model: str) -> int:
        key = (provider_id, model)
        self._counters[key] += 1  # no await in between: atomic within the event loop
        return self._counters[key]


class InMemoryConfigVersion:
    def __init__(self) -> None:
        self._version = 0

    async def current(self) -> int:
        return self._version

    async def bump(self) -> int:
        self._version += 1
        return self._version


class InMemoryStatsCounters:
    """Counters kept in dicts, shaped like the Redis hashes (no expiry)."""

    def __init__(self) -> None:
        self._hashes: defaultdict[str, Counter[str]] = defaultdict(Counter)

    async def record(self, entries: Sequence[RequestLogEntry]) -> None:
        for key, fields in aggregate_stats(entries).items():
            self._hashes[key].update(fields)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """`{key: {field: value}}`, as HGETALL of every `stats:*` key would give."""
        return {key: dict(fields) for key, fields in self._hashes.items()}


class StaticPinger:
    """A `Pinger` with a fixed answer (flip `ok` in tests)."""

    def __init__(self, name: str, ok: bool = True) -> None:
        self.name = name
        self.ok = ok

    async def ping(self) -> bool:
        return self.ok


class InMemoryRotation:
    """Round-robin and cooldowns for one process (the embedded default, and Redis's stand-in)."""

    def __init__(self) -> None:
        self._cursor = InMemoryRoundRobinCursor()
        self._cooldowns: dict[tuple[str, str, str | None], Cooldown] = {}

    async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
        return self.turn_now(provider_id, model, now)

    def turn_now(self, provider_id: str, model: str, now: datetime) -> Turn:
        return Turn(self._cursor.bump(provider_id, model), self.cooling(provider_id, model, now))

    def cooling(self, provider_id: str, model: str, now: datetime) -> tuple[Cooldown, ...]:
        if not self._cooldowns:
            return ()
        return tuple(
            c
            for (pid, _, _), c in self._cooldowns.items()
            if pid == provider_id and c.applies_to(model) and c.active(now)
        )

    async def cool_down(self, provider_id: str, cooldown: Cooldown) -> None:
        key = (provider_id, cooldown.account_id, cooldown.model)
        current = self._cooldowns.get(key)
        if current is None or current.until < cooldown.until:
            self._cooldowns[key] = cooldown

    async def cooldowns(self, provider_id: str, account_id: str, now: datetime) -> list[Cooldown]:
        return [
            c
            for (pid, aid, _), c in sorted(self._cooldowns.items(), key=lambda i: str(i[0]))
            if pid == provider_id and aid == account_id and c.active(now)
        ]

    async def clear(self, provider_id: str, account_id: str) -> int:
        keys = [k for k in self._cooldowns if k[0] == provider_id and k[1] == account_id]
        for key in keys:
            del self._cooldowns[key]
        return len(keys)
