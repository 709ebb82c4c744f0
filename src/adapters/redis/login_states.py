"""Pending OAuth logins in Redis, shared by every gateway process.

Key: `oauth:state:{state}` (after the configured prefix) holding the login as JSON (the PKCE
verifier included: it is useless without the authorization code), expiring with the login
(10 minutes). A login is taken with GETDEL, so it finishes at most once across processes.
"""

from __future__ import annotations

import math

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from aigateway.application.ports.onboarding import PendingLogin
from aigateway.application.ports.repositories import StoreUnavailable

_decoder = msgspec.json.Decoder(PendingLogin)


class RedisLoginStates:
    def __init__(self, redis: aioredis.Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = f"{prefix}oauth:state:"

    async def put(self, state: str, login: PendingLogin, ttl_s: float) -> None:
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        try:
            await self._redis.set(self._prefix + state, msgspec.json.encode(login), px=ttl_ms)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis: {type(exc).__name__}") from None

    async def peek(self, state: str) -> PendingLogin | None:
        try:
            return self._decoded(await self._redis.get(self._prefix + state))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis: {type(exc).__name__}") from None

    async def take(self, state: str) -> PendingLogin | None:
        try:
            return self._decoded(await self._redis.getdel(self._prefix + state))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis: {type(exc).__name__}") from None

    @staticmethod
    def _decoded(raw: bytes | str | None) -> PendingLogin | None:
        if raw is None:
            return None
        try:
            return _decoder.decode(raw)
        except msgspec.DecodeError:  # written by another version: the login starts over
            return None
