"""The request-log sink on SQL: rows fitted to their columns, then written in small inserts.

An upstream can report any token count and a client can send any model name; a value the column
cannot hold would make the database refuse the row (strict MariaDB) and with it the rows batched
alongside. So every row is fitted first: integers clamped to the column's range, strings cut to
its length. The limits are read from the table definition, here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, String, Table, insert
from sqlalchemy.exc import InternalError, ProgrammingError

from aigateway.adapters.persistence.repositories import _SqlStore
from aigateway.adapters.persistence.tables import request_logs
from aigateway.application.ports.repositories import StoreUnavailable
from aigateway.domain.request_log import RequestLogEntry

_LOG_FIELDS = RequestLogEntry.__struct_fields__
# MySQL's TEXT holds 65,535 bytes; utf8mb4 needs up to 4 bytes a character.
TEXT_MAX_CHARS = 65_535 // 4
_INTEGER_BITS: dict[type[Integer], int] = {SmallInteger: 16, Integer: 32, BigInteger: 64}


def column_limits(table: Table) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    """(max characters per string column, (min, max) per integer column) of `table`."""
    lengths: dict[str, int] = {}
    ranges: dict[str, tuple[int, int]] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, String):
            lengths[column.name] = kind.length or TEXT_MAX_CHARS
        elif isinstance(kind, Integer):
            bits = _INTEGER_BITS.get(type(kind), 32)
            ranges[column.name] = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return lengths, ranges


_LENGTHS, _RANGES = column_limits(request_logs)
_FITTED = [
    (name, _LENGTHS.get(name), _RANGES.get(name))
    for name in _LOG_FIELDS
    if name in _LENGTHS or name in _RANGES
]


def log_row(entry: RequestLogEntry) -> dict[str, Any]:
    """The insert values for `entry`, each fitted to its column."""
    row = {name: getattr(entry, name) for name in _LOG_FIELDS}
    for name, length, bounds in _FITTED:
        value = row[name]
        if isinstance(value, str) and length is not None and len(value) > length:
            row[name] = value[:length]
        elif isinstance(value, int) and bounds is not None:
            row[name] = min(max(value, bounds[0]), bounds[1])
    return row


class SqlRequestLogSink(_SqlStore):
    """RequestLogSink: one transaction per batch, written as multi-row inserts of at most
    `chunk_rows` rows. The writer shares the event loop with the requests it logs: small
    inserts, each awaiting the database, keep any pause of the loop to about a millisecond
    instead of tens of milliseconds for one large insert."""

    chunk_rows = 50

    async def write(self, entries: Sequence[RequestLogEntry]) -> None:
        if not entries:
            return
        rows = [log_row(entry) for entry in entries]
        statement = insert(request_logs)
        try:
            async with self._write() as conn:
                for start in range(0, len(rows), self.chunk_rows):
                    await conn.execute(statement, rows[start : start + self.chunk_rows])
        except (ProgrammingError, InternalError) as exc:
            # no table (a restore, a migration under way) or a driver/protocol fault: nothing
            # about the rows themselves, so they stay queued rather than being refused one by one
            raise StoreUnavailable(f"the database cannot take rows ({type(exc).__name__})") from exc
