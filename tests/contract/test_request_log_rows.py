"""Request-log rows the database would refuse neither lose the rows batched with them nor stall
the writer: values are fitted to the columns, and a row still refused is dropped and counted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text

from aigateway.adapters.memory.coordination import NoStatsCounters
from aigateway.application.use_cases.request_log import RequestLogQueue
from aigateway.domain.request_log import RequestLogEntry
from tests.contract.conftest import SQL_BACKENDS, Stores
from tests.contract.test_repositories import make_log

pytestmark = pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)

INT_MAX, INT_MIN = 2**31 - 1, -(2**31)
NAIVE = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)


async def strict(stores: Stores) -> None:
    """Strict MariaDB refuses an out-of-range value instead of clamping it with a warning; make
    sure the test runs against the refusal whatever the server's default."""
    engine = stores.engine
    assert engine is not None
    if engine.dialect.name != "mysql":
        return

    @event.listens_for(engine.sync_engine, "connect")
    def _strict(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
        cursor.close()

    await engine.dispose()  # pooled connections were opened before the listener
    async with engine.connect() as conn:
        assert "STRICT_ALL_TABLES" in (await conn.scalar(text("SELECT @@SESSION.sql_mode")))


def queue(stores: Stores, **options: Any) -> RequestLogQueue:
    return RequestLogQueue(stores.logs, NoStatsCounters(), stores.accounts, stores.keys, **options)


async def stored(stores: Stores) -> dict[str, RequestLogEntry]:
    return {e.request_id: e for e in await stores.logged()}


def enqueue(logs: RequestLogQueue, entries: Sequence[RequestLogEntry]) -> None:
    for entry in entries:
        logs.enqueue(entry)


async def test_values_that_do_not_fit_are_clamped_and_the_batch_is_written(
    stores: Stores,
) -> None:
    await strict(stores)
    batch = [make_log(n) for n in range(10)]
    batch[2].prompt_tokens = 10**12  # an upstream's usage we cannot trust
    batch[3].completion_tokens = -(10**12)
    batch[4].latency_ms = 10**20  # over even BIGINT / SQLite's 64-bit integers
    batch[5].model = "m" * 100_000
    batch[6].error = "\N{GRINNING FACE}" * 1_000_000  # 4 MB of UTF-8, 4 bytes a character
    logs = queue(stores)
    enqueue(logs, batch)

    assert await logs.flush() is True
    rows = await stored(stores)
    assert set(rows) == {e.request_id for e in batch}
    assert rows[batch[2].request_id].prompt_tokens == INT_MAX
    assert rows[batch[3].request_id].completion_tokens == INT_MIN
    assert rows[batch[4].request_id].latency_ms == INT_MAX
    assert rows[batch[5].request_id].model == "m" * 191
    error = rows[batch[6].request_id].error
    assert error is not None and set(error) == {"\N{GRINNING FACE}"} and len(error) == 65_535 // 4
    assert rows[batch[0].request_id] == batch[0]
    assert (logs.refused, logs.dropped, logs.pending) == (0, 0, 0)


async def test_a_row_still_refused_is_dropped_and_counted_and_the_others_are_written(
    stores: Stores,
) -> None:
    await strict(stores)
    batch = [make_log(n) for n in range(8)]
    batch[1].created_at = NAIVE  # refused before the database
    batch[5].error = "lone surrogate \ud800 from a broken upstream"  # not encodable as UTF-8
    batch[6].prompt_tokens = 10**12
    logs = queue(stores)
    enqueue(logs, batch)

    assert await logs.flush() is True
    rows = await stored(stores)
    assert set(rows) == {e.request_id for i, e in enumerate(batch) if i not in (1, 5)}
    assert rows[batch[6].request_id].prompt_tokens == INT_MAX
    assert (logs.refused, logs.pending) == (2, 0)

    enqueue(logs, [make_log(20), make_log(21)])  # the writer goes on
    assert await logs.flush() is True
    assert len(await stored(stores)) == 8


class Watched:
    """The store under test, with an event set once `target` rows have been written."""

    def __init__(self, stores: Stores, target: int) -> None:
        self._sink = stores.logs
        self._target = target
        self.rows = 0
        self.done = asyncio.Event()

    async def write(self, entries: Sequence[RequestLogEntry]) -> None:
        await self._sink.write(entries)
        self.rows += len(entries)
        if self.rows >= self._target:
            self.done.set()


async def test_the_running_writer_never_stalls_on_refused_rows(stores: Stores) -> None:
    await strict(stores)
    sink = Watched(stores, target=15)
    logs = RequestLogQueue(
        sink,
        NoStatsCounters(),
        stores.accounts,
        stores.keys,
        batch_size=4,
        flush_interval_s=0.01,
        retry_delay_s=0.01,
    )
    writer = asyncio.create_task(logs.run())
    try:
        for round_ in range(3):
            batch = [make_log(10 * round_ + n) for n in range(6)]
            batch[0].created_at = NAIVE
            batch[3].retry_count = 10**15
            enqueue(logs, batch)
        async with asyncio.timeout(10):
            await sink.done.wait()
    finally:
        logs.stop()
        await asyncio.wait_for(writer, 10)
    assert (logs.refused, logs.pending) == (3, 0)
    assert len(await stored(stores)) == 15


async def test_rows_wait_while_the_table_is_missing_and_are_written_once_it_is_back(
    stores: Stores,
) -> None:
    """A missing table (a restore, a migration under way) is an outage, not refused rows."""
    engine = stores.engine
    assert engine is not None
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE request_logs RENAME TO request_logs_away"))
    logs = queue(stores)
    try:
        enqueue(logs, [make_log(n) for n in range(3)])
        assert not await logs.flush()
        assert (logs.pending, logs.refused) == (3, 0)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE request_logs_away RENAME TO request_logs"))
    assert await logs.flush()
    assert len(await stored(stores)) == 3
