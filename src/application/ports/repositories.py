"""Persistence ports. The SQL adapter implements all of them; tests/doubles has in-memory ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Proxy


class NotFound(LookupError):
    """The row asked for does not exist."""


class Conflict(RuntimeError):
    """The write would break a uniqueness or reference rule."""


class StoreUnavailable(RuntimeError):
    """The backing store cannot be reached."""


class SkippedRow(msgspec.Struct, frozen=True):
    """A stored row that cannot be used: its id and why (never its content)."""

    id: str
    reason: str


class Unreadable(Conflict):
    """The row exists but cannot be read: a credential that does not decrypt with the configured
    secret key (or was altered), a provider of a kind this version does not know."""

    def __init__(self, what: str, row_id: str, reason: str) -> None:
        super().__init__(f"{what} {row_id!r} cannot be read: {reason}")
        self.skipped = SkippedRow(row_id, reason)


class ProviderRepository(Protocol):
    async def list(self) -> Sequence[Provider]:
        """The readable rows (see `list_with_skipped`)."""
        ...

    async def list_with_skipped(self) -> tuple[Sequence[Provider], Sequence[SkippedRow]]:
        """The readable rows, and the rows skipped because they are Unreadable."""
        ...

    async def get(self, provider_id: str) -> Provider: ...
    async def add(self, provider: Provider) -> Provider: ...
    async def update(self, provider: Provider) -> Provider: ...
    async def delete(self, provider_id: str) -> None: ...


class AccountRepository(Protocol):
    async def list(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> Sequence[Account]:
        """The readable rows (see `list_with_skipped`)."""
        ...

    async def list_with_skipped(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> tuple[Sequence[Account], Sequence[SkippedRow]]:
        """The readable rows, and the rows skipped because they are Unreadable."""
        ...

    async def get(self, account_id: str) -> Account: ...
    async def add(self, account: Account) -> Account: ...
    async def update(self, account: Account) -> Account: ...
    async def delete(self, account_id: str) -> None: ...
    async def disable(self, account_id: str, fingerprint: str, reason: str) -> bool:
        """Record `reason` (taking the account out of service) only while the account is
        active, not yet disabled, and still holds the credential with `fingerprint`; True
        when that changed the row."""
        ...

    async def record_usage(self, usage: dict[str, tuple[int, datetime]]) -> None:
        """Add `count` to usage_count and set last_used_at, per account id."""
        ...

    async def placements(self) -> Sequence[Placement]:
        """Every account's proxy (credentials are not read: unreadable rows are included)."""
        ...

    async def assign_proxies(self, assignments: Mapping[str, int | None]) -> int:
        """Set `proxy_id` per account id (unknown ids are ignored); how many rows changed."""
        ...


class Placement(msgspec.Struct, frozen=True):
    """Where an account's traffic goes, as stored."""

    account_id: str
    provider_id: str
    proxy_id: int | None
    is_active: bool


class ProxyRepository(Protocol):
    """The `proxy_pool` table. The password inside a proxy URL is stored encrypted."""

    async def list(self, *, for_update: bool = False) -> Sequence[Proxy]:
        """Every readable proxy, by id; `for_update` locks the rows until the transaction ends
        (so assignments computed from them are not raced by another process)."""
        ...

    async def list_with_skipped(
        self, *, for_update: bool = False
    ) -> tuple[Sequence[Proxy], Sequence[SkippedRow]]:
        """The readable proxies, and the rows that cannot be read (their id and why)."""
        ...

    async def get(self, proxy_id: int) -> Proxy: ...
    async def add(self, proxy: Proxy) -> Proxy:
        """Insert (the given id is ignored); the stored proxy with its new id."""
        ...

    async def update(self, proxy: Proxy) -> Proxy:
        """The operator's fields (endpoint, label, is_active, max_accounts, priority,
        providers); health fields are kept."""
        ...

    async def delete(self, proxy_id: int) -> None:
        """Remove it; accounts pointing at it keep no proxy (`proxy_id` becomes NULL)."""
        ...

    async def record_health(self, proxy: Proxy) -> bool:
        """Store the health fields (health, consecutive_failures, latency_ms, last_checked_at,
        marked_down_at); True when `health` itself changed (only that counts as a catalog
        change for the unit of work)."""
        ...


class ClientKeyRepository(Protocol):
    async def list(self) -> Sequence[ClientKey]: ...
    async def get(self, key_id: str) -> ClientKey: ...
    async def add(self, key: ClientKey) -> ClientKey: ...
    async def revoke(self, key_id: str) -> ClientKey: ...
    async def record_usage(self, last_used: dict[str, datetime]) -> None: ...


class SettingsStore(Protocol):
    """Small server-owned values (admin key hash, secret-key check)."""

    async def get(self, name: str) -> str | None: ...
    async def set(self, name: str, value: str) -> None: ...
