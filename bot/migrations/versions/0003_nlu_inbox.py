"""NLU inbox of the operator console (labels of messages the bot did not understand).

Revision ID: 0003_nlu_inbox
Revises: 0002_staff_cases
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_nlu_inbox"
down_revision = "0002_staff_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=200), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("written", sa.Boolean(), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("conflict_with", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('confirmed', 'ignored', 'conflict', 'rejected', 'superseded')",
                           name="ck_nlu_labels_decision"),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_labels"),
    )
    op.create_index("ix_nlu_labels_key", "nlu_labels", ["key"])
    op.create_index("ix_nlu_labels_at", "nlu_labels", ["at"])


def downgrade() -> None:
    op.drop_index("ix_nlu_labels_at", table_name="nlu_labels")
    op.drop_index("ix_nlu_labels_key", table_name="nlu_labels")
    op.drop_table("nlu_labels")
