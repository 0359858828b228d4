"""consent: the directives citizens record at their portal

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_directives",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("citizen_system", sa.Text(), nullable=False),
        sa.Column("citizen_value", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_directives")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_consent_directives_webhook_id")),
    )
    op.create_index(
        "ix_consent_directives_citizen",
        "consent_directives",
        ["citizen_system", "citizen_value"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_consent_directives_citizen", table_name="consent_directives")
    op.drop_table("consent_directives")
