"""national records: patients, their identifiers, stored records and diagnoses

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
    )
    op.create_table(
        "patient_identifiers",
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_identifiers_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system", "value", name=op.f("pk_patient_identifiers")),
    )
    op.create_index(
        "ix_patient_identifiers_patient", "patient_identifiers", ["patient_id"], unique=False
    )
    op.create_table(
        "patient_records",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("source_date", sa.Text(), nullable=True),
        sa.Column("source_order", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_records_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_records")),
        sa.UniqueConstraint(
            "patient_id", "profile", "source_key", "digest", name="uq_patient_records_content"
        ),
    )
    op.create_index("ix_patient_records_patient", "patient_records", ["patient_id"], unique=False)
    op.create_table(
        "patient_diagnoses",
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_diagnoses_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_id", "code", name=op.f("pk_patient_diagnoses")),
    )
    op.create_index("ix_patient_diagnoses_code", "patient_diagnoses", ["code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patient_diagnoses_code", table_name="patient_diagnoses")
    op.drop_table("patient_diagnoses")
    op.drop_index("ix_patient_records_patient", table_name="patient_records")
    op.drop_table("patient_records")
    op.drop_index("ix_patient_identifiers_patient", table_name="patient_identifiers")
    op.drop_table("patient_identifiers")
    op.drop_table("patients")
