"""Persistence ports. The SQL adapter implements all of them; tests/doubles has in-memory ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.providers import Provider


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
