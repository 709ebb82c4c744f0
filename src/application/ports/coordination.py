"""Ports for state every gateway process shares (Redis; in-process on the embedded default)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from aigateway.domain.request_log import RequestLogEntry
from aigateway.domain.routing.eligibility import Cooldown


class ConfigVersion(Protocol):
    """A counter bumped by every admin write so that all processes reload their snapshot."""

    async def current(self) -> int: ...
    async def bump(self) -> int: ...


class StatsCounters(Protocol):
    async def record(self, entries: Sequence[RequestLogEntry]) -> None:
        """Add a batch of finished requests to the `stats:*` counters."""
        ...


class RequestLogSink(Protocol):
    async def write(self, entries: Sequence[RequestLogEntry]) -> None: ...


class Pinger(Protocol):
    """Reachability of one dependency, for /health."""

    name: str

    async def ping(self) -> bool: ...


class Turn(msgspec.Struct, frozen=True):
    """One request's place in the rotation: the round-robin counter, and the cooldowns that
    currently apply to the (provider, model) it is routed to."""

    counter: int
    cooling: tuple[Cooldown, ...] = ()


class Rotation(Protocol):
    """Round-robin plus shared cooldowns. `turn` is the hot path's one round trip."""

    async def turn(self, provider_id: str, model: str, now: datetime) -> Turn:
        """Increment the round-robin counter of (provider, model) (first turn: 1) and return it
        with the cooldowns that apply."""
        ...

    async def cool_down(self, provider_id: str, cooldown: Cooldown) -> None:
        """Keep `cooldown.account_id` out of the rotation for the model (None: every model)."""
        ...

    async def cooldowns(self, provider_id: str, account_id: str, now: datetime) -> list[Cooldown]:
        """The account's active cooldowns (for the admin API)."""
        ...

    async def clear(self, provider_id: str, account_id: str) -> int:
        """Lift every cooldown of the account; return how many there were."""
        ...
