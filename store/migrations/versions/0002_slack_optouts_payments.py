"""Slack installation/OAuth state tables, SMS opt-outs, paid_at.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _slack_metadata() -> sa.MetaData:
    # slack_sdk's own table definitions, so its SQLAlchemy stores work on our database.
    metadata = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


def upgrade() -> None:
    _slack_metadata().create_all(bind=op.get_bind())
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone_index", sa.String(length=64), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_index"),
    )
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheduled_sessions") as batch:
        batch.drop_column("paid_at")
    op.drop_table("sms_opt_outs")
    _slack_metadata().drop_all(bind=op.get_bind())
