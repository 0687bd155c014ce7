"""One key, checked: the key check row, and the number behind an SMS opt-out.

`key_check` holds one canary encrypted under the first key; a process whose keys cannot
read it refuses to start (store/db.py). `sms_opt_outs.phone` keeps the number encrypted
beside its blind index, so `sessionbot keys rotate` can index it again under a new key.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canary", sa.String(length=255), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sms_opt_outs") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sms_opt_outs") as batch:
        batch.drop_column("phone")
    op.drop_table("key_check")
