"""The shared Redis client and its health probe."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis


def create_redis(url: str, *, max_connections: int = 64) -> aioredis.Redis:
    """One client (and connection pool) per process; keys and values stay bytes.

    The pool blocks (up to 1 s) when all connections are busy, instead of failing the burst
    with "Too many connections" as redis-py's default pool does beyond its limit.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=1,
        decode_responses=False,
        health_check_interval=30,
        socket_connect_timeout=1,
        socket_timeout=1,
    )
    return aioredis.Redis.from_pool(pool)


class RedisPinger:
    """`Pinger` for /health: True when Redis answers PING, False on any error or timeout."""

    name = "redis"

    def __init__(self, redis: aioredis.Redis, timeout: float = 1.0) -> None:
        self._redis = redis
        self._timeout = timeout

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._redis.ping())
        except Exception:
            return False
