"""Text-message consent (`sms_consent = "ask"`): `sms_consents`, one row per number
(its blind index; the number encrypted, for key rotation): agreed or not, when, and who recorded it.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_consents",
        sa.Column("phone_index", sa.String(length=64), primary_key=True),
        sa.Column("phone", sa.String(length=512), nullable=True),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sms_consents")
