"""Operator use cases of the outbound proxy pool: the proxies, where accounts leave from, and a
manual test through one proxy.

Every write is one unit of work that also reassigns the accounts (`ProxyAssignments.apply`), so
an operator's change takes effect at once: the accounts of a proxy that is disabled, deleted,
narrowed to other providers or given less room move to the others, capacity permitting. The
proxy rows are locked first, before anything is written, so writes and recalculations in
several processes queue instead of deadlocking.

A proxy URL's password is a credential: it is never shown (`ProxyEndpoint.masked()`), and no
message here contains it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from aigateway.application.errors import ValidationFailed
from aigateway.application.ports.clock import Clock
from aigateway.application.ports.repositories import Conflict, NotFound, Placement
from aigateway.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from aigateway.application.use_cases.admin import MAX_PROXY_ID
from aigateway.application.use_cases.admin_checks import check_text
from aigateway.application.use_cases.proxy_assignments import AssignmentReport, ProxyAssignments
from aigateway.application.use_cases.proxy_health import ProxyMonitor
from aigateway.domain.proxies import (
    InvalidProxyUrl,
    Proxy,
    ProxyEndpoint,
    ProxyHealth,
    parse_proxy_url,
)
from aigateway.domain.redaction import mask_url, redacted

MAX_LABEL = 100
MAX_ACCOUNTS_LIMIT = 100_000  # `max_accounts` above this is a typo, not a plan
PRIORITY_LIMIT = 1_000_000  # `priority` lies within +- this
MAX_PROVIDERS = 50
MAX_TEST_URL = 2048


@redacted("url")
class NewProxy(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str  # scheme://[user:password@]host:port; the scheme may be left to `protocol`
    protocol: str | None = None
    label: str = ""
    is_active: bool = True
    max_accounts: int = 0  # 0: no limit
    priority: int = 0  # higher first
    providers: list[str] = msgspec.field(default_factory=list)  # empty: every provider


@redacted("url")
class ProxyPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str | UnsetType = UNSET
    protocol: str | UnsetType = UNSET
    label: str | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    max_accounts: int | UnsetType = UNSET
    priority: int | UnsetType = UNSET
    providers: list[str] | UnsetType = UNSET


class ProxyState(msgspec.Struct, frozen=True):
    """A proxy and the active accounts assigned to it."""

    proxy: Proxy
    accounts: tuple[str, ...]


class Assignments(msgspec.Struct, frozen=True):
    proxies: tuple[ProxyState, ...]
    unassigned: tuple[str, ...]  # active accounts without a (stored) proxy


class ProxyCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a test: `ok` when the URL answered through the proxy (any status)."""

    proxy_id: int
    url: str
    ok: bool
    status: int | None
    latency_ms: float | None
    error: str | None
    health: ProxyHealth  # the proxy's health after this outcome


