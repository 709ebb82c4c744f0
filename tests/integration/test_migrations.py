"""Migrating empty databases (MariaDB and SQLite) to head, and the schema that results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from aigateway.adapters.persistence.engine import SqlPinger, create_engine
from aigateway.adapters.persistence.migrate import (
    current_revisions,
    head_revisions,
    is_at_head,
    upgrade_to_head,
)
from aigateway.adapters.persistence.repositories import SqlProviderRepository, SqlSettingsStore
from aigateway.adapters.persistence.tables import metadata
from aigateway.application.ports.coordination import Pinger
from aigateway.application.ports.repositories import StoreUnavailable
from tests.services import create_mysql_database, drop_mysql_database

TABLES = {"providers", "accounts", "api_keys", "request_logs", "system_settings", "alembic_version"}


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'gateway.db'}"
        return
    url = await create_mysql_database()
    try:
        yield url
    finally:
        await drop_mysql_database(url)


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        table: (
            sorted(c["name"] for c in inspector.get_columns(table)),
            sorted(str(i["name"]) for i in inspector.get_indexes(table)),
        )
        for table in inspector.get_table_names()
    }


def _schema_diff(connection: Connection) -> list[Any]:
    diff: list[Any] = compare_metadata(MigrationContext.configure(connection), metadata)
    return diff


async def test_upgrade_empty_database_to_head(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        assert await SqlPinger(engine).ping()
        assert await current_revisions(engine) == frozenset()
        assert not await is_at_head(engine)

        await upgrade_to_head(empty_database)
        assert await is_at_head(engine)
        assert await current_revisions(engine) == head_revisions()

        async with engine.connect() as conn:
            schema = await conn.run_sync(_schema)
            assert set(schema) == TABLES
            assert {"idx_created", "idx_provider_created", "idx_proxy_created"} <= set(
                schema["request_logs"][1]
            )
            assert await conn.run_sync(_schema_diff) == []
            seeded = (await conn.execute(text("SELECT id FROM providers ORDER BY id"))).scalars()
            assert list(seeded) == ["anthropic", "antigravity", "openai"]

        await upgrade_to_head(empty_database)
        assert await is_at_head(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema) == schema
            assert await conn.scalar(text("SELECT COUNT(*) FROM providers")) == 3
            assert await conn.scalar(text("SELECT COUNT(*) FROM alembic_version")) == 1
    finally:
        await engine.dispose()


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'gateway.db'}")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert (tmp_path / "a" / "b" / "gateway.db").exists()
    finally:
        await engine.dispose()


async def test_unreachable_database() -> None:
    engine = create_engine("mysql+asyncmy://nobody@127.0.0.1:1/nothing")
    try:
        pinger: Pinger = SqlPinger(engine, timeout=2.0)
        assert await pinger.ping() is False
        assert pinger.name == "database"
        with pytest.raises(StoreUnavailable):
            await SqlProviderRepository(engine).list()
        with pytest.raises(StoreUnavailable):
            await SqlSettingsStore(engine).set("name", "value")
    finally:
        await engine.dispose()
