"""The SQL unit of work: one transaction for the repositories of one admin write.

On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock before the
first read (the driver would otherwise start it at the first write, after the reads); on
MariaDB the reads lock their rows (`SELECT ... FOR UPDATE`). Either way a read-modify-write
is not interleaved with another one on the same rows.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.crypto import CredentialCipher
from aigateway.adapters.persistence.engine import unavailable_on_connection_errors
from aigateway.adapters.persistence.proxies import SqlProxyRepository
from aigateway.adapters.persistence.repositories import (
    SqlAccountRepository,
    SqlClientKeyRepository,
    SqlProviderRepository,
    SqlTransaction,
)
from aigateway.application.ports.unit_of_work import CatalogChanged


class SqlUnitOfWork:
    """Single use: `async with SqlUnitOfWork(...) as tx:`; see the UnitOfWork port."""

    providers: SqlProviderRepository
    accounts: SqlAccountRepository
    keys: SqlClientKeyRepository
    proxies: SqlProxyRepository

    def __init__(
        self, engine: AsyncEngine, cipher: CredentialCipher, catalog_changed: CatalogChanged
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._catalog_changed = catalog_changed
        self._tx: SqlTransaction | None = None

    async def __aenter__(self) -> Self:
        with unavailable_on_connection_errors():
            conn = await self._engine.connect()
            try:
                await conn.begin()
                if conn.dialect.name == "sqlite":
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                await conn.close()
                raise
        self._tx = tx = SqlTransaction(conn)
        self.providers = SqlProviderRepository(self._engine, tx)
        self.accounts = SqlAccountRepository(self._engine, self._cipher, tx)
        self.keys = SqlClientKeyRepository(self._engine, tx)
        self.proxies = SqlProxyRepository(self._engine, self._cipher, tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        tx, self._tx = self._tx, None
        if tx is None:
            raise RuntimeError("the unit of work was not entered")
        try:
            if exc_type is None:
                with unavailable_on_connection_errors():
                    await tx.conn.commit()
            else:
                with contextlib.suppress(Exception):  # the original error is the one to report
                    await tx.conn.rollback()
        finally:
            await tx.conn.close()
        if exc_type is None and tx.changed:
            await self._catalog_changed()
