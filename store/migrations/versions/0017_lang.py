"""A participant's language: `scheduled_sessions.language` and `contacts.language`
("es"); NULL is the practice's default (ground/language.py).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("scheduled_sessions", "contacts"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table in ("scheduled_sessions", "contacts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("language")
