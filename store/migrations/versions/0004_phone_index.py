"""Blind index of the participant's phone on sessions, for inbound texts.

Rows made before this have NULL: the index is keyed with the encryption key, which a
migration does not have. `book()` and `reschedule()` set it; the Twilio webhook falls
back to decrypting the rows still without it (and fills them in as it goes).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch.create_index("ix_sessions_phone_index", ["phone_index"])


def downgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.drop_index("ix_sessions_phone_index")
        batch.drop_column("phone_index")
