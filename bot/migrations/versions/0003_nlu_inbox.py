"""NLU inbox of the operator console (labels of messages the bot did not understand).

Revision ID: 0003_nlu_inbox
Revises: 0002_staff_cases
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_nlu_inbox"
down_revision = "0002_staff_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
