"""The Slack inbox (events written before the ack) and the bot's own posts.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_inbox",
        sa.Column("key", sa.String(length=255), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_slack_inbox_pending", "slack_inbox", ["processed_at", "claimed_at"])
    op.create_table(
        "slack_posts",
        sa.Column("channel_id", sa.String(length=32), primary_key=True),
        sa.Column("ts", sa.String(length=32), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_posts")
    op.drop_index("ix_slack_inbox_pending", table_name="slack_inbox")
    op.drop_table("slack_inbox")
