"""Conversations and their messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
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
    op.create_table(
        "conversations",
        sa.Column("id", sa.CHAR(36), primary_key=True),
        sa.Column("topic", sa.Text, nullable=True),
        sa.Column("thesis", sa.Text, nullable=True),
        sa.Column("prompt_version", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("turn_lease", sa.CHAR(32), nullable=True),
        sa.Column("turn_lease_until", Timestamp, nullable=True),
        **MYSQL_TABLE,
    )
    op.create_table(
        "messages",
        sa.Column(
            "conversation_id",
            sa.CHAR(36),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("content", LongText, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
