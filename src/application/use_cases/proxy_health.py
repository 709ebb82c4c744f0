"""Proxy health: passive reports from live calls and active checks in the background.

A connect failure or timeout through a proxy counts against the proxy, not the account. After
`failure_threshold` such failures in a row the proxy is marked down: at once in this process
(its accounts are skipped from the next request on) and in the database, which every process
reads at its next catalog reload. The background check fetches `check_url` through every active
proxy each `interval_s`; a down proxy is tried again once `recovery` has passed since it went
down, and a success brings it and its accounts back. Pools of proxies that left the pool are
closed on the same beat.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from aigateway.application.ports.clock import Clock
from aigateway.application.ports.repositories import NotFound
from aigateway.application.ports.unit_of_work import UnitOfWorkFactory
from aigateway.application.ports.upstream import Upstream, UpstreamUnavailable
from aigateway.application.use_cases.catalog import CatalogCache
from aigateway.application.use_cases.notices import OperatorNotices
from aigateway.domain.proxies import (
    HealthPolicy,
    Proxy,
    ProxyHealth,
    Route,
    after_failure,
    after_success,
    due_for_check,
)

log = logging.getLogger(__name__)

MAX_CONCURRENT_CHECKS = 16


class CheckOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """One check through a proxy: the proxy after it, and what the URL answered."""

    proxy: Proxy
    status: int | None  # None: no answer
    latency_ms: float | None  # set on success
    error: str | None  # why there was no answer (never the proxy's credentials)


class ProxyMonitor:
    def __init__(
        self,
        catalog: CatalogCache,
        uow: UnitOfWorkFactory,
        upstream: Upstream,
        clock: Clock,
        notices: OperatorNotices,
        *,
        policy: HealthPolicy,
        check_url: str,
        check_timeout_s: float,
        interval_s: float,
    ) -> None:
        self._catalog = catalog
        self._uow = uow
        self._upstream = upstream
        self._clock = clock
        self._notices = notices
        self._policy = policy
        self.check_url = check_url
        self._check_timeout_s = check_timeout_s
        self._interval_s = interval_s
        self._failures: dict[int, int] = {}  # proxy id -> failed calls in a row (this process)
        self._writes: set[asyncio.Task[None]] = set()
        self._noted: set[int] = set()  # proxies whose "down" notice is shown

    # --- passive: called on the request path, no I/O ----------------------------------------

    def failed(self, proxy_id: int) -> None:
        proxy = self._catalog.proxy(proxy_id)
        if proxy is None or proxy.down:
            return
        count = self._failures.get(proxy_id, 0) + 1
        self._failures[proxy_id] = count  # keys are proxies of the snapshot: bounded
        if count < self._policy.failure_threshold:
            return
        self._failures.pop(proxy_id, None)
        now = self._clock.now()
        down = msgspec.structs.replace(
            proxy,
            health=ProxyHealth.DOWN,
            consecutive_failures=max(proxy.consecutive_failures, count),
            marked_down_at=now,
            last_checked_at=now,
        )
        log.warning(
            "proxy %s marked down after %d failed calls in a row; its accounts are skipped",
            proxy_id,
            count,
        )
        self._catalog.mark_proxy(down)
        self._note(down)
        task = asyncio.ensure_future(self._store_down(down))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def succeeded(self, proxy_id: int) -> None:
        if self._failures:
            self._failures.pop(proxy_id, None)

    # --- active -------------------------------------------------------------------------------

    async def watch(self) -> None:
        """Background task: check the proxies every interval; never dies on an error."""
        while True:
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("proxy health check failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self._interval_s)

    async def check_once(self) -> None:
        """One round: every active proxy that is due, a few at a time; then close the pools of
        proxies no longer in the pool."""
        catalog = self._catalog.current
        now = self._clock.now()
        stored = [p for p in catalog.proxies.values() if p.readable]
        for gone in self._noted - {p.id for p in stored if p.is_active}:
            self._clear(gone)  # deleted, disabled or unreadable since: not down any more
        for proxy in stored:  # also those another process marked down
            self._note(proxy)
        due = [p for p in stored if due_for_check(p, now, self._policy)]
        gate = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)

        async def check(proxy: Proxy) -> None:
            async with gate:
                await self.check(proxy)

        await asyncio.gather(*(check(p) for p in due))
        await self._upstream.retire([Route(p.id, p.endpoint) for p in stored])

    async def check(self, proxy: Proxy, url: str | None = None) -> CheckOutcome:
        """Fetch `url` (default: the check URL) through `proxy`; store and apply the outcome
        (counted on the stored row, so the checks of every process add up)."""
        started = self._clock.monotonic()
        route = Route(proxy.id, proxy.endpoint)
        status: int | None = None
        error: str | None = None
        latency_ms: float | None = None
        try:
            status = await self._upstream.probe(route, url or self.check_url, self._check_timeout_s)
        except UpstreamUnavailable as exc:
            log.info("proxy %s check failed: %s", proxy.id, exc)
            error = str(exc) or type(exc).__name__
        else:
            latency_ms = round((self._clock.monotonic() - started) * 1000, 1)
            self._failures.pop(proxy.id, None)
        checked = await self._store(proxy, latency_ms)
        if checked.health is not proxy.health:
            log.warning("proxy %s is %s", proxy.id, checked.health.value)
            self._catalog.mark_proxy(checked)
        self._note(checked)
        return CheckOutcome(proxy=checked, status=status, latency_ms=latency_ms, error=error)

    async def _store(self, proxy: Proxy, latency_ms: float | None) -> Proxy:
        """Apply a success (`latency_ms`) or a failure (None) to the stored row; the state
        applied to `proxy` when the row cannot be read or written (the next check stores)."""
        now = self._clock.now()

        def outcome(current: Proxy) -> Proxy:
            if latency_ms is None:
                return after_failure(current, now, self._policy)
            return after_success(current, latency_ms, now, self._policy)

        try:
            async with self._uow() as tx:
                checked = outcome(await tx.proxies.get(proxy.id))
                await tx.proxies.record_health(checked)
                return checked
        except NotFound:
            return proxy  # deleted meanwhile
        except Exception as exc:
            log.warning("proxy %s health not stored: %s: %s", proxy.id, type(exc).__name__, exc)
            return outcome(proxy)

    async def _store_down(self, down: Proxy) -> None:
        try:
            async with self._uow() as tx:
                current = await tx.proxies.get(down.id)
                failures = max(current.consecutive_failures, down.consecutive_failures)
                await tx.proxies.record_health(
                    msgspec.structs.replace(
                        current,
                        health=ProxyHealth.DOWN,
                        consecutive_failures=failures,
                        marked_down_at=down.marked_down_at,
                        last_checked_at=down.last_checked_at,
                    )
                )
        except NotFound:
            return
        except Exception as exc:  # applied here; a later failure or check stores it again
            log.warning("proxy %s health not stored: %s: %s", down.id, type(exc).__name__, exc)

    def _note(self, proxy: Proxy) -> None:
        if proxy.down and proxy.is_active:
            self._noted.add(proxy.id)
            self._notices.note(
                f"proxy:{proxy.id}",
                f"proxy {proxy.id} ({proxy.label or proxy.endpoint.masked()}) is down: its "
                "accounts are not used until a check through it succeeds",
                self._clock.now(),
            )
        else:
            self._clear(proxy.id)

    def _clear(self, proxy_id: int) -> None:
        self._noted.discard(proxy_id)
        self._notices.clear(f"proxy:{proxy_id}")
