"""Transcripts: conversations, messages, feedback.

Revision ID: 0001_transcripts
Revises:
Create Date: 2024-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_transcripts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("page_url", sa.String(2048), nullable=True),
        sa.Column("page_language", sa.String(35), nullable=True),
        sa.Column("last_activity", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_conversations"),
    )
    op.create_index("ix_conversations_last_activity", "conversations", ["last_activity"])
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation", sa.String(128), nullable=False),
        sa.Column("sender", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("custom", sa.JSON(), nullable=True),
        sa.Column("intent", sa.String(200), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("intent_ranking", sa.JSON(), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sender IN ('user', 'bot')", name="sender"),
        sa.ForeignKeyConstraint(["conversation"], ["conversations.session_id"], ondelete="CASCADE",
                                name="fk_messages_conversation_conversations"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_conversation_created", "messages", ["conversation", "created"])
    op.create_table(
        "feedback",
        sa.Column("message", sa.String(32), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating IN ('up', 'down')", name="rating"),
        sa.ForeignKeyConstraint(["message"], ["messages.id"], ondelete="CASCADE",
                                name="fk_feedback_message_messages"),
        sa.PrimaryKeyConstraint("message", name="pk_feedback"),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_index("ix_messages_conversation_created", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_conversations_last_activity", table_name="conversations")
    op.drop_table("conversations")
