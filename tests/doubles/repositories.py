"""In-process repositories with the same behaviour as the SQL ones (test doubles; the
contract suite runs them next to SQLite and MariaDB)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, TypeVar

import msgspec

from aigateway.adapters.persistence.tables import MAX_DISABLED_REASON
from aigateway.application.ports.repositories import Conflict, NotFound, Placement, SkippedRow
from aigateway.application.ports.unit_of_work import CatalogChanged
from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import Proxy
from aigateway.domain.request_log import RequestLogEntry

S = TypeVar("S", bound=msgspec.Struct)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
    return value.astimezone(UTC)


def _copy(value: S) -> S:
    return copy.deepcopy(value)


class InMemoryProviderRepository:
    def __init__(self, providers: Iterable[Provider] = ()) -> None:
        self._rows: dict[str, Provider] = {}
        self._accounts: InMemoryAccountRepository | None = None
        for provider in providers:
            self._store(provider, created_at=provider.created_at or _now())

    def __contains__(self, provider_id: object) -> bool:
        return provider_id in self._rows

    async def list(self) -> Sequence[Provider]:
        return [_copy(self._rows[key]) for key in sorted(self._rows)]

    async def list_with_skipped(self) -> tuple[Sequence[Provider], Sequence[SkippedRow]]:
        return await self.list(), ()  # every row held in memory is readable

    async def get(self, provider_id: str) -> Provider:
        return _copy(self._find(provider_id))

    async def add(self, provider: Provider) -> Provider:
        if provider.id in self._rows:
            raise Conflict(f"provider {provider.id!r} already exists")
        return self._store(provider, created_at=provider.created_at or _now())

    async def update(self, provider: Provider) -> Provider:
        return self._store(provider, created_at=self._find(provider.id).created_at)

    async def delete(self, provider_id: str) -> None:
        self._find(provider_id)
        if self._accounts is not None and self._accounts.references(provider_id):
            raise Conflict(f"provider {provider_id!r} still has accounts")
        del self._rows[provider_id]

    def _find(self, provider_id: str) -> Provider:
        try:
            return self._rows[provider_id]
        except KeyError:
            raise NotFound(f"provider {provider_id!r} not found") from None

    def _store(self, provider: Provider, *, created_at: datetime | None) -> Provider:
        stored = msgspec.structs.replace(
            _copy(provider), created_at=_utc(created_at), updated_at=_now()
        )
        self._rows[provider.id] = stored
        return _copy(stored)


class InMemoryAccountRepository:
    """Accounts referencing `providers` (unknown provider ids are a Conflict, as in SQL)."""

    def __init__(self, providers: InMemoryProviderRepository) -> None:
        self._providers = providers
        self._rows: dict[str, Account] = {}
        self._proxies: InMemoryProxyRepository | None = None  # linked by the proxies
        providers._accounts = self

    def references(self, provider_id: str) -> bool:
        return any(a.provider_id == provider_id for a in self._rows.values())

    async def list(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> Sequence[Account]:
        rows = sorted(self._rows.values(), key=lambda a: (a.created_at or _now(), a.id))
        return [
            _copy(a)
            for a in rows
            if (provider_id is None or a.provider_id == provider_id)
            and (is_active is None or a.is_active == is_active)
        ]

    async def list_with_skipped(
        self, *, provider_id: str | None = None, is_active: bool | None = None
    ) -> tuple[Sequence[Account], Sequence[SkippedRow]]:
        return await self.list(provider_id=provider_id, is_active=is_active), ()

    async def get(self, account_id: str) -> Account:
        return _copy(self._find(account_id))

    async def add(self, account: Account) -> Account:
        self._require_provider(account.provider_id)
        self._require_proxies([account.proxy_id])
        if account.id in self._rows:
            raise Conflict(f"account {account.id!r} already exists")
        stored = msgspec.structs.replace(
            _copy(account),
            expires_at=_utc(account.expires_at),
            last_used_at=_utc(account.last_used_at),
            created_at=_utc(account.created_at) or _now(),
            updated_at=_now(),
        )
        self._rows[account.id] = stored
        return _copy(stored)

    async def update(self, account: Account) -> Account:
        """Replace the account's settings and credential; usage counters are left alone."""
        self._require_provider(account.provider_id)
        self._require_proxies([account.proxy_id])
        current = self._find(account.id)
        stored = msgspec.structs.replace(
            _copy(account),
            expires_at=_utc(account.expires_at),
            last_used_at=current.last_used_at,
            usage_count=current.usage_count,
            created_at=current.created_at,
            updated_at=_now(),
        )
        self._rows[account.id] = stored
        return _copy(stored)

    async def delete(self, account_id: str) -> None:
        self._find(account_id)
        del self._rows[account_id]

    async def disable(self, account_id: str, fingerprint: str, reason: str) -> bool:
        current = self._rows.get(account_id)
        if (
            current is None
            or not current.is_active
            or current.disabled_reason is not None
            or current.credential.fingerprint() != fingerprint
        ):
            return False
        self._rows[account_id] = msgspec.structs.replace(
            current, disabled_reason=reason[:MAX_DISABLED_REASON], updated_at=_now()
        )
        return True

    async def record_usage(self, usage: dict[str, tuple[int, datetime]]) -> None:
        for account_id, (count, used_at) in usage.items():
            current = self._rows.get(account_id)
            if current is None:
                continue
            at = _utc(used_at)
            last = current.last_used_at
            self._rows[account_id] = msgspec.structs.replace(
                current,
                usage_count=current.usage_count + count,
                last_used_at=at if last is None or (at is not None and at > last) else last,
            )

    async def placements(self) -> Sequence[Placement]:
        rows = sorted(self._rows.values(), key=lambda a: (a.created_at or _now(), a.id))
        return [Placement(a.id, a.provider_id, a.proxy_id, a.is_active) for a in rows]

    async def assign_proxies(self, assignments: Mapping[str, int | None]) -> int:
        self._require_proxies(assignments.values())
        changed = 0
        for account_id, proxy_id in assignments.items():
            current = self._rows.get(account_id)
            if current is not None and current.proxy_id != proxy_id:
                self._rows[account_id] = msgspec.structs.replace(current, proxy_id=proxy_id)
                changed += 1
        return changed

    def unassign(self, proxy_id: int) -> None:
        """A deleted proxy's accounts keep no proxy (the SQL foreign key's ON DELETE SET NULL)."""
        for account_id, account in list(self._rows.items()):
            if account.proxy_id == proxy_id:
                self._rows[account_id] = msgspec.structs.replace(account, proxy_id=None)

    def _find(self, account_id: str) -> Account:
        try:
            return self._rows[account_id]
        except KeyError:
            raise NotFound(f"account {account_id!r} not found") from None

    def _require_provider(self, provider_id: str) -> None:
        if provider_id not in self._providers:
            raise Conflict(f"unknown provider {provider_id!r}")

    def _require_proxies(self, proxy_ids: Iterable[int | None]) -> None:
        """Only once a proxy repository is linked (`InMemoryProxyRepository(accounts)`)."""
        if self._proxies is None:
            return
        missing = {p for p in proxy_ids if p is not None and p not in self._proxies._rows}
        if missing:
            raise Conflict(f"unknown proxy {min(missing)}")


