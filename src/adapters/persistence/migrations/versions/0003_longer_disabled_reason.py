"""accounts.disabled_reason up to 1024 characters: room for the owner's verification or appeal
link that a disable by the Cloud Code API carries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column(
            "disabled_reason",
            existing_type=sa.String(255),
            type_=sa.String(1024),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column(
            "disabled_reason",
            existing_type=sa.String(1024),
            type_=sa.String(255),
            existing_nullable=True,
        )
