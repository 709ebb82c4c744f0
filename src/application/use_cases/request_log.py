"""Request logs leave the request path through a bounded queue; one writer batches them.

While the store is unavailable rows stay queued and the writer retries. A batch the store refuses
for another reason (a value the sink could not fit to its columns) is written row by row, so
only the rows still refused are dropped, and counted in `refused`; the writer never stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime

from aigateway.application.ports.coordination import RequestLogSink, StatsCounters
from aigateway.application.ports.repositories import (
    AccountRepository,
    ClientKeyRepository,
    StoreUnavailable,
)
from aigateway.domain.request_log import RequestLogEntry

log = logging.getLogger(__name__)


class RequestLogQueue:
    def __init__(
        self,
        sink: RequestLogSink,
        stats: StatsCounters,
        accounts: AccountRepository,
        keys: ClientKeyRepository,
        *,
        max_pending: int = 100_000,
        batch_size: int = 500,
        flush_interval_s: float = 0.25,
        retry_delay_s: float = 1.0,
    ) -> None:
        self._sink = sink
        self._stats = stats
        self._accounts = accounts
        self._keys = keys
        self._pending: deque[RequestLogEntry] = deque()
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._retry_delay_s = retry_delay_s
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self.dropped = 0  # the buffer was full
        self.refused = 0  # the store refused the row itself (not an outage)

    def enqueue(self, entry: RequestLogEntry) -> None:
        """Never blocks the request; when the buffer is full the row is dropped and counted."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append(entry)
        if len(self._pending) >= self._batch_size:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self) -> None:
        """Background writer, until `stop()`; then call `flush()`. Cancelling it instead could
        interrupt a write the database has committed, and `flush()` would write it again."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._flush_interval_s)
            self._wakeup.clear()
            if self._stopping.is_set():
                return
            if not await self._write_available():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._retry_delay_s)

    def stop(self) -> None:
        """Let `run()` finish its current write and return."""
        self._stopping.set()
        self._wakeup.set()

    async def flush(self) -> bool:
        """Write everything queued; False if the store is unavailable (rows stay queued)."""
        while self._pending:
            if not await self._write_available():
                return False
        return True

    async def _write_available(self) -> bool:
        """Write the rows queued when called (rows arriving meanwhile wait for the next round,
        so a steady trickle of requests still gets full batches, not a write per request)."""
        async with self._write_lock:
            remaining = len(self._pending)
            while remaining > 0 and self._pending:
                size = min(self._batch_size, remaining, len(self._pending))
                batch = [self._pending[i] for i in range(size)]
                remaining -= size
                try:
                    await self._sink.write(batch)
                except StoreUnavailable as exc:
                    log.warning(
                        "request log write failed, %d rows kept: %s", len(self._pending), exc
                    )
                    return False
                except Exception as exc:
                    log.warning("request log batch refused, writing it row by row: %s", exc)
                    if not await self._write_rows(batch):
                        return False
                    continue
                for _ in batch:
                    self._pending.popleft()
                await self._after_write(batch)
            return True

    async def _write_rows(self, batch: Sequence[RequestLogEntry]) -> bool:
        """One row at a time, dropping (and counting) the rows the store refuses; False when
        the store became unavailable (the rows not yet written stay queued)."""
        written: list[RequestLogEntry] = []
        refused: list[str] = []
        first_error: Exception | None = None
        try:
            for entry in batch:
                try:
                    await self._sink.write([entry])
                except StoreUnavailable as exc:
                    log.warning(
                        "request log write failed, %d rows kept: %s", len(self._pending), exc
                    )
                    return False
                except Exception as exc:
                    refused.append(entry.request_id)
                    first_error = first_error or exc
                else:
                    written.append(entry)
                self._pending.popleft()
            return True
        finally:
            self.refused += len(refused)
            if refused:
                log.error(
                    "request log: %d rows refused and dropped (request ids %s): %s",
                    len(refused),
                    ", ".join(refused[:10]) + (", ..." if len(refused) > 10 else ""),
                    first_error,
                )
            if written:
                await self._after_write(written)

    async def _after_write(self, batch: Sequence[RequestLogEntry]) -> None:
        """Counters and usage columns: best effort, a failure never loses the logged rows."""
        try:
            await self._stats.record(batch)
        except Exception as exc:
            log.warning("stats counters not updated: %s", exc)
        accounts: dict[str, tuple[int, datetime]] = {}
        keys: dict[str, datetime] = {}
        for entry in batch:
            if entry.account_id:
                count, last = accounts.get(entry.account_id, (0, entry.created_at))
                accounts[entry.account_id] = (count + 1, max(last, entry.created_at))
            if entry.api_key_id:
                keys[entry.api_key_id] = max(
                    keys.get(entry.api_key_id, entry.created_at), entry.created_at
                )
        try:
            if accounts:
                await self._accounts.record_usage(accounts)
            if keys:
                await self._keys.record_usage(keys)
        except Exception as exc:
            log.warning("usage columns not updated: %s", exc)
