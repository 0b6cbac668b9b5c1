"""Resumable streams and cancel: the events of a streamed turn (kept 15 minutes, so a client
whose connection dropped can replay them), and the lease a cancel took away (so the turn that
held it learns that it was cancelled, not overtaken).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
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
        batch.add_column(sa.Column("turn_cancelled", sa.CHAR(32), nullable=True))
    op.create_table(
        "stream_events",
        sa.Column("conversation_id", sa.CHAR(36), primary_key=True),
        sa.Column("turn", sa.CHAR(8), primary_key=True),
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("data", LongText, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("ix_stream_events_created_at", "stream_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("stream_events")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("turn_cancelled")
