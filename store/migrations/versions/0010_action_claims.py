"""A double click does one thing: `action_claims`, one row per action taken and window
slot (two slots per action), unique by clinician, action, session, arguments and slot.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("args_hash", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clinician_id", "action", "subject", "args_hash", "slot"),
    )
    op.create_index("ix_action_claims_created", "action_claims", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_action_claims_created", table_name="action_claims")
    op.drop_table("action_claims")
