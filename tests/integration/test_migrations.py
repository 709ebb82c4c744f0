"""Migrating empty databases (MariaDB and SQLite) to head, and the schema that results; the
proxy pool migration on a database that already has accounts, and back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.persistence.engine import SqlPinger, create_engine
from aigateway.adapters.persistence.migrate import (
    alembic_config,
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

TABLES = {
    "providers",
    "accounts",
    "proxy_pool",
    "api_keys",
    "request_logs",
    "system_settings",
    "alembic_version",
}


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


async def _migrate(engine: AsyncEngine, step: Callable[[Config, str], None], revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: step(alembic_config(sync), revision))


async def _proxy_ids(engine: AsyncEngine) -> dict[str, int | None]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, proxy_id FROM accounts"))).all()
    return {row.id: row.proxy_id for row in rows}


def _account(account_id: str, proxy_id: int | None) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # stored naive UTC
    return {
        "id": account_id,
        "provider_id": "openai",
        "auth_data": "sealed",
        "auth_type": "api_key",
        "proxy_id": proxy_id,
        "created_at": now,
        "updated_at": now,
    }


_INSERT_ACCOUNT = text(
    "INSERT INTO accounts (id, provider_id, auth_data, auth_type, proxy_id, created_at,"
    " updated_at) VALUES (:id, :provider_id, :auth_data, :auth_type, :proxy_id, :created_at,"
    " :updated_at)"
)


def _foreign_keys(connection: Connection) -> list[tuple[str, str | None]]:
    return [
        (fk["referred_table"], fk.get("options", {}).get("ondelete"))
        for fk in inspect(connection).get_foreign_keys("accounts")
    ]


async def test_the_proxy_pool_migration_clears_dangling_proxy_ids_and_downgrades(
    empty_database: str,
) -> None:
    engine = create_engine(empty_database)
    try:
        await _migrate(engine, command.upgrade, "0003")
        async with engine.begin() as conn:
            await conn.execute(_INSERT_ACCOUNT, [_account("dangling", 5), _account("none", None)])

        await upgrade_to_head(empty_database)

        assert await _proxy_ids(engine) == {"dangling": None, "none": None}
        async with engine.connect() as conn:
            assert "proxy_pool" in await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert sorted(await conn.run_sync(_foreign_keys)) == [
                ("providers", "RESTRICT" if conn.dialect.name == "sqlite" else None),
                ("proxy_pool", "SET NULL"),
            ]
        # the foreign key is enforced on the gateway's connections (SQLite: PRAGMA foreign_keys)
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(_INSERT_ACCOUNT, _account("refused", 999))
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO proxy_pool (url, protocol) VALUES ('http://10.0.0.1:3128', '')")
            )
            proxy_id = await conn.scalar(text("SELECT MAX(id) FROM proxy_pool"))
            await conn.execute(text("UPDATE accounts SET proxy_id = :p"), {"p": proxy_id})
        assert await _proxy_ids(engine) == {"dangling": proxy_id, "none": proxy_id}
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM proxy_pool"))
        assert await _proxy_ids(engine) == {"dangling": None, "none": None}

        await _migrate(engine, command.downgrade, "0003")

        assert await current_revisions(engine) == frozenset({"0003"})
        async with engine.connect() as conn:
            assert "proxy_pool" not in await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert [fk[0] for fk in await conn.run_sync(_foreign_keys)] == ["providers"]
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("accounts"))
            assert "idx_accounts_proxy_id" not in {i["name"] for i in indexes}
        async with engine.begin() as conn:  # no foreign key any more
            await conn.execute(_INSERT_ACCOUNT, _account("dangling-again", 7))
        assert (await _proxy_ids(engine))["dangling-again"] == 7

        await upgrade_to_head(empty_database)
        assert await is_at_head(engine)
        assert (await _proxy_ids(engine))["dangling-again"] is None
    finally:
        await engine.dispose()
