"""The claim each conversation's thesis opposes, stored with the stance.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for conversations stored before: their guard has no opposite claim to look for.
    op.add_column("conversations", sa.Column("antithesis", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "antithesis")
