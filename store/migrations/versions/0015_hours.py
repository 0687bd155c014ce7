"""A clinician's own working hours: `clinicians.working_hours`, the spec as
ground.hours writes it ("Mon-Thu 09:00-17:00"); NULL is the practice's default.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.add_column(sa.Column("working_hours", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.drop_column("working_hours")
