"""initial schema: datasets, VCF files, samples, variants

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assembly", sa.String(length=16), nullable=False),
        sa.Column("security_level", sa.String(length=16), nullable=False),
        sa.Column("max_granularity", sa.String(length=16), nullable=False),
        sa.Column("duo_codes", sa.Text(), nullable=False),
        sa.Column("consent_basis", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_datasets_name")),
    )
    op.create_table(
        "individuals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("individual_id", sa.Text(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("identifier_system", sa.Text(), nullable=True),
        sa.Column("identifier_value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_individuals_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_individuals")),
        sa.UniqueConstraint(
            "dataset_id", "individual_id", name="uq_individuals_dataset_individual"
        ),
    )
    with op.batch_alter_table("individuals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_individuals_identifier", ["identifier_system", "identifier_value"], unique=False
        )
        batch_op.create_index("ix_individuals_individual_id", ["individual_id"], unique=False)

    op.create_table(
        "vcf_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("variant_count", sa.Integer(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_vcf_files_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vcf_files")),
        sa.UniqueConstraint("dataset_id", "sha256", name="uq_vcf_files_dataset_sha256"),
    )
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("individual_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_samples_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["individual_id"],
            ["individuals.id"],
            name=op.f("fk_samples_individual_id_individuals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_samples")),
        sa.UniqueConstraint("dataset_id", "position", name="uq_samples_dataset_position"),
        sa.UniqueConstraint("dataset_id", "sample_id", name="uq_samples_dataset_sample"),
    )
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.create_index("ix_samples_individual", ["individual_id"], unique=False)

    op.create_table(
        "variants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("assembly", sa.String(length=16), nullable=False),
        sa.Column("chromosome", sa.Text(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("alternate", sa.Text(), nullable=False),
        sa.Column("variant_type", sa.String(length=8), nullable=False),
        sa.Column("variant_id", sa.Text(), nullable=False),
        sa.Column("is_long", sa.Boolean(), nullable=False),
        sa.Column("carrier_count", sa.Integer(), nullable=False),
        sa.Column("carriers", sa.LargeBinary(), nullable=False),
        sa.Column("homozygous", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_variants_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["vcf_files.id"],
            name=op.f("fk_variants_file_id_vcf_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index("ix_variants_dataset", ["dataset_id", "id"], unique=False)
        batch_op.create_index("ix_variants_file", ["file_id"], unique=False)
        batch_op.create_index(
            "ix_variants_locus", ["chromosome", "start", "assembly"], unique=False
        )
        batch_op.create_index(
            "ix_variants_long",
            ["chromosome", "start"],
            unique=False,
            sqlite_where=sa.text("is_long"),
            postgresql_where=sa.text("is_long"),
        )
        batch_op.create_index("ix_variants_variant_id", ["variant_id"], unique=False)

    op.create_table(
        "variant_genes",
        sa.Column("gene", sa.Text(), nullable=False),
        sa.Column(
            "variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("gene_key", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["variants.id"],
            name=op.f("fk_variant_genes_variant_id_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gene", "variant_id", name=op.f("pk_variant_genes")),
    )
    with op.batch_alter_table("variant_genes", schema=None) as batch_op:
        batch_op.create_index("ix_variant_genes_variant", ["variant_id"], unique=False)
        batch_op.create_index("ix_variant_genes_gene_key", ["gene_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("variant_genes", schema=None) as batch_op:
        batch_op.drop_index("ix_variant_genes_gene_key")
        batch_op.drop_index("ix_variant_genes_variant")

    op.drop_table("variant_genes")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index("ix_variants_variant_id")
        batch_op.drop_index(
            "ix_variants_long", sqlite_where=sa.text("is_long"), postgresql_where=sa.text("is_long")
        )
        batch_op.drop_index("ix_variants_locus")
        batch_op.drop_index("ix_variants_file")
        batch_op.drop_index("ix_variants_dataset")

    op.drop_table("variants")
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.drop_index("ix_samples_individual")

    op.drop_table("samples")
    op.drop_table("vcf_files")
    with op.batch_alter_table("individuals", schema=None) as batch_op:
        batch_op.drop_index("ix_individuals_individual_id")
        batch_op.drop_index("ix_individuals_identifier")

    op.drop_table("individuals")
    op.drop_table("datasets")
