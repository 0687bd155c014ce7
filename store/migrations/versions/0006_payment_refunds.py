"""Refunds: the payment's PaymentIntent (what a `charge.refunded` names) and how much of it
has been refunded, on sessions; `payment_status` widened for "partially_refunded".

Revision ID: 0006
Revises: 0004 (the lead re-chains it after 0005)
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.add_column(sa.Column("payment_intent", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("refunded_cents", sa.Integer(), nullable=True))
        batch.create_index("ix_sessions_payment_intent", ["payment_intent"])
        batch.alter_column(
            "payment_status",
            existing_type=sa.String(length=16),
            type_=sa.String(length=24),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.alter_column(
            "payment_status",
            existing_type=sa.String(length=24),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
        batch.drop_index("ix_sessions_payment_intent")
        batch.drop_column("refunded_cents")
        batch.drop_column("payment_intent")
