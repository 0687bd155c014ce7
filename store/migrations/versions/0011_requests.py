"""The participant's side of the page: when they pressed Enter (`entered_at`, the waiting
room) and what they asked for (`participant_requests`: other times for the session).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "scheduled_sessions",
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "participant_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey("scheduled_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "clinician_id",
            sa.Integer(),
            sa.ForeignKey("clinicians.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("times", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chosen", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_participant_requests_clinician",
        "participant_requests",
        ["clinician_id", "status"],
    )
    op.create_index("ix_participant_requests_session", "participant_requests", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_participant_requests_session", table_name="participant_requests")
    op.drop_index("ix_participant_requests_clinician", table_name="participant_requests")
    op.drop_table("participant_requests")
    op.drop_column("scheduled_sessions", "entered_at")
