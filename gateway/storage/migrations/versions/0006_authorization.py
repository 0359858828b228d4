"""authorization: OAuth clients, used client-assertion ids, Beacon query budgets

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
    )
    op.create_table(
        "oauth_assertions",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_oauth_assertions")),
    )
    op.create_index("ix_oauth_assertions_expires", "oauth_assertions", ["expires"], unique=False)
    op.create_table(
        "beacon_budget",
        sa.Column("caller", sa.String(length=256), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("caller", "window_start", name=op.f("pk_beacon_budget")),
    )


def downgrade() -> None:
    op.drop_table("beacon_budget")
    op.drop_index("ix_oauth_assertions_expires", table_name="oauth_assertions")
    op.drop_table("oauth_assertions")
    op.drop_table("oauth_clients")
