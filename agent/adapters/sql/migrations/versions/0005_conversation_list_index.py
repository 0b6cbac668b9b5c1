"""An index on conversations (owner, updated_at, id) for GET /api/conversations: one owner's
conversations by last activity, read page by page from a (updated_at, id) position, so a page
costs the same however many conversations there are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_owner_activity", "conversations", ["owner", "updated_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_owner_activity", table_name="conversations")
