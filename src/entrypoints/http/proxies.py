"""Admin routes of the outbound proxy pool (`/api/v1/proxies`), guarded like the rest of the
admin API. A proxy's URL is only ever shown masked (its password as `***`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.params import FromPath

from aigateway.application.ports.repositories import NotFound
from aigateway.application.use_cases.admin import MAX_PROXY_ID
from aigateway.application.use_cases.proxies_admin import (
    NewProxy,
    ProxiesAdmin,
    ProxyCheck,
    ProxyPatch,
    ProxyState,
)
from aigateway.application.use_cases.proxy_assignments import AssignmentReport
from aigateway.entrypoints.http.admin import Listing, decode_body
from aigateway.entrypoints.http.runtime import runtime_of

_ID = re.compile(r"[0-9]{1,10}")


class ProxyView(msgspec.Struct):
    id: int
    url: str  # masked
    protocol: str
    label: str
    is_active: bool
    max_accounts: int
    priority: int
    providers: list[str]
    health_status: str
    consecutive_failures: int
    latency_ms: float | None
    last_checked_at: datetime | None
    marked_down_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    accounts: int  # active accounts assigned to it

    @classmethod
    def of(cls, state: ProxyState) -> ProxyView:
        p = state.proxy
        return cls(
            id=p.id,
            url=p.endpoint.masked(),
            protocol=p.protocol.value,
            label=p.label,
            is_active=p.is_active,
            max_accounts=p.max_accounts,
            priority=p.priority,
            providers=list(p.providers),
            health_status=p.health.value,
            consecutive_failures=p.consecutive_failures,
            latency_ms=p.latency_ms,
            last_checked_at=p.last_checked_at,
            marked_down_at=p.marked_down_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
            accounts=len(state.accounts),
        )


class AssignedView(msgspec.Struct):
    id: int
    label: str
    url: str  # masked
    is_active: bool
    health_status: str
    max_accounts: int
    priority: int
    accounts: list[str]
    count: int


class AssignmentsView(msgspec.Struct):
    proxies: list[AssignedView]
    unassigned: list[str]


class MoveView(msgspec.Struct):
    account_id: str
    from_proxy_id: int | None
    to_proxy_id: int | None


class ProxyCount(msgspec.Struct):
    id: int
    accounts: int


class ReportView(msgspec.Struct):
    message: str
    moved: int
    moves: list[MoveView]
    proxies: list[ProxyCount]
    unassigned: list[str]

    @classmethod
    def of(cls, message: str, report: AssignmentReport) -> ReportView:
        return cls(
            message=message,
            moved=len(report.moves),
            moves=[MoveView(m.account_id, m.from_proxy_id, m.to_proxy_id) for m in report.moves],
            proxies=[ProxyCount(i, n) for i, n in sorted(report.counts.items())],
            unassigned=list(report.unassigned),
        )


class TestBody(msgspec.Struct, forbid_unknown_fields=True):
    url: str | None = None


class CheckView(msgspec.Struct):
    proxy_id: int
    url: str
    ok: bool
    status: int | None
    latency_ms: float | None
    error: str | None
    health_status: str

    @classmethod
    def of(cls, check: ProxyCheck) -> CheckView:
        return cls(
            check.proxy_id,
            check.url,
            check.ok,
            check.status,
            check.latency_ms,
            check.error,
            check.health.value,
        )


def proxy_id_of(raw: str) -> int:
    """The id in a path: anything but a stored proxy's possible id is a 404, never a 500."""
    if _ID.fullmatch(raw) and 1 <= int(raw) <= MAX_PROXY_ID:
        return int(raw)
    raise NotFound(f"proxy {raw[:20]!r} not found")


class ProxiesController(Controller):
    path = "/proxies"

    @get("/")
    async def list_proxies(self, request: Request[Any, Any, State]) -> Listing:
        states = await _proxies(request).list()
        return Listing([ProxyView.of(s) for s in states], len(states))

    @get("/assignments")
    async def assignments(self, request: Request[Any, Any, State]) -> AssignmentsView:
        found = await _proxies(request).assignments()
        return AssignmentsView(
            proxies=[
                AssignedView(
                    id=s.proxy.id,
                    label=s.proxy.label,
                    url=s.proxy.endpoint.masked(),
                    is_active=s.proxy.is_active,
                    health_status=s.proxy.health.value,
                    max_accounts=s.proxy.max_accounts,
                    priority=s.proxy.priority,
                    accounts=list(s.accounts),
                    count=len(s.accounts),
                )
                for s in found.proxies
            ],
            unassigned=list(found.unassigned),
        )

    @post("/recalculate", status_code=200)
    async def recalculate(self, request: Request[Any, Any, State]) -> ReportView:
        report = await _proxies(request).recalculate()
        return ReportView.of("assignments recalculated", report)

    @get("/{proxy_id:str}")
    async def get_proxy(
        self, request: Request[Any, Any, State], proxy_id: FromPath[str]
    ) -> ProxyView:
        return ProxyView.of(await _proxies(request).get(proxy_id_of(proxy_id)))

    @post("/", status_code=201)
    async def create_proxy(self, request: Request[Any, Any, State]) -> ProxyView:
        spec = await decode_body(request, NewProxy)
        return ProxyView.of(await _proxies(request).create(spec))

    @put("/{proxy_id:str}")
    async def put_proxy(
        self, request: Request[Any, Any, State], proxy_id: FromPath[str]
    ) -> ProxyView:
        return await self._update(request, proxy_id)

    @patch("/{proxy_id:str}")
    async def patch_proxy(
        self, request: Request[Any, Any, State], proxy_id: FromPath[str]
    ) -> ProxyView:
        return await self._update(request, proxy_id)

    async def _update(self, request: Request[Any, Any, State], raw_id: str) -> ProxyView:
        proxy_id = proxy_id_of(raw_id)
        change = await decode_body(request, ProxyPatch)
        return ProxyView.of(await _proxies(request).update(proxy_id, change))

    @delete("/{proxy_id:str}", status_code=200)
    async def delete_proxy(
        self, request: Request[Any, Any, State], proxy_id: FromPath[str]
    ) -> ReportView:
        report = await _proxies(request).delete(proxy_id_of(proxy_id))
        return ReportView.of("proxy deleted", report)

    @post("/{proxy_id:str}/test", status_code=200)
    async def test_proxy(
        self, request: Request[Any, Any, State], proxy_id: FromPath[str]
    ) -> CheckView:
        checked_id = proxy_id_of(proxy_id)
        body = await request.body()
        spec = await decode_body(request, TestBody) if body.strip() else TestBody()
        return CheckView.of(await _proxies(request).test(checked_id, spec.url))


def _proxies(request: Request[Any, Any, State]) -> ProxiesAdmin:
    return runtime_of(request).proxies_admin


PROXY_CONTROLLERS = [ProxiesController]
