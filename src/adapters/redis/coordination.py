"""Redis implementations of the coordination ports, shared by every gateway process.

Key layout (every key is preceded by the configured prefix, "" in production; `{day}` is the
UTC date `YYYY-MM-DD` of the request's `created_at`):

- `account:rr:{provider}:{model}`: int (INCR), the round-robin counter of that provider and
  (resolved) model; expires `ROTATION_TTL_SECONDS` (a day) after its last use, and then
  simply starts over at 1. `GET` shows how many requests were routed.
- `cooldown:{provider}:{model}` (`*`: every model) and `cooldown:info:{account_id}`: see
  `RedisRotation`; each expires with the last cooldown it holds.
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

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from aigateway.adapters.memory.coordination import aggregate_stats
from aigateway.adapters.redis.pipelined import PipelinedRedis
from aigateway.application.ports.coordination import Turn
from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown

STATS_TTL_SECONDS = 35 * 24 * 3600
ROTATION_TTL_SECONDS = 24 * 3600


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


# One round trip per request: INCR the round-robin counter (re-arming its expiry) and read the
# cooldowns that apply to the (provider, model): the model's sorted set and the provider's
# whole-account set.
_TURN_SCRIPT = f"""
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], {ROTATION_TTL_SECONDS})
local out = {{n}}
for i = 2, #KEYS do
  local found = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. ARGV[1], '+inf', 'WITHSCORES')
  for _, v in ipairs(found) do out[#out + 1] = v end
end
return out
"""
_TURN_SHA = hashlib.sha1(_TURN_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis script id
ANY_MODEL = "*"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisRotation:
    """`Rotation` on Redis. Cooldowns live in sorted sets `cooldown:{provider}:{model}`
    (`*` for the whole account; member = account id, score = end in epoch ms) and, for the
    admin API, in a hash `cooldown:info:{account_id}` (field = model or `*`, value = JSON with
    `until` and `reason`). Every key expires with its last cooldown."""

    def __init__(self, hot: PipelinedRedis, redis: aioredis.Redis, prefix: str = "") -> None:
        self._hot = hot
        self._redis = redis
        self._prefix = prefix

    def _set_key(self, provider_id: str, model: str | None) -> str:
        return f"{self._prefix}cooldown:{provider_id}:{model or ANY_MODEL}"

    def _info_key(self, account_id: str) -> str:
        return f"{self._prefix}cooldown:info:{account_id}"

    async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
        keys = (
            f"{self._prefix}account:rr:{provider_id}:{model}",
            self._set_key(provider_id, model),
            self._set_key(provider_id, None),
        )
        try:
            reply = await self._hot.execute("EVALSHA", _TURN_SHA, len(keys), *keys, _ms(now))
        except ResponseError as exc:
            if "NOSCRIPT" not in str(exc):
                raise
            reply = await self._hot.execute("EVAL", _TURN_SCRIPT, len(keys), *keys, _ms(now))
        assert isinstance(reply, list) and reply
        counter, rest = int(reply[0]), reply[1:]
        cooling = tuple(
            Cooldown(
                account_id=rest[i].decode(),
                model=model,
                until=datetime.fromtimestamp(int(float(rest[i + 1])) / 1000, UTC),
            )
            for i in range(0, len(rest) - 1, 2)
        )
        return Turn(counter, cooling)

    async def cool_down(self, provider_id: str, cooldown: Cooldown) -> None:
        until = _ms(cooldown.until)
        set_key = self._set_key(provider_id, cooldown.model)
        info_key = self._info_key(cooldown.account_id)
        info = msgspec.json.encode({"until": until, "reason": cooldown.reason})
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(set_key, {cooldown.account_id: until}, gt=True)
            pipe.zadd(set_key, {cooldown.account_id: until}, nx=True)
            pipe.pexpireat(set_key, until, gt=True)
            pipe.pexpireat(set_key, until, nx=True)
            pipe.hset(info_key, cooldown.model or ANY_MODEL, info)
            pipe.pexpireat(info_key, until, gt=True)
            pipe.pexpireat(info_key, until, nx=True)
            await pipe.execute()

    async def cooldowns(self, provider_id: str, account_id: str, now: datetime) -> list[Cooldown]:
        stored = await self._redis.hgetall(self._info_key(account_id))
        found = []
        for field, raw in sorted(stored.items()):
            value = msgspec.json.decode(raw)
            model = _text(field)
            cooldown = Cooldown(
                account_id=account_id,
                model=None if model == ANY_MODEL else model,
                until=datetime.fromtimestamp(value["until"] / 1000, UTC),
                reason=value.get("reason", ""),
            )
            if cooldown.active(now):
                found.append(cooldown)
        return found

    async def clear(self, provider_id: str, account_id: str) -> int:
        info_key = self._info_key(account_id)
        fields = await self._redis.hkeys(info_key)
        async with self._redis.pipeline(transaction=False) as pipe:
            for field in fields:
                model = _text(field)
                key = self._set_key(provider_id, None if model == ANY_MODEL else model)
                pipe.zrem(key, account_id)
            pipe.delete(info_key)
            await pipe.execute()
        return len(fields)
