"""`GET /health`: liveness plus reachability of the database and Redis, the request-log queue,
the stored rows the catalog skipped (they do not make the gateway unhealthy: the other rows
serve), and the notices of what only the operator can fix."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State

from aigateway import __version__
from aigateway.application.use_cases.catalog import Catalog, Skipped
from aigateway.application.use_cases.notices import Notice
from aigateway.entrypoints.http.runtime import runtime_of


class ProxyPool(msgspec.Struct):
    total: int
    active: int
    down: int
    # provider id -> why some of its accounts are not used (no proxy, or theirs is down)
    unrouted: dict[str, tuple[str, ...]]


class Health(msgspec.Struct):
    status: str
    service: str
    version: str
    started_at: datetime
    uptime_seconds: int
    checks: dict[str, str]
    # rows waiting for the database; dropped because the buffer was full; refused by the database
    request_log: dict[str, int]
    skipped: Skipped  # providers and accounts left out of the catalog: id and reason
    notices: list[Notice]  # what only the operator can fix (a missing setting, an old version)
    proxies: ProxyPool


@get("/health")
async def health(request: Request[object, object, State]) -> Response[Health]:
    state = runtime_of(request)
    pingers = state.health_checks.pingers
    results = await asyncio.gather(*(p.ping() for p in pingers))
    checks = {
        p.name: ("ok" if ok else "unreachable") for p, ok in zip(pingers, results, strict=True)
    }
    if state.settings.redis.url is None:
        checks["redis"] = "not configured (in-process stores)"
    healthy = all(results)
    body = Health(
        status="ok" if healthy else "degraded",
        service="aigateway",
        version=__version__,
        started_at=datetime.fromtimestamp(state.started_at, UTC),
        uptime_seconds=int(time.time() - state.started_at),
        checks=checks,
        request_log={
            "pending": state.logs.pending,
            "dropped": state.logs.dropped,
            "refused": state.logs.refused,
        },
        skipped=state.catalog.current.skipped,
        notices=state.notices.current(),
        proxies=_pool(state.catalog.current),
    )
    return Response(body, status_code=200 if healthy else 503)


def _pool(catalog: Catalog) -> ProxyPool:
    proxies = catalog.proxies.values()
    return ProxyPool(
        total=len(proxies),
        active=sum(p.is_active for p in proxies),
        down=sum(p.is_active and p.down for p in proxies),
        unrouted=dict(catalog.unroutable),
    )
