"""Roles in a practice: `staff_roles` (team, user, role, the clinician assigned) and
`staff_acting` (the clinician a staff member works for in Slack, "/schedule for @X").

Revision ID: 0016_roles
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_roles"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("clinician_user", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.UniqueConstraint("team_id", "user_id", "role", "clinician_user"),
    )
    op.create_table(
        "staff_acting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("clinician_user", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("staff_acting")
    op.drop_table("staff_roles")
