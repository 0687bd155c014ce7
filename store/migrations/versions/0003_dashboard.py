"""The dashboard's count as an index-only scan: (clinician_id, start_at, status).

`count_sessions` filters on the clinician, the start and the status; with the status in
the index, counting a clinician's 10,000 upcoming sessions reads no table rows (SQLite:
"USING COVERING INDEX"; PostgreSQL: an index-only scan once vacuumed). The page itself
still walks (clinician_id, start_at) in order with LIMIT/OFFSET.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "ix_sessions_clinician_start_status"


def upgrade() -> None:
    op.create_index(INDEX, "scheduled_sessions", ["clinician_id", "start_at", "status"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="scheduled_sessions")
