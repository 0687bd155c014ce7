"""The clinician's week: series, Remind now and the morning agenda.

On sessions: the series an occurrence belongs to (`series_id`, shared by every occurrence
saved together; NULL for a single session) and when the clinician last asked for a
reminder now (`reminded_at`: at most one in ten minutes); an index by start alone for the
worker's nudges. On clinicians: the local wall
time of their morning agenda DM (`agenda_at`, "HH:MM"; NULL is off).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.add_column(sa.Column("series_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_sessions_series", ["series_id", "start_at"])
        # The worker's nudges look for every clinician's sessions starting soon.
        batch.create_index("ix_sessions_start", ["start_at"])
    with op.batch_alter_table("clinicians") as batch:
        batch.add_column(sa.Column("agenda_at", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clinicians") as batch:
        batch.drop_column("agenda_at")
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.drop_index("ix_sessions_start")
        batch.drop_index("ix_sessions_series")
        batch.drop_column("reminded_at")
        batch.drop_column("series_id")
