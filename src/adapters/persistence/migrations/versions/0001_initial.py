"""Initial schema: providers, accounts, api_keys, request_logs, system_settings.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

_OPENAI_MODELS = ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*"]
_GOOGLE_CLOUDCODE = "https://cloudcode-pa.googleapis.com"
_SEED_PROVIDERS = (
    ("openai", "OpenAI", "openai", "https://api.openai.com/v1", _OPENAI_MODELS),
    ("anthropic", "Anthropic", "anthropic", "https://api.anthropic.com", ["claude-*"]),
    ("antigravity", "Antigravity", "antigravity", _GOOGLE_CLOUDCODE, ["gemini-*"]),
)


def _datetime() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _created_updated() -> tuple[sa.Column[datetime], sa.Column[datetime]]:
    return (
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=False),
    )


def upgrade() -> None:
    providers = op.create_table(
        "providers",
        sa.Column("id", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("base_url", sa.String(255), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        *_created_updated(),
        sa.PrimaryKeyConstraint("id"),
        **_OPTIONS,
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(50), nullable=False),
        sa.Column("label", sa.String(100), server_default="", nullable=False),
        sa.Column("auth_data", sa.Text(), nullable=False),
        sa.Column("auth_type", sa.String(20), nullable=False),
        sa.Column("key_fingerprint", sa.String(64), server_default="", nullable=False),
        sa.Column("key_masked", sa.String(32), server_default="", nullable=False),
        sa.Column("expires_at", _datetime(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("last_used_at", _datetime(), nullable=True),
        sa.Column("usage_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("proxy_id", sa.Integer(), nullable=True),
        *_created_updated(),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name="fk_accounts_provider_id_providers",
            ondelete="RESTRICT",
        ),
        **_OPTIONS,
    )
    op.create_index("idx_accounts_provider_active", "accounts", ["provider_id", "is_active"])
    op.create_index("idx_accounts_expires_at", "accounts", ["expires_at"])
    op.create_index("idx_accounts_label", "accounts", ["label"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("label", sa.String(100), server_default="", nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.CHAR(64), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_used_at", _datetime(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        **_OPTIONS,
    )

    op.create_table(
        "request_logs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("api_key_id", sa.String(36), nullable=True),
        sa.Column("provider_id", sa.String(50), nullable=True),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("proxy_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(191), nullable=True),
        sa.Column("stream", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttfb_ms", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        **_OPTIONS,
    )
    op.create_index("idx_created", "request_logs", ["created_at"])
    op.create_index("idx_provider_created", "request_logs", ["provider_id", "created_at"])
    op.create_index("idx_proxy_created", "request_logs", ["proxy_id", "created_at"])
    op.create_index("idx_provider_account", "request_logs", ["provider_id", "account_id"])

    op.create_table(
        "system_settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        **_OPTIONS,
    )

    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(
        providers,
        [
            {
                "id": provider_id,
                "name": name,
                "kind": kind,
                "base_url": base_url,
                "models": models,
                "priority": 0,
                "is_active": True,
                "config": {},
                "created_at": now,
                "updated_at": now,
            }
            for provider_id, name, kind, base_url, models in _SEED_PROVIDERS
        ],
    )


def downgrade() -> None:
    for table in ("system_settings", "request_logs", "api_keys", "accounts", "providers"):
        op.drop_table(table)
