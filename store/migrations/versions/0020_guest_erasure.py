"""A session's other participant can be erased alone (`sessionbot forget` by their phone
or e-mail): `session_guests.erase_requested_at`, set while their cancellation notice has
still to go (the worker, then the retention run, finish it).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_guests") as batch:
        batch.add_column(sa.Column("erase_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_guests") as batch:
        batch.drop_column("erase_requested_at")
