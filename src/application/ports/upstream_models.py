"""What an upstream account reports about its models: which it may use, and its quota."""

from __future__ import annotations

from typing import Protocol

import msgspec

from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Route


class ModelQuota(msgspec.Struct, frozen=True, kw_only=True):
    model: str  # the runtime id requests name
    display_name: str | None
    remaining_fraction: float | None  # 0..1; None: upstream reports no quota for it
    reset_time: str | None  # RFC 3339, as upstream reports it


class ModelsReport(msgspec.Struct, frozen=True, kw_only=True):
    models: tuple[ModelQuota, ...]
    deprecated: dict[str, str] = msgspec.field(default_factory=dict)  # old id -> new id

    def ids(self) -> tuple[str, ...]:
        return tuple(m.model for m in self.models)


class ModelsUnavailable(RuntimeError):
    """The account's models could not be fetched (the message says why, never with a token)."""


class ModelsSource(Protocol):
    async def fetch(
        self, provider: Provider, secret: str, project: str, route: Route
    ) -> ModelsReport:
        """The account's models as upstream reports them now; raises ModelsUnavailable."""
        ...


class ModelListing(Protocol):
    """What the accounts' last reports say, read on the request path (no I/O)."""

    def lists(self, account_id: str, model: str) -> bool:
        """The account's last report lists `model` (False when there is no report)."""
        ...
