"""The in-memory snapshot the hot path reads: providers, usable accounts, client keys.

No SQL per request: the snapshot is reloaded when the shared config version changes (every
admin write bumps it, so every process sees the change within the watch interval) and on a
short TTL. When the database cannot be read the previous snapshot keeps serving. A row that
cannot be read (a credential that does not decrypt, a provider of unknown kind) is left out of
the snapshot, logged at each reload and shown in /health; the rest of the snapshot is current.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping

import msgspec

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import ConfigVersion
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    ProviderRepository,
    SkippedRow,
)
from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey, hash_key
from aigateway.domain.providers import Provider
from aigateway.domain.routing.resolution import ModelRouter
from aigateway.domain.routing.round_robin import eligible

log = logging.getLogger(__name__)


class Skipped(msgspec.Struct, frozen=True):
    """Stored rows left out of the snapshot because they cannot be read."""

    providers: tuple[SkippedRow, ...] = ()
    accounts: tuple[SkippedRow, ...] = ()


NOTHING_SKIPPED = Skipped()


class Catalog(msgspec.Struct, frozen=True):
    version: int
    providers: tuple[Provider, ...]
    accounts: Mapping[str, tuple[Account, ...]]  # provider id -> usable accounts, by id
    keys: Mapping[str, ClientKey]  # key hash -> active key
    router: ModelRouter
    seen_tokens: dict[str, ClientKey]
    skipped: Skipped

    def accounts_for(self, provider_id: str) -> tuple[Account, ...]:
        return self.accounts.get(provider_id, ())

    def holds(self, account: Account) -> bool:
        """True while the snapshot still has `account` in service with the same credential."""
        return any(
            a.id == account.id and a.credential == account.credential
            for a in self.accounts.get(account.provider_id, ())
        )

    def client_key(self, token: str) -> ClientKey | None:
        """The active key for a presented token. Hits are memoised per snapshot (at most one
        entry per active key), so a valid key is hashed once, not on every request."""
        memo = self.seen_tokens
        key = memo.get(token)
        if key is None:
            key = self.keys.get(hash_key(token))
            if key is not None:
                memo[token] = key
        return key


def build_catalog(
    version: int,
    providers: Iterable[Provider],
    accounts: Iterable[Account],
    keys: Iterable[ClientKey],
    skipped: Skipped = NOTHING_SKIPPED,
) -> Catalog:
    providers = tuple(providers)
    by_provider: dict[str, list[Account]] = defaultdict(list)
    for account in accounts:
        by_provider[account.provider_id].append(account)
    return Catalog(
        version,
        providers,
        {pid: eligible(accs) for pid, accs in by_provider.items()},
        {k.key_hash: k for k in keys if k.is_active},
        ModelRouter(providers),
        {},
        skipped,
    )


EMPTY_CATALOG = build_catalog(-1, (), (), ())


class CatalogCache:
    def __init__(
        self,
        providers: ProviderRepository,
        accounts: AccountRepository,
        keys: ClientKeyRepository,
        version: ConfigVersion,
        clock: Clock,
        *,
        ttl_s: float = 30.0,
        watch_interval_s: float = 1.0,
    ) -> None:
        self._providers = providers
        self._accounts = accounts
        self._keys = keys
        self._version = version
        self._clock = clock
        self._ttl_s = ttl_s
        self._watch_interval_s = watch_interval_s
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self.current: Catalog = EMPTY_CATALOG

    async def reload(self, version: int | None = None) -> Catalog:
        async with self._lock:
            if version is None:
                version = await self._version.current()
            providers, skipped_providers = await self._providers.list_with_skipped()
            accounts, skipped_accounts = await self._accounts.list_with_skipped(is_active=True)
            skipped = Skipped(tuple(skipped_providers), tuple(skipped_accounts))
            for kind, rows in (("provider", skipped.providers), ("account", skipped.accounts)):
                for row in rows:
                    log.warning("catalog: %s %r skipped: %s", kind, row.id, row.reason)
            self.current = build_catalog(
                version, providers, accounts, await self._keys.list(), skipped
            )
            self._loaded_at = self._clock.monotonic()
            return self.current

    async def changed(self) -> None:
        """Called after an admin write: tell every process, and reload here at once."""
        await self.reload(await self._version.bump())

    async def refresh_if_stale(self) -> None:
        version = await self._version.current()
        expired = self._clock.monotonic() - self._loaded_at >= self._ttl_s
        if version != self.current.version or expired:
            await self.reload(version)

    async def watch(self) -> None:
        """Background task: keep the snapshot fresh; never dies on a transient error."""
        while True:
            await asyncio.sleep(self._watch_interval_s)
            try:
                await self.refresh_if_stale()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catalog refresh failed, serving the previous snapshot: %s", exc)
