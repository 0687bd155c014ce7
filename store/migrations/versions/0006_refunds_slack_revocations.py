"""Refunds and Slack's app lifecycle.

On sessions: the payment's PaymentIntent (what a `charge.refunded` names) and how much of
it has been refunded; `payment_status` widened for "partially_refunded". A table of the
workspaces that uninstalled the app or revoked its bot token (nothing is posted there).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
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
    op.create_table(
        "slack_revocations",
        sa.Column("team_id", sa.String(length=32), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_revocations")
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
