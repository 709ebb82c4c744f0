"""The request-log writer: an unavailable store keeps every row queued; a refused batch is
written row by row; an outage during that keeps the rows not yet written."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from aigateway.adapters.memory.coordination import NoStatsCounters
from aigateway.application.ports.repositories import StoreUnavailable
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.request_log import RequestLogEntry
from tests.doubles.repositories import (
    InMemoryAccountRepository,
    InMemoryClientKeyRepository,
    InMemoryProviderRepository,
)


class Store:
    """A sink that is down while `down`, and refuses any batch holding a request id in
    `refused` (as a database refuses a value)."""

    def __init__(self) -> None:
        self.rows: list[RequestLogEntry] = []
        self.down = False
        self.down_after_rows: int | None = None
        self.refused: set[str] = set()

    async def write(self, entries: Sequence[RequestLogEntry]) -> None:
        if self.down or (
            self.down_after_rows is not None and len(self.rows) >= self.down_after_rows
        ):
            raise StoreUnavailable("the database is unavailable (OperationalError)")
        if any(e.request_id in self.refused for e in entries):
            raise ValueError("value refused")
        self.rows.extend(entries)


def entry() -> RequestLogEntry:
    return RequestLogEntry(
        request_id=str(uuid.uuid4()),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        api_key_id=None,
        provider_id="p",
        account_id=None,
        proxy_id=None,
        model="m",
        stream=False,
        status_code=200,
        latency_ms=5,
    )


def queue(store: Store, *, flush_interval_s: float = 0.25) -> RequestLogQueue:
    providers = InMemoryProviderRepository()
    return RequestLogQueue(
        store,
        NoStatsCounters(),
        InMemoryAccountRepository(providers),
        InMemoryClientKeyRepository(),
        flush_interval_s=flush_interval_s,
    )


async def test_an_unavailable_store_keeps_every_row_queued_until_it_is_back() -> None:
    store = Store()
    logs = queue(store)
    rows = [entry() for _ in range(5)]
    for row in rows:
        logs.enqueue(row)
    store.down = True
    assert await logs.flush() is False
    assert (logs.pending, logs.refused, store.rows) == (5, 0, [])
    store.down = False
    assert await logs.flush() is True
    assert store.rows == rows
    assert (logs.pending, logs.refused) == (0, 0)


async def test_an_outage_while_writing_row_by_row_keeps_the_rest_queued() -> None:
    store = Store()
    logs = queue(store)
    rows = [entry() for _ in range(6)]
    for row in rows:
        logs.enqueue(row)
    store.refused = {rows[1].request_id}
    store.down_after_rows = 3  # row 0 written, row 1 refused, rows 2 and 3 written, then down
    assert await logs.flush() is False
    assert store.rows == [rows[0], rows[2], rows[3]]
    assert (logs.pending, logs.refused) == (2, 1)
    store.down_after_rows = None
    assert await logs.flush() is True
    assert store.rows == [rows[0], rows[2], rows[3], rows[4], rows[5]]
    assert (logs.pending, logs.refused) == (0, 1)


async def test_stopping_the_writer_mid_write_writes_every_row_once() -> None:
    """Shutdown used to cancel the writer: a batch the database had committed but whose write
    had not returned yet stayed queued, and the shutdown flush wrote it a second time."""

    class SlowCommit(Store):
        def __init__(self) -> None:
            super().__init__()
            self.committed = asyncio.Event()

        async def write(self, entries: Sequence[RequestLogEntry]) -> None:
            await super().write(entries)  # committed
            self.committed.set()
            await asyncio.sleep(0.05)  # the driver's answer is still on its way

    store = SlowCommit()
    logs = queue(store, flush_interval_s=0.01)
    writer = asyncio.create_task(logs.run())
    for _ in range(3):
        logs.enqueue(entry())
    await asyncio.wait_for(store.committed.wait(), 5)
    logs.stop()
    await asyncio.wait_for(writer, 5)
    assert await logs.flush()
    assert len(store.rows) == len({r.request_id for r in store.rows}) == 3