class InMemoryProxyRepository:
    """The proxy pool; linked to `accounts`, a proxy id they name must exist and deleting a
    proxy unassigns its accounts (as the SQL foreign key does). Ids are never reused."""

    def __init__(self, accounts: InMemoryAccountRepository | None = None) -> None:
        self._rows: dict[int, Proxy] = {}
        self._last_id = 0
        self._accounts = accounts
        if accounts is not None:
            accounts._proxies = self

    @classmethod
    def of(cls, accounts: InMemoryAccountRepository) -> InMemoryProxyRepository:
        """The proxies linked to `accounts`, linked now when there are none yet."""
        return accounts._proxies if accounts._proxies is not None else cls(accounts)

    async def list(self, *, for_update: bool = False) -> Sequence[Proxy]:
        return [_copy(self._rows[key]) for key in sorted(self._rows)]

    async def list_with_skipped(
        self, *, for_update: bool = False
    ) -> tuple[Sequence[Proxy], Sequence[SkippedRow]]:
        return await self.list(for_update=for_update), ()

    async def get(self, proxy_id: int) -> Proxy:
        return _copy(self._find(proxy_id))

    async def add(self, proxy: Proxy) -> Proxy:
        self._last_id += 1
        now = _now()
        stored = msgspec.structs.replace(
            _copy(proxy),
            id=self._last_id,
            last_checked_at=_utc(proxy.last_checked_at),
            marked_down_at=_utc(proxy.marked_down_at),
            created_at=_utc(proxy.created_at) or now,
            updated_at=now,
        )
        self._rows[stored.id] = stored
        return _copy(stored)

    async def update(self, proxy: Proxy) -> Proxy:
        current = self._find(proxy.id)
        stored = msgspec.structs.replace(
            current,
            endpoint=proxy.endpoint,
            label=proxy.label,
            is_active=proxy.is_active,
            max_accounts=proxy.max_accounts,
            priority=proxy.priority,
            providers=tuple(proxy.providers),
            updated_at=_now(),
        )
        self._rows[proxy.id] = stored
        return _copy(stored)

    async def delete(self, proxy_id: int) -> None:
        self._find(proxy_id)
        del self._rows[proxy_id]
        if self._accounts is not None:
            self._accounts.unassign(proxy_id)

    async def record_health(self, proxy: Proxy) -> bool:
        current = self._find(proxy.id)
        self._rows[proxy.id] = msgspec.structs.replace(
            current,
            health=proxy.health,
            consecutive_failures=proxy.consecutive_failures,
            latency_ms=proxy.latency_ms,
            last_checked_at=_utc(proxy.last_checked_at),
            marked_down_at=_utc(proxy.marked_down_at),
        )
        return current.health != proxy.health

    def catalog_view(self) -> dict[int, Proxy]:
        """The rows as the catalog sees them: without the fields that every health check
        rewrites (a change there alone is no catalog change; see `record_health`)."""
        return {
            key: msgspec.structs.replace(
                row,
                consecutive_failures=0,
                latency_ms=None,
                last_checked_at=None,
                marked_down_at=None,
            )
            for key, row in self._rows.items()
        }

    def _find(self, proxy_id: int) -> Proxy:
        try:
            return self._rows[proxy_id]
        except KeyError:
            raise NotFound(f"proxy {proxy_id} not found") from None


