"""The async engine (SQLite via aiosqlite, MySQL/MariaDB via asyncmy) and its health check."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from aigateway.application.ports.repositories import StoreUnavailable

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
}
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)


def create_engine(url: str) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///path` or `mysql+asyncmy://user:pw@host/db`.

    Bare `sqlite://` / `mysql://` URLs get the async driver. Statement parameters are kept out of
    error messages, so a failed write never prints a credential.
    """
    parsed = make_url(url)
    parsed = parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend in {"mysql", "mariadb"}:
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        return create_async_engine(
            parsed, pool_pre_ping=True, pool_recycle=3600, hide_parameters=True
        )
    raise ValueError(f"unsupported database backend {backend!r} (use sqlite or mysql)")


def _sqlite_engine(url: URL) -> AsyncEngine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    return engine


@contextmanager
def unavailable_on_connection_errors() -> Iterator[None]:
    """Turn driver connection/operational failures into StoreUnavailable."""
    try:
        yield
    except DBAPIError as exc:
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            raise StoreUnavailable(f"the database is unavailable ({type(exc).__name__})") from exc
        raise
    except (DisconnectionError, PoolTimeout, OSError, TimeoutError) as exc:
        raise StoreUnavailable(f"the database is unavailable ({type(exc).__name__})") from exc


async def database_ping(engine: AsyncEngine, seconds: float = 2.0) -> bool:
    """True when `SELECT 1` answers within `seconds`. Never raises."""
    try:
        async with asyncio.timeout(seconds), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


class SqlPinger:
    """The Pinger port for the database."""

    name: str = "database"

    def __init__(self, engine: AsyncEngine, timeout: float = 2.0) -> None:
        self._engine = engine
        self._timeout = timeout

    async def ping(self) -> bool:
        return await database_ping(self._engine, self._timeout)
