"""Staff console: users, unit memberships, sessions, audit log, login attempts, cases and their history;
messages.staff_name for replies written by city staff during a live handover.

Revision ID: 0002_staff_cases
Revises: 0001_transcripts
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_staff_cases"
down_revision = "0001_transcripts"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("messages", sa.Column("staff_name", sa.String(200), nullable=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", TZ, nullable=False),
        sa.Column("password_changed", TZ, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'operator', 'staff')", name="ck_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "user_units",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name="fk_user_units_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", "unit", name="pk_user_units"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created", TZ, nullable=False),
        sa.Column("last_seen", TZ, nullable=False),
        sa.Column("expires", TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_staff_sessions_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sessions"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_index("ix_staff_sessions_expires", "staff_sessions", ["expires"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_case_number", "audit_log", ["case_number"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_email_at", "login_attempts", ["email", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])
    op.create_table(
        "cases",
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("secondary_units", sa.JSON(), nullable=True),
        sa.Column("topic", sa.String(200), nullable=True),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("urgent_signals", sa.JSON(), nullable=True),
        sa.Column("contact", sa.JSON(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("expected_response_by", sa.String(40), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("received", TZ, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("live_requested", sa.Boolean(), nullable=False),
        sa.Column("first_response_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("updated", TZ, nullable=False),
        sa.CheckConstraint("status IN ('new', 'in_progress', 'waiting_for_customer', 'resolved')",
                           name="ck_cases_status"),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], ondelete="SET NULL",
                                name="fk_cases_assignee_id_users"),
        sa.PrimaryKeyConstraint("case_number", name="pk_cases"),
    )
    op.create_index("ix_cases_session_id", "cases", ["session_id"])
    op.create_index("ix_cases_resolved_at", "cases", ["resolved_at"])
    op.create_index("ix_cases_unit_status", "cases", ["unit", "status"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("from_unit", sa.String(64), nullable=True),
        sa.Column("to_unit", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["case_number"], ["cases.case_number"], ondelete="CASCADE",
                                name="fk_case_events_case_number_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_number", "case_events", ["case_number"])


def downgrade() -> None:
    op.drop_index("ix_case_events_case_number", table_name="case_events")
    op.drop_table("case_events")
    for name in ("ix_cases_unit_status", "ix_cases_resolved_at", "ix_cases_session_id"):
        op.drop_index(name, table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_email_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_audit_log_case_number", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_staff_sessions_expires", table_name="staff_sessions")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("user_units")
    op.drop_table("users")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("staff_name")
