"""The operator guide's per-proxy latency query over the request log on MariaDB: it groups the
last hour by proxy (direct calls under NULL). `created_at` is stored as naive UTC, so `NOW()`
is only right in a session whose time zone is UTC; `UTC_TIMESTAMP()` is right in any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.contract.conftest import Stores
from tests.contract.test_repositories import make_log

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("mariadb", marks=pytest.mark.mariadb)], indirect=True
)

GUIDE_QUERY = """
SELECT proxy_id, AVG(latency_ms) as avg_latency
FROM request_logs
WHERE created_at >= NOW() - INTERVAL 1 HOUR
GROUP BY proxy_id
ORDER BY avg_latency DESC;
"""
ANY_ZONE_QUERY = GUIDE_QUERY.replace("NOW()", "UTC_TIMESTAMP()")
LAST_HOUR = [(12, 900.0), (11, 200.0), (None, 50.0)]


async def log_calls(stores: Stores) -> None:
    """Calls through proxies 11 and 12 and direct ones, written by the request-log sink."""
    now = datetime.now(UTC)
    calls = [
        (11, 100, now - timedelta(minutes=1)),
        (11, 300, now - timedelta(seconds=5)),
        (12, 900, now - timedelta(minutes=5)),
        (None, 50, now),
        (11, 10_000, now - timedelta(hours=2)),  # older than an hour
        (12, 1, now - timedelta(minutes=61)),
    ]
    await stores.logs.write(
        [
            make_log(n, proxy_id=proxy_id, latency_ms=latency, created_at=at)
            for n, (proxy_id, latency, at) in enumerate(calls)
        ]
    )


async def run(engine: AsyncEngine, time_zone: str, query: str) -> list[tuple[int | None, float]]:
    async with engine.connect() as conn:
        await conn.execute(text(f"SET time_zone = '{time_zone}'"))
        rows = (await conn.execute(text(query))).all()
    return [(proxy_id, float(avg)) for proxy_id, avg in rows]


async def test_the_guide_query_averages_the_last_hour_by_proxy_in_a_utc_session(
    stores: Stores,
) -> None:
    assert stores.engine is not None
    await log_calls(stores)
    assert await run(stores.engine, "+00:00", GUIDE_QUERY) == LAST_HOUR
    assert await run(stores.engine, "+00:00", ANY_ZONE_QUERY) == LAST_HOUR


async def test_outside_utc_now_shifts_the_window_and_utc_timestamp_does_not(
    stores: Stores,
) -> None:
    assert stores.engine is not None
    await log_calls(stores)
    behind = await run(stores.engine, "-05:00", GUIDE_QUERY)
    assert behind != LAST_HOUR  # the window reaches five hours further back
    assert dict(behind)[11] == pytest.approx((100 + 300 + 10_000) / 3)
    assert await run(stores.engine, "+05:00", GUIDE_QUERY) == []  # the window is in the future
    assert await run(stores.engine, "-05:00", ANY_ZONE_QUERY) == LAST_HOUR
    assert await run(stores.engine, "+05:00", ANY_ZONE_QUERY) == LAST_HOUR
