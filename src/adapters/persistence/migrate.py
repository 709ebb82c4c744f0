"""Alembic, configured in code: the scripts ship inside the package, no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.adapters.persistence.engine import create_engine, unavailable_on_connection_errors

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade_to_head(url: str) -> None:
    """Create or upgrade the schema of the database at `url` (a no-op when already at head)."""
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine) -> None:
    with unavailable_on_connection_errors():
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revisions recorded in alembic_version (empty for a database never migrated)."""
    with unavailable_on_connection_errors():
        async with engine.connect() as conn:
            return await conn.run_sync(_current)


async def is_at_head(engine: AsyncEngine) -> bool:
    return await current_revisions(engine) == head_revisions()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _current(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())
