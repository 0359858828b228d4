"""genomic reports: one per linked sample of an ingested VCF, with its Observations

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "genomic_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Text(), nullable=False),
        sa.Column("identifier_system", sa.Text(), nullable=False),
        sa.Column("identifier_value", sa.Text(), nullable=False),
        sa.Column("assembly", sa.String(length=16), nullable=False),
        sa.Column("issued", sa.Text(), nullable=False),
        sa.Column("variants", sa.Integer(), nullable=False),
        sa.Column("relations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["vcf_files.id"],
            name=op.f("fk_genomic_reports_file_id_vcf_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genomic_reports")),
        sa.UniqueConstraint("file_id", "sample_id", name="uq_genomic_reports_file_sample"),
    )
    op.create_index(
        "ix_genomic_reports_identifier",
        "genomic_reports",
        ["identifier_system", "identifier_value"],
        unique=False,
    )
    op.create_table(
        "genomic_observations",
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["genomic_reports.id"],
            name=op.f("fk_genomic_observations_report_id_genomic_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "seq", name=op.f("pk_genomic_observations")),
        sa.UniqueConstraint("id", name=op.f("uq_genomic_observations_id")),
    )


def downgrade() -> None:
    op.drop_table("genomic_observations")
    op.drop_index("ix_genomic_reports_identifier", table_name="genomic_reports")
    op.drop_table("genomic_reports")
