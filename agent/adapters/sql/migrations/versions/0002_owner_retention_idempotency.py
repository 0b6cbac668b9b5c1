"""Conversation owners (API keys), an index for the retention purge, Idempotency-Key records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
MYSQL_TABLE: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("owner", sa.CHAR(64), nullable=True))
        batch.create_index("ix_conversations_updated_at", ["updated_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key_hash", sa.CHAR(64), primary_key=True),
        sa.Column("target", sa.String(36), nullable=False),
        sa.Column("message_hash", sa.CHAR(64), nullable=False),
        sa.Column("token", sa.CHAR(32), nullable=True),
        sa.Column("locked_until", Timestamp, nullable=True),
        sa.Column(
            "conversation_id",
            sa.CHAR(36),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("response", LongText, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_index("ix_idempotency_keys_conversation_id", "idempotency_keys", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_updated_at")
        batch.drop_column("owner")
