"""The in-memory snapshot the hot path reads: providers, usable accounts, client keys, proxies.

No SQL per request: the snapshot is reloaded when the shared config version changes (every
admin write bumps it, so every process sees the change within the watch interval) and on a
short TTL. When the database cannot be read the previous snapshot keeps serving. A row that
cannot be read (a credential that does not decrypt, a provider of unknown kind) is left out of
the snapshot, logged at each reload and shown in /health; the rest of the snapshot is current.

The snapshot also holds each account's route: the proxy its calls go through. An account
without a usable route (no proxy, its proxy disabled or down, and direct egress not allowed)
is not served; the reasons are kept per provider for the 503 and /health.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import msgspec

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.coordination import ConfigVersion
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    Placement,
    ProviderRepository,
    ProxyRepository,
    SkippedRow,
)
from aigateway.application.use_cases.proxy_assignments import plan, stored_pool
from aigateway.domain.accounts import Account
from aigateway.domain.client_keys import ClientKey, hash_key
from aigateway.domain.providers import Provider
from aigateway.domain.proxies import (
    DirectEgress,
    NoRoute,
    Proxy,
    Route,
    route_for,
)
from aigateway.domain.routing.resolution import ModelRouter
from aigateway.domain.routing.round_robin import eligible

log = logging.getLogger(__name__)


class Skipped(msgspec.Struct, frozen=True):
    """Stored rows left out of the snapshot because they cannot be read."""

    providers: tuple[SkippedRow, ...] = ()
    accounts: tuple[SkippedRow, ...] = ()
    proxies: tuple[SkippedRow, ...] = ()


NOTHING_SKIPPED = Skipped()
MAX_REASONS = 5  # per provider: why its accounts cannot be routed (the rest are counted)

Reassign = Callable[[], Awaitable[object]]
"""Recalculate the stored proxy assignments (the proxies' admin use case)."""


class Catalog(msgspec.Struct, frozen=True):
    version: int
    providers: tuple[Provider, ...]
    accounts: Mapping[str, tuple[Account, ...]]  # provider id -> routable usable accounts, by id
    keys: Mapping[str, ClientKey]  # key hash -> active key
    router: ModelRouter
    seen_tokens: dict[str, ClientKey]
    skipped: Skipped
    routes: Mapping[str, Route]  # account id -> its route, for every account in `accounts`
    proxies: Mapping[int, Proxy]
    egress: DirectEgress
    unroutable: Mapping[str, tuple[str, ...]]  # provider id -> why accounts are not served
    candidates: tuple[Account, ...]  # every active account read (the input of `accounts`)
    placements: tuple[Placement, ...] = ()  # every account's stored proxy, readable or not

    def accounts_for(self, provider_id: str) -> tuple[Account, ...]:
        return self.accounts.get(provider_id, ())

    def holds(self, account: Account) -> bool:
        """True while the snapshot still has `account` in service with the same credential."""
        return any(
            a.id == account.id and a.credential == account.credential
            for a in self.accounts.get(account.provider_id, ())
        )

    def route_for(self, account: Account) -> Route | NoRoute:
        """How `account`'s calls leave the gateway now (NoRoute: they must not leave)."""
        route = self.routes.get(account.id)
        if route is not None and route.proxy_id == account.proxy_id:
            return route
        return route_for(
            account.id, account.provider_id, account.proxy_id, self.proxies, self.egress
        )

    def route_through(self, provider_id: str, proxy_id: int | None, who: str) -> Route | NoRoute:
        """The route of an account not stored yet (`who` names it in the reason)."""
        return route_for(who, provider_id, proxy_id, self.proxies, self.egress)

    def needs_assignment(self) -> bool:
        """Whether the stored assignment of active accounts to proxies is not the one the
        assignment rule gives (a proxy was disabled, deleted or added, an account is new)."""
        if not self.proxies:
            return False
        planned = plan(list(self.proxies.values()), self.placements)
        return any(planned[p.account_id] != p.proxy_id for p in self.placements if p.is_active)

    def with_proxy(self, proxy: Proxy) -> Catalog:
        """The same snapshot with one proxy's state replaced (its accounts rerouted)."""
        if proxy.id not in self.proxies:
            return self
        proxies = {**self.proxies, proxy.id: proxy}
        return build_catalog(
            self.version,
            self.providers,
            self.candidates,
            self.keys.values(),
            self.skipped,
            proxies=proxies.values(),
            egress=self.egress,
            placements=self.placements,
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
    *,
    proxies: Iterable[Proxy] = (),
    egress: DirectEgress = DirectEgress.WHEN_NO_PROXIES,
    placements: Iterable[Placement] = (),
) -> Catalog:
    providers = tuple(providers)
    candidates = tuple(accounts)
    pool = {p.id: p for p in proxies}
    by_provider: dict[str, list[Account]] = defaultdict(list)
    routes: dict[str, Route] = {}
    unroutable: dict[str, list[str]] = defaultdict(list)
    for account in eligible(candidates):
        route = route_for(account.id, account.provider_id, account.proxy_id, pool, egress)
        if isinstance(route, NoRoute):
            unroutable[account.provider_id].append(route.reason)
            continue
        routes[account.id] = route
        by_provider[account.provider_id].append(account)
    return Catalog(
        version,
        providers,
        {pid: tuple(accs) for pid, accs in by_provider.items()},
        {k.key_hash: k for k in keys if k.is_active},
        ModelRouter(providers),
        {},
        skipped,
        routes,
        pool,
        egress,
        {pid: _summary(reasons) for pid, reasons in unroutable.items()},
        candidates,
        tuple(placements),
    )


def _summary(reasons: list[str]) -> tuple[str, ...]:
    if len(reasons) <= MAX_REASONS:
        return tuple(reasons)
    return (*reasons[:MAX_REASONS], f"and {len(reasons) - MAX_REASONS} more")


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
        proxies: ProxyRepository | None = None,
        egress: DirectEgress = DirectEgress.WHEN_NO_PROXIES,
    ) -> None:
        self._proxies = proxies
        self._egress = egress
        self._reassign: Reassign | None = None
        self._settled: tuple[Mapping[int, Proxy], tuple[Placement, ...]] | None = None
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
            self.current = await self._load(version)
            self._loaded_at = self._clock.monotonic()
            return self.current

    async def _load(self, version: int | None) -> Catalog:
        if version is None:
            version = await self._version.current()
        providers, skipped_providers = await self._providers.list_with_skipped()
        accounts, skipped_accounts = await self._accounts.list_with_skipped(is_active=True)
        proxies: list[Proxy] = []
        skipped_proxies: Sequence[SkippedRow] = ()
        placements: Sequence[Placement] = ()
        if self._proxies is not None:
            proxies, skipped_proxies = await stored_pool(self._proxies)
            placements = await self._accounts.placements() if proxies else ()
        skipped = Skipped(tuple(skipped_providers), tuple(skipped_accounts), tuple(skipped_proxies))
        for kind, rows in (("provider", skipped.providers), ("account", skipped.accounts)):
            for row in rows:
                log.warning("catalog: %s %r skipped: %s", kind, row.id, row.reason)
        keys = await self._keys.list()
        return build_catalog(
            version,
            providers,
            accounts,
            keys,
            skipped,
            proxies=proxies,
            egress=self._egress,
            placements=placements,
        )

    async def changed(self) -> None:
        """Called after an admin write: tell every process, and reload here at once."""
        await self.reload(await self._version.bump())

    async def refresh_if_stale(self) -> None:
        version = await self._version.current()
        expired = self._clock.monotonic() - self._loaded_at >= self._ttl_s
        if version != self.current.version or expired:
            async with self._lock:
                fresh = await self._load(version)
            if self._reassign is not None and self._unsettled(fresh):
                # a proxy changed by hand: move its accounts before serving the new snapshot,
                # so they are never without a route in between
                try:
                    await self._reassign()
                except Exception as exc:  # served as loaded; the next reload tries again
                    log.warning("proxy reassignment failed: %s: %s", type(exc).__name__, exc)
                else:
                    await self.reload()
                    return
            async with self._lock:
                self.current = fresh
                self._loaded_at = self._clock.monotonic()

    def _unsettled(self, catalog: Catalog) -> bool:
        """Whether the snapshot's accounts are not where the assignment rule puts them. The
        rule runs once per distinct pool and placements, not at every reload (a token
        refresh reloads too, and the rule costs milliseconds over thousands of accounts)."""
        inputs = (catalog.proxies, catalog.placements)
        if inputs == self._settled:
            return False
        if catalog.needs_assignment():
            return True
        self._settled = inputs
        return False

    async def reconcile(self) -> None:
        """Move accounts where the assignment rule puts them, if the snapshot says they are
        not (a proxy disabled, deleted or added by hand, an account without a proxy)."""
        if self._reassign is not None and self._unsettled(self.current):
            await self._reassign()  # its unit of work announces the change

    def keep_assigned(self, reassign: Reassign) -> None:
        """After a reload whose accounts are not where the assignment rule puts them (a proxy
        disabled, deleted or added with SQL), `reassign` moves them (and announces it)."""
        self._reassign = reassign

    def mark_proxy(self, proxy: Proxy) -> None:
        """Apply a proxy's new health here at once (its accounts are skipped or served again),
        before the stored row reaches every process through the next reload."""
        self.current = self.current.with_proxy(proxy)

    def route_for(self, account: Account) -> Route | NoRoute:
        return self.current.route_for(account)

    def proxy(self, proxy_id: int) -> Proxy | None:
        return self.current.proxies.get(proxy_id)

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
