"""The clinician's DM channel with the bot, as Slack's `conversations.open` gave it
(`clinicians.dm_channel`): a web process that starts, or another web process, answers a
known clinician's first DM and tells a `/schedule` typed in that DM from one typed
elsewhere without asking Slack again.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.add_column(sa.Column("dm_channel", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.drop_column("dm_channel")
