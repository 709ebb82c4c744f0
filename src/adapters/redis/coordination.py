"""Redis implementations of the coordination ports, shared by every gateway process.

Key layout (every key is preceded by the configured prefix, "" in production; `{day}` is the
UTC date `YYYY-MM-DD` of the request's `created_at`):

- `account:rr:{provider}:{model}`: int (INCR), the round-robin counter of that provider and
  (resolved) model; no expiry. `GET` shows how many requests were routed.
- `config:version`: int (INCR), bumped by every admin write so that processes reload; no expiry.
- `stats:requests:{day}`: hash with `total`, `success` (status < 400), `error` (status >= 400),
  `status:{code}`, `provider:{provider_id}`, `model:{model}`.
- `stats:tokens:{day}`: hash with `prompt`, `completion`, `provider:{provider_id}:prompt`,
  `provider:{provider_id}:completion`.
- `stats:latency_ms:{day}`: hash with `sum` and `count` (mean latency = sum / count).
- `stats:account:{account_id}:{day}`: hash with `requests` and `errors` (status >= 400).

Missing fields read as 0 (increments of 0 are not written). A batch of request-log entries is
aggregated in the process (`aigateway.adapters.memory.coordination.aggregate_stats`) and written
in one pipelined round trip, which also re-arms the 35-day expiry of every key it touches.
Operators can inspect them with e.g. `redis-cli GET account:rr:openai:gpt-4o` or
`redis-cli HGETALL stats:requests:2025-01-31`.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from aigateway.adapters.memory.coordination import aggregate_stats
from aigateway.adapters.redis.pipelined import PipelinedRedis
from aigateway.domain.request_log import RequestLogEntry

STATS_TTL_SECONDS = 35 * 24 * 3600


class RedisRoundRobinCursor:
    def __init__(self, redis: aioredis.Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix

    async def next(self, provider_id: str, model: str) -> int:
        return await self._redis.incr(f"{self._prefix}account:rr:{provider_id}:{model}")


class PipelinedRoundRobinCursor:
    """The same counter as `RedisRoundRobinCursor`, on the lean pipelined connection."""

    def __init__(self, redis: PipelinedRedis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix

    async def next(self, provider_id: str, model: str) -> int:
        reply = await self._redis.execute("INCR", f"{self._prefix}account:rr:{provider_id}:{model}")
        assert isinstance(reply, int)
        return reply


class RedisConfigVersion:
    def __init__(self, redis: aioredis.Redis, prefix: str = "") -> None:
        self._redis = redis
        self._key = f"{prefix}config:version"

    async def current(self) -> int:
        value = await self._redis.get(self._key)
        return int(value) if value is not None else 0

    async def bump(self) -> int:
        return await self._redis.incr(self._key)


class RedisStatsCounters:
    def __init__(self, redis: aioredis.Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix

    async def record(self, entries: Sequence[RequestLogEntry]) -> None:
        delta = aggregate_stats(entries)
        if not delta:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, fields in delta.items():
            name = self._prefix + key
            for field, amount in fields.items():
                pipe.hincrby(name, field, amount)
            pipe.expire(name, STATS_TTL_SECONDS)
        await pipe.execute()
