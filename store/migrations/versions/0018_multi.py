"""Couples and family sessions: `session_guests` holds participants 2..N of a session
(encrypted name, e-mail and phone, the phone's blind index, channel, zone, their own
page token stored hashed, RSVP and Enter), and `outbox.guest_id` says which of them a
message is for (NULL: the first participant, the session's own columns).

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_guests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey("scheduled_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("participant", sa.String(length=512), nullable=False),
        sa.Column("invite_channel", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=512), nullable=True),
        sa.Column("phone", sa.String(length=512), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("participant_tz", sa.String(length=64), nullable=False),
        sa.Column("invite_status", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("token", sa.String(length=512), nullable=False),
        sa.Column("rsvp", sa.String(length=8), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_session_guests_session", "session_guests", ["session_id"])
    op.create_index("ix_session_guests_phone_index", "session_guests", ["phone_index"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("guest_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_outbox_guest", "session_guests", ["guest_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_guest", type_="foreignkey")
        batch.drop_column("guest_id")
    op.drop_index("ix_session_guests_phone_index", table_name="session_guests")
    op.drop_index("ix_session_guests_session", table_name="session_guests")
    op.drop_table("session_guests")
