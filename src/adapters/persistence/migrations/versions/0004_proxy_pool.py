"""proxy_pool: the outbound proxies; accounts.proxy_id references it (ON DELETE SET NULL).

Account proxy ids that name no proxy (there was no pool before) are cleared first, so that the
foreign key can be added.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
_FK = "fk_accounts_proxy_id_proxy_pool"


def _datetime() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _utc_now() -> sa.TextClause:
    """The database's clock in UTC (stored datetimes are naive UTC): MariaDB's
    CURRENT_TIMESTAMP is in the session's time zone, SQLite's is UTC."""
    if op.get_context().dialect.name in {"mysql", "mariadb"}:
        return sa.text("(UTC_TIMESTAMP(6))")
    return sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "proxy_pool",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=True),
        sa.Column("protocol", sa.String(10), nullable=False),
        sa.Column("label", sa.String(100), server_default="", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("max_accounts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("providers", sa.JSON(), nullable=True),
        sa.Column("health_status", sa.String(16), server_default="unknown", nullable=False),
        sa.Column(
            "consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("last_checked_at", _datetime(), nullable=True),
        sa.Column("marked_down_at", _datetime(), nullable=True),
        sa.Column("created_at", _datetime(), server_default=_utc_now(), nullable=False),
        sa.Column("updated_at", _datetime(), server_default=_utc_now(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
        **_OPTIONS,
    )
    op.create_index("idx_proxy_pool_is_active", "proxy_pool", ["is_active"])

    op.execute(
        "UPDATE accounts SET proxy_id = NULL WHERE proxy_id IS NOT NULL"
        " AND proxy_id NOT IN (SELECT id FROM proxy_pool)"
    )
    with op.batch_alter_table("accounts") as batch:
        batch.create_index("idx_accounts_proxy_id", ["proxy_id"])
        batch.create_foreign_key(_FK, "proxy_pool", ["proxy_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.drop_index("idx_accounts_proxy_id")
    op.drop_index("idx_proxy_pool_is_active", table_name="proxy_pool")
    op.drop_table("proxy_pool")
