"""Pending OAuth logins in process memory (the embedded default): bounded, expiring."""

from __future__ import annotations

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.onboarding import PendingLogin

MAX_PENDING_LOGINS = 1_000


class InMemoryLoginStates:
    """At most `max_pending` logins; when full, expired ones go first, then the oldest."""

    def __init__(self, clock: Clock, *, max_pending: int = MAX_PENDING_LOGINS) -> None:
        self._clock = clock
        self._max_pending = max_pending
        self._logins: dict[str, tuple[float, PendingLogin]] = {}  # insertion order = age

    async def put(self, state: str, login: PendingLogin, ttl_s: float) -> None:
        now = self._clock.monotonic()
        self._logins.pop(state, None)
        if len(self._logins) >= self._max_pending:
            self._logins = {s: e for s, e in self._logins.items() if e[0] > now}
            while len(self._logins) >= self._max_pending:
                del self._logins[next(iter(self._logins))]
        self._logins[state] = (now + ttl_s, login)

    async def peek(self, state: str) -> PendingLogin | None:
        entry = self._logins.get(state)
        if entry is None or entry[0] <= self._clock.monotonic():
            return None
        return entry[1]

    async def take(self, state: str) -> PendingLogin | None:
        entry = self._logins.pop(state, None)  # no await before: atomic within the loop
        if entry is None or entry[0] <= self._clock.monotonic():
            return None
        return entry[1]
