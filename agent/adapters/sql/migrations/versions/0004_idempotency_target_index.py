"""An index on idempotency_keys.target: deleting a conversation (and every purge batch) finds
its keys by it, and without the index InnoDB scanned and locked the whole table, so concurrent
key claims of other users waited into the lock timeout.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_target", "idempotency_keys", ["target"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_target", table_name="idempotency_keys")