class InMemoryClientKeyRepository:
    def __init__(self) -> None:
        self._rows: dict[str, ClientKey] = {}

    async def list(self) -> Sequence[ClientKey]:
        return sorted(self._rows.values(), key=lambda k: (k.created_at or _now(), k.id))

    async def get(self, key_id: str) -> ClientKey:
        return self._find(key_id)

    async def add(self, key: ClientKey) -> ClientKey:
        if key.id in self._rows or any(k.key_hash == key.key_hash for k in self._rows.values()):
            raise Conflict("a client key with this id or hash already exists")
        stored = msgspec.structs.replace(
            key,
            last_used_at=_utc(key.last_used_at),
            created_at=_utc(key.created_at) or _now(),
        )
        self._rows[key.id] = stored
        return stored

    async def revoke(self, key_id: str) -> ClientKey:
        stored = msgspec.structs.replace(self._find(key_id), is_active=False)
        self._rows[key_id] = stored
        return stored

    async def record_usage(self, last_used: dict[str, datetime]) -> None:
        for key_id, used_at in last_used.items():
            current = self._rows.get(key_id)
            if current is None:
                continue
            at = _utc(used_at)
            if current.last_used_at is None or (at is not None and at > current.last_used_at):
                self._rows[key_id] = msgspec.structs.replace(current, last_used_at=at)

    def _find(self, key_id: str) -> ClientKey:
        try:
            return self._rows[key_id]
        except KeyError:
            raise NotFound(f"client key {key_id!r} not found") from None


class InMemorySettingsStore:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self._values.get(name)

    async def set(self, name: str, value: str) -> None:
        self._values[name] = value


class InMemoryRequestLogSink:
    """Keeps every written entry in `rows`, oldest first."""

    def __init__(self) -> None:
        self.rows: list[RequestLogEntry] = []

    async def write(self, entries: Sequence[RequestLogEntry]) -> None:
        self.rows.extend(copy.copy(entry) for entry in entries)


class InMemoryUnitOfWork:
    """The UnitOfWork port over the in-memory repositories, one at a time (like SQLite's
    write lock): an exception restores the rows; a commit that changed a row calls the hook
    (for proxies: a change other than the health-check bookkeeping, see `catalog_view`)."""

    def __init__(
        self,
        providers: InMemoryProviderRepository,
        accounts: InMemoryAccountRepository,
        keys: InMemoryClientKeyRepository,
        catalog_changed: CatalogChanged,
        lock: asyncio.Lock,
        proxies: InMemoryProxyRepository | None = None,
    ) -> None:
        self.providers = providers
        self.accounts = accounts
        self.keys = keys
        self.proxies = proxies if proxies is not None else InMemoryProxyRepository.of(accounts)
        self._catalog_changed = catalog_changed
        self._lock = lock
        self._before = self._rows()
        self._seen = self._catalog()

    def _rows(
        self,
    ) -> tuple[dict[str, Provider], dict[str, Account], dict[str, ClientKey], dict[int, Proxy]]:
        return (
            dict(self.providers._rows),
            dict(self.accounts._rows),
            dict(self.keys._rows),
            dict(self.proxies._rows),
        )

    def _catalog(self) -> tuple[object, ...]:
        return (*self._rows()[:3], self.proxies.catalog_view())

    async def __aenter__(self) -> Self:
        await self._lock.acquire()
        self._before = self._rows()
        self._seen = self._catalog()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        changed = self._catalog() != self._seen
        if exc_type is not None:
            (
                self.providers._rows,
                self.accounts._rows,
                self.keys._rows,
                self.proxies._rows,
            ) = self._before
        self._lock.release()
        if exc_type is None and changed:
            await self._catalog_changed()


class InMemoryUnitsOfWork:
    """A UnitOfWorkFactory for the in-memory repositories (`proxies`: the ones linked to
    `accounts`, linked now when there are none)."""

    def __init__(
        self,
        providers: InMemoryProviderRepository,
        accounts: InMemoryAccountRepository,
        keys: InMemoryClientKeyRepository,
        catalog_changed: CatalogChanged,
        proxies: InMemoryProxyRepository | None = None,
    ) -> None:
        self._parts = (providers, accounts, keys, catalog_changed)
        self._proxies = proxies if proxies is not None else InMemoryProxyRepository.of(accounts)
        self._lock = asyncio.Lock()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(*self._parts, self._lock, self._proxies)
