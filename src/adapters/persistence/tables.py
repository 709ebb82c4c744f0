"""Table definitions, portable between MySQL/MariaDB and SQLite.

Datetimes are stored as naive UTC (DATETIME(6) on MySQL) and read back as aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
    true,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import CHAR, TypeEngine

MYSQL_TABLE_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
# A disable reason with the owner's verification or appeal link is at most 1000 characters
# (domain/errors/failure.py MAX_LINK_REASON).
MAX_DISABLED_REASON = 1024


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database. Naive input is refused."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in {"mysql", "mariadb"}:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UtcNow(FunctionElement[datetime]):
    """The database's clock in UTC, as a column default for rows written by hand in SQL (naive
    UTC like every stored datetime; MariaDB's CURRENT_TIMESTAMP would be the session's time
    zone)."""

    type = DateTime()
    inherit_cache = True


@compiles(UtcNow)
def _utc_now_default(_element: UtcNow, compiler: SQLCompiler, **_kw: Any) -> str:
    if compiler.dialect.name in {"mysql", "mariadb"}:
        return "(UTC_TIMESTAMP(6))"
    return "CURRENT_TIMESTAMP"  # SQLite's is UTC


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

providers = Table(
    "providers",
    metadata,
    Column("id", String(50), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("base_url", String(255), nullable=False),
    Column("models", JSON, nullable=False),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("config", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# The outbound proxies. Operators read and switch them in SQL by hand (`SELECT * FROM proxy_pool
# WHERE is_active = true`, `UPDATE proxy_pool SET is_active = false WHERE id = 1`): `url` holds
# the URL without its password (scheme://[user@]host:port), the password is in
# `password_encrypted` (the credential cipher's ciphertext, bound to the row id). Every column
# but `url` and `protocol` has a default, so that a hand-written INSERT works.
proxy_pool = Table(
    "proxy_pool",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False),
    Column("password_encrypted", Text, nullable=True),
    Column("protocol", String(10), nullable=False),
    Column("label", String(100), nullable=False, server_default=""),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("max_accounts", Integer, nullable=False, server_default=text("0")),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("providers", JSON, nullable=True),  # provider ids; NULL: every provider
    Column("health_status", String(16), nullable=False, server_default="unknown"),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("latency_ms", Float, nullable=True),
    Column("last_checked_at", UtcDateTime, nullable=True),
    Column("marked_down_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, server_default=UtcNow()),
    Column("updated_at", UtcDateTime, nullable=False, server_default=UtcNow()),
    Index("idx_proxy_pool_is_active", "is_active"),
    sqlite_autoincrement=True,  # ids are never reused (request logs keep naming old ones)
    **MYSQL_TABLE_OPTIONS,
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "provider_id",
        String(50),
        ForeignKey("providers.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("label", String(100), nullable=False, server_default=""),
    Column("auth_data", Text, nullable=False),
    Column("auth_type", String(20), nullable=False),
    Column("key_fingerprint", String(64), nullable=False, server_default=""),
    Column("key_masked", String(32), nullable=False, server_default=""),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("disabled_reason", String(MAX_DISABLED_REASON), nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("usage_count", BigInteger, nullable=False, server_default=text("0")),
    Column("proxy_id", Integer, ForeignKey("proxy_pool.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("idx_accounts_provider_active", "provider_id", "is_active"),
    Index("idx_accounts_expires_at", "expires_at"),
    Index("idx_accounts_label", "label"),
    Index("idx_accounts_proxy_id", "proxy_id"),
    **MYSQL_TABLE_OPTIONS,
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("label", String(100), nullable=False, server_default=""),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", CHAR(64), nullable=False, unique=True),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

request_logs = Table(
    "request_logs",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("request_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("api_key_id", String(36), nullable=True),
    Column("provider_id", String(50), nullable=True),
    Column("account_id", String(36), nullable=True),
    Column("proxy_id", Integer, nullable=True),
    Column("model", String(191), nullable=True),
    Column("stream", Boolean, nullable=False, server_default=false()),
    Column("status_code", Integer, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("ttfb_ms", Integer, nullable=True),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("retry_count", Integer, nullable=False, server_default=text("0")),
    Column("error", Text, nullable=True),
    Column("switched_from_account_id", String(36), nullable=True),
    Index("idx_created", "created_at"),
    Index("idx_provider_created", "provider_id", "created_at"),
    Index("idx_proxy_created", "proxy_id", "created_at"),
    Index("idx_provider_account", "provider_id", "account_id"),
    **MYSQL_TABLE_OPTIONS,
)

system_settings = Table(
    "system_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)
