"""The audit trail (`audit`, append-only, hash-chained; `audit_head`, the chain's end)
and the erasure marks of a session (`erased_at`, `erase_requested_at`).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False, unique=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("for_clinician", sa.String(length=80), nullable=True),
        sa.Column("fields", sa.String(length=255), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_audit_session", "audit", ["session_id"])
    op.create_index("ix_audit_at", "audit", ["at"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.add_column(
        "scheduled_sessions", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "scheduled_sessions",
        sa.Column("erase_requested_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.drop_column("erase_requested_at")
        batch.drop_column("erased_at")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_index("ix_audit_session", table_name="audit")
    op.drop_table("audit")
