"""Model registry of the operator console: trained Rasa models, their evaluation and status.

Revision ID: 0004_model_registry
Revises: 0003_nlu_inbox
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_model_registry"
down_revision = "0003_nlu_inbox"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nlu_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("rasa_model_id", sa.String(64), nullable=True),
        sa.Column("train_config", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trained_by", sa.String(254), nullable=False),
        sa.Column("trained_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("training_seconds", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("cross_validation", sa.JSON(), nullable=True),
        sa.Column("evaluated_at", TZ, nullable=True),
        sa.Column("activated_at", TZ, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('ready', 'active', 'failed', 'cancelled', 'removed')",
                           name="ck_nlu_models_status"),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_models"),
    )
    op.create_index("ix_nlu_models_fingerprint", "nlu_models", ["fingerprint"])
    op.create_index("ix_nlu_models_status", "nlu_models", ["status"])


def downgrade() -> None:
    op.drop_index("ix_nlu_models_status", table_name="nlu_models")
    op.drop_index("ix_nlu_models_fingerprint", table_name="nlu_models")
    op.drop_table("nlu_models")
