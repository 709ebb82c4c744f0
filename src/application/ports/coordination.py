"""Ports for state every gateway process shares (Redis; in-process on the embedded default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aigateway.domain.request_log import RequestLogEntry


class RoundRobinCursor(Protocol):
    async def next(self, provider_id: str, model: str) -> int:
        """Increment and return the counter `account:rr:{provider}:{model}` (first call: 1)."""
        ...


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
