"""In-process access-token cache and refresh lock: one gateway process, no Redis.

Entries expire on the clock's monotonic time; both stores are bounded (one entry per account,
the oldest dropped beyond `MAX_ENTRIES`).
"""

from __future__ import annotations

from datetime import timedelta

from aigateway.application.ports.clock import Clock
from aigateway.domain.credentials.tokens import OAuthToken

MAX_ENTRIES = 10_000

_Key = tuple[str, str]


class InMemoryTokenCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tokens: dict[_Key, tuple[OAuthToken, float]] = {}  # -> (token, monotonic deadline)

    def _live(self, key: _Key) -> tuple[OAuthToken, float] | None:
        held = self._tokens.get(key)
        if held is not None and held[1] <= self._clock.monotonic():
            del self._tokens[key]
            return None
        return held

    async def get(self, provider_id: str, account_id: str) -> OAuthToken | None:
        held = self._live((provider_id, account_id))
        return held[0] if held else None

    async def put(
        self, provider_id: str, account_id: str, token: OAuthToken, ttl: timedelta
    ) -> None:
        key = (provider_id, account_id)
        seconds = ttl.total_seconds()
        if seconds <= 0:
            self._tokens.pop(key, None)
            return
        self._tokens.pop(key, None)
        if len(self._tokens) >= MAX_ENTRIES:
            del self._tokens[next(iter(self._tokens))]
        self._tokens[key] = (token, self._clock.monotonic() + seconds)

    async def delete(self, provider_id: str, account_id: str) -> bool:
        return self._live((provider_id, account_id)) is not None and bool(
            self._tokens.pop((provider_id, account_id), None)
        )

    async def ttl(self, provider_id: str, account_id: str) -> timedelta | None:
        held = self._live((provider_id, account_id))
        if held is None:
            return None
        return timedelta(seconds=held[1] - self._clock.monotonic())


class InMemoryRefreshLock:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held: dict[_Key, tuple[str, float]] = {}  # -> (holder, monotonic deadline)

    async def acquire(
        self, provider_id: str, account_id: str, holder: str, expiry: timedelta
    ) -> bool:
        key = (provider_id, account_id)
        now = self._clock.monotonic()
        held = self._held.get(key)
        if held is not None and held[1] > now:
            return False
        self._held.pop(key, None)
        if len(self._held) >= MAX_ENTRIES:
            del self._held[next(iter(self._held))]
        self._held[key] = (holder, now + expiry.total_seconds())
        return True

    async def release(self, provider_id: str, account_id: str, holder: str) -> bool:
        key = (provider_id, account_id)
        held = self._held.get(key)
        if held is None or held[0] != holder or held[1] <= self._clock.monotonic():
            return False
        del self._held[key]
        return True
