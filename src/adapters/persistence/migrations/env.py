"""Alembic environment. Run through aigateway.adapters.persistence.migrate, which passes a
synchronous connection (from AsyncConnection.run_sync) in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from aigateway.adapters.persistence.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `aigateway migrate` (no alembic.ini is used)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