class ProxiesAdmin:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        monitor: ProxyMonitor,
        assignments: ProxyAssignments | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._monitor = monitor
        self._assignments = assignments or ProxyAssignments(uow)

    async def list(self) -> Sequence[ProxyState]:
        return (await self.assignments()).proxies

    async def by_id(self) -> Mapping[int, Proxy]:
        """Every proxy by id (what account views show of their proxy)."""
        async with self._uow() as tx:
            return {p.id: p for p in await tx.proxies.list()}

    async def get(self, proxy_id: int) -> ProxyState:
        _check_id(proxy_id)
        async with self._uow() as tx:
            proxy = await tx.proxies.get(proxy_id)
            return _state(proxy, await tx.accounts.placements())

    async def assignments(self) -> Assignments:
        """Where the active accounts leave from, as stored."""
        async with self._uow() as tx:
            proxies = await tx.proxies.list()
            placements = await tx.accounts.placements()
        known = {p.id for p in proxies}
        unassigned = tuple(
            p.account_id for p in placements if p.is_active and p.proxy_id not in known
        )
        return Assignments(tuple(_state(p, placements) for p in proxies), unassigned)

    async def create(self, spec: NewProxy) -> ProxyState:
        now = self._clock.now()
        proxy = Proxy(
            id=0,  # the store gives it one
            endpoint=_endpoint(spec.url, spec.protocol),
            label=check_text("label", spec.label, MAX_LABEL, required=False),
            is_active=spec.is_active,
            max_accounts=_check_max_accounts(spec.max_accounts),
            priority=_check_priority(spec.priority),
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as tx:
            proxies = await tx.proxies.list(for_update=True)
            _check_unique(proxy.endpoint, proxies, None)
            providers = await _check_providers(tx, spec.providers)
            proxy = await tx.proxies.add(msgspec.structs.replace(proxy, providers=providers))
            await self._assignments.apply(tx)
            return _state(proxy, await tx.accounts.placements())

    async def update(self, proxy_id: int, patch: ProxyPatch) -> ProxyState:
        _check_id(proxy_id)
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if not isinstance(patch.label, UnsetType):
            changes["label"] = check_text("label", patch.label, MAX_LABEL, required=False)
        if not isinstance(patch.max_accounts, UnsetType):
            changes["max_accounts"] = _check_max_accounts(patch.max_accounts)
        if not isinstance(patch.priority, UnsetType):
            changes["priority"] = _check_priority(patch.priority)
        if not isinstance(patch.is_active, UnsetType):
            changes["is_active"] = patch.is_active
        async with self._uow() as tx:
            proxies = await tx.proxies.list(for_update=True)
            current = _find(proxies, proxy_id)
            endpoint = _changed_endpoint(current.endpoint, patch)
            if endpoint != current.endpoint:
                _check_unique(endpoint, proxies, proxy_id)
                changes["endpoint"] = endpoint
            if not isinstance(patch.providers, UnsetType):
                changes["providers"] = await _check_providers(tx, patch.providers)
            proxy = await tx.proxies.update(msgspec.structs.replace(current, **changes))
            if endpoint != current.endpoint:  # what was measured was another proxy
                proxy = _unchecked(proxy)
                await tx.proxies.record_health(proxy)
            await self._assignments.apply(tx)
            return _state(proxy, await tx.accounts.placements())

    async def delete(self, proxy_id: int) -> AssignmentReport:
        """Remove the proxy; its accounts move to the others (the report says where)."""
        _check_id(proxy_id)
        async with self._uow() as tx:
            _find(await tx.proxies.list(for_update=True), proxy_id)
            before = {p.account_id: p.proxy_id for p in await tx.accounts.placements()}
            await tx.proxies.delete(proxy_id)
            return await self._assignments.apply(tx, before)

    async def recalculate(self) -> AssignmentReport:
        return await self._assignments.recalculate()

    async def test(self, proxy_id: int, url: str | None = None) -> ProxyCheck:
        """GET `url` (default: the health check URL) through the proxy; the outcome counts in
        its health like a background check (a success brings a down proxy back)."""
        _check_id(proxy_id)
        target = None if url is None else check_test_url(url)
        async with self._uow() as tx:
            proxy = await tx.proxies.get(proxy_id)
        outcome = await self._monitor.check(proxy, target)
        error = outcome.error
        return ProxyCheck(
            proxy_id=proxy_id,
            url=mask_url(target or self._monitor.check_url),
            ok=error is None,
            status=outcome.status,
            latency_ms=outcome.latency_ms,
            error=None if error is None else _scrubbed(error, proxy.endpoint),
            health=outcome.proxy.health,
        )


def _check_id(proxy_id: int) -> None:
    if not 1 <= proxy_id <= MAX_PROXY_ID:
        raise NotFound(f"proxy {proxy_id} not found")


def _find(proxies: Sequence[Proxy], proxy_id: int) -> Proxy:
    for proxy in proxies:
        if proxy.id == proxy_id:
            return proxy
    raise NotFound(f"proxy {proxy_id} not found")


def _state(proxy: Proxy, placements: Sequence[Placement]) -> ProxyState:
    accounts = tuple(p.account_id for p in placements if p.is_active and p.proxy_id == proxy.id)
    return ProxyState(proxy, accounts)


def _endpoint(url: str, protocol: str | None) -> ProxyEndpoint:
    try:
        return parse_proxy_url(url, protocol)
    except InvalidProxyUrl as exc:
        raise ValidationFailed(str(exc)) from None


def _changed_endpoint(current: ProxyEndpoint, patch: ProxyPatch) -> ProxyEndpoint:
    protocol = None if isinstance(patch.protocol, UnsetType) else patch.protocol
    if isinstance(patch.url, UnsetType):
        if protocol is None:
            return current
        # the same proxy spoken to in another protocol
        return _endpoint(current.url.partition("://")[2], protocol)
    if protocol is None and "://" not in patch.url:
        protocol = current.protocol.value  # a URL without a scheme keeps the protocol
    return _endpoint(patch.url, protocol)


def _check_unique(endpoint: ProxyEndpoint, proxies: Sequence[Proxy], own_id: int | None) -> None:
    """One row per proxy account: the same host, port and user twice would leave from the
    same address under two names."""

    def key(e: ProxyEndpoint) -> tuple[str, str, int, str | None]:
        return (e.protocol.value, e.host.lower(), e.port, e.username)

    for other in proxies:
        if other.id != own_id and key(other.endpoint) == key(endpoint):
            raise Conflict(f"proxy {other.id} already has this url")


def _check_max_accounts(value: int) -> int:
    if not 0 <= value <= MAX_ACCOUNTS_LIMIT:
        raise ValidationFailed(
            f"max_accounts must be between 0 (no limit) and {MAX_ACCOUNTS_LIMIT}"
        )
    return value


def _check_priority(value: int) -> int:
    if not -PRIORITY_LIMIT <= value <= PRIORITY_LIMIT:
        raise ValidationFailed(f"priority must be between -{PRIORITY_LIMIT} and {PRIORITY_LIMIT}")
    return value


async def _check_providers(tx: UnitOfWork, provider_ids: list[str]) -> tuple[str, ...]:
    if len(provider_ids) > MAX_PROVIDERS:
        raise ValidationFailed(f"providers lists more than {MAX_PROVIDERS} providers")
    wanted = tuple(dict.fromkeys(check_text("providers[]", p, 50) for p in provider_ids))
    if not wanted:
        return ()
    readable, skipped = await tx.providers.list_with_skipped()
    known = {p.id for p in readable} | {row.id for row in skipped}
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise ValidationFailed(f"providers: unknown provider {', '.join(unknown)}")
    return wanted


def _unchecked(proxy: Proxy) -> Proxy:
    return msgspec.structs.replace(
        proxy,
        health=ProxyHealth.UNKNOWN,
        consecutive_failures=0,
        latency_ms=None,
        last_checked_at=None,
        marked_down_at=None,
    )


def check_test_url(url: str) -> str:
    """A test target: an http(s) URL with a host."""
    url = url.strip()
    if len(url) > MAX_TEST_URL:
        raise ValidationFailed(f"url is longer than {MAX_TEST_URL} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise ValidationFailed("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _port = parts.port
    except ValueError:
        raise ValidationFailed("url must be an http(s) URL with a host and a valid port") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("url must be an http(s) URL with a host")
    return url


def _scrubbed(message: str, endpoint: ProxyEndpoint) -> str:
    """A transport's error without the proxy's password, bounded."""
    if endpoint.password:
        for secret in {quote(endpoint.password, safe=""), endpoint.password}:
            message = message.replace(secret, "***")
    return message[:500]
