"""Paid cancellations: what the clinician chose for the payment, and the refund's state.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.add_column(sa.Column("refund_choice", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("refund_cents", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("refund_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("refund_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("refund_error", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("refund_attempt", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_index("ix_sessions_refund_state", ["refund_state"])


def downgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.drop_index("ix_sessions_refund_state")
        for name in (
            "refund_attempt",
            "refund_error",
            "refund_ref",
            "refund_state",
            "refund_cents",
            "refund_choice",
        ):
            batch.drop_column(name)
