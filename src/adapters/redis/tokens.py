"""Redis access-token cache and refresh lock, shared by every gateway process.

- `auth:oauth:{provider_id}:{account_id}`: JSON `{"access_token": <ciphertext>, "expires_at":
  "<RFC 3339>"}`; the access token is encrypted with the credential key (bound to the key
  name), `expires_at` stays readable. The key expires when the token must be refreshed (its
  lifetime minus the refresh skew), so `TTL` says how much longer it is handed out and `DEL`
  makes the next request refresh it.
- `auth:oauth:lock:{provider_id}:{account_id}`: the holder of the refresh under way, with an
  expiry (a process that dies while refreshing frees it); released by compare-and-delete.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import msgspec
import redis.asyncio as aioredis

from aigateway.adapters.crypto import CredentialCipher, DecryptionFailed
from aigateway.domain.credentials.tokens import OAuthToken

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class _Cached(msgspec.Struct):
    access_token: str
    expires_at: datetime


def token_key(provider_id: str, account_id: str, prefix: str = "") -> str:
    return f"{prefix}auth:oauth:{provider_id}:{account_id}"


class RedisTokenCache:
    def __init__(self, redis: aioredis.Redis, cipher: CredentialCipher, prefix: str = "") -> None:
        self._redis = redis
        self._cipher = cipher
        self._prefix = prefix

    async def get(self, provider_id: str, account_id: str) -> OAuthToken | None:
        key = token_key(provider_id, account_id, self._prefix)
        raw = await self._redis.get(key)
        if raw is None:
            return None
        try:
            cached = msgspec.json.decode(raw, type=_Cached)
            plain = self._cipher.decrypt(cached.access_token, context=key).decode()
        except (msgspec.DecodeError, DecryptionFailed, UnicodeDecodeError):
            log.warning("token cache: %s cannot be read; it is refreshed", key)
            return None
        return OAuthToken(plain, cached.expires_at)

    async def put(
        self, provider_id: str, account_id: str, token: OAuthToken, ttl: timedelta
    ) -> None:
        key = token_key(provider_id, account_id, self._prefix)
        milliseconds = int(ttl.total_seconds() * 1000)
        if milliseconds <= 0:
            await self._redis.delete(key)
            return
        sealed = self._cipher.encrypt(token.access_token.encode(), context=key)
        value = msgspec.json.encode(_Cached(sealed, token.expires_at))
        await self._redis.set(key, value, px=milliseconds)

    async def delete(self, provider_id: str, account_id: str) -> bool:
        return bool(await self._redis.delete(token_key(provider_id, account_id, self._prefix)))

    async def ttl(self, provider_id: str, account_id: str) -> timedelta | None:
        milliseconds = await self._redis.pttl(token_key(provider_id, account_id, self._prefix))
        if milliseconds is None or milliseconds < 0:  # -2: no key; -1: no expiry (not ours)
            return None
        return timedelta(milliseconds=milliseconds)


class RedisRefreshLock:
    def __init__(self, redis: aioredis.Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._release = redis.register_script(_RELEASE)

    def _key(self, provider_id: str, account_id: str) -> str:
        return f"{self._prefix}auth:oauth:lock:{provider_id}:{account_id}"

    async def acquire(
        self, provider_id: str, account_id: str, holder: str, expiry: timedelta
    ) -> bool:
        milliseconds = max(1, int(expiry.total_seconds() * 1000))
        key = self._key(provider_id, account_id)
        return bool(await self._redis.set(key, holder, nx=True, px=milliseconds))

    async def release(self, provider_id: str, account_id: str, holder: str) -> bool:
        key = self._key(provider_id, account_id)
        return bool(await self._release(keys=[key], args=[holder]))
