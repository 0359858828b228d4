"""Relational schema (SQLAlchemy 2 Core tables), shared by SQLite and PostgreSQL.

Carriers are stored per variant as compact bitmaps over the dataset's samples (bit i = the
sample at position i), not as one row per call: with ~234 carriers among 2,548 samples a
row per call costs ~234 rows per variant, while a bitmap is 319 bytes, and consent-filtered
counts become one AND and a popcount (see ``gateway.domain.carriers``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Stable constraint names so Alembic migrations are identical on both back ends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only gives AUTOINCREMENT-like rowids to INTEGER PRIMARY KEY columns.
Id = BigInteger().with_variant(Integer(), "sqlite")

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("description", Text),
    Column("assembly", String(16), nullable=False),
    Column("security_level", String(16), nullable=False),
    Column("max_granularity", String(16), nullable=False),
    Column("duo_codes", Text, nullable=False, default=""),
    Column("consent_basis", String(16), nullable=False),
    # Bumped on every policy change: readers compare sum(revision) and count(*) to know
    # whether their cached copy of the catalog is still current.
    Column("revision", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

vcf_files = Table(
    "vcf_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sample_count", Integer, nullable=False),
    Column("variant_count", Integer, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dataset_id", "sha256", name="uq_vcf_files_dataset_sha256"),
)

individuals = Table(
    "individuals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("individual_id", Text, nullable=False),
    Column("sex", String(16), nullable=False),
    Column("identifier_system", Text),
    Column("identifier_value", Text),
    UniqueConstraint("dataset_id", "individual_id", name="uq_individuals_dataset_individual"),
    Index("ix_individuals_individual_id", "individual_id"),
    Index("ix_individuals_identifier", "identifier_system", "identifier_value"),
)

samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("sample_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("individual_id", ForeignKey("individuals.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("dataset_id", "sample_id", name="uq_samples_dataset_sample"),
    UniqueConstraint("dataset_id", "position", name="uq_samples_dataset_position"),
    Index("ix_samples_individual", "individual_id"),
)

variants = Table(
    "variants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("file_id", ForeignKey("vcf_files.id", ondelete="CASCADE"), nullable=False),
    Column("assembly", String(16), nullable=False),
    Column("chromosome", Text, nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    Column("reference", Text, nullable=False),
    Column("alternate", Text, nullable=False),
    Column("variant_type", String(8), nullable=False),
    Column("variant_id", Text, nullable=False),
    # Variants longer than LONG_VARIANT are few (SVs); range queries find them through their
    # own index instead of widening the start-position scan for every query.
    Column("is_long", Boolean, nullable=False),
    Column("carrier_count", Integer, nullable=False),
    Column("carriers", LargeBinary, nullable=False),
    Column("homozygous", LargeBinary, nullable=False),
    Index("ix_variants_locus", "chromosome", "start", "assembly"),
    Index("ix_variants_variant_id", "variant_id"),
    Index("ix_variants_dataset", "dataset_id", "id"),
    Index("ix_variants_file", "file_id"),
)
Index(
    "ix_variants_long",
    variants.c.chromosome,
    variants.c.start,
    sqlite_where=variants.c.is_long,
    postgresql_where=variants.c.is_long,
)

variant_genes = Table(
    "variant_genes",
    metadata,
    Column("gene", Text, primary_key=True),
    Column("variant_id", ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True),
    # Researchers type brca2 as often as BRCA2: queries match the upper-cased symbol.
    Column("gene_key", Text, nullable=False),
    Index("ix_variant_genes_variant", "variant_id"),
    Index("ix_variant_genes_gene_key", "gene_key"),
)

LONG_VARIANT = 1000

# --- national records (issue 3) ---------------------------------------------------------------

patients = Table(
    "patients",
    metadata,
    Column("id", String(36), primary_key=True),  # a UUID: the FHIR Patient id
    Column("country", String(2), nullable=False),
    # From the current summary, for the Beacon: linked individuals take sex and diagnoses here.
    Column("sex", String(16)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

patient_identifiers = Table(
    "patient_identifiers",
    metadata,
    Column("system", Text, primary_key=True),
    Column("value", Text, primary_key=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Index("ix_patient_identifiers_patient", "patient_id"),
)

patient_records = Table(
    "patient_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),  # also the arrival order
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("source_key", Text, nullable=False),
    Column("source_date", Text),
    Column("source_order", String(32), nullable=False),  # domain.summary.source_order
    Column("digest", String(64), nullable=False),  # SHA-256 of the stored record JSON
    Column("record", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "patient_id", "profile", "source_key", "digest", name="uq_patient_records_content"
    ),
    Index("ix_patient_records_patient", "patient_id"),
)

patient_diagnoses = Table(
    "patient_diagnoses",
    metadata,
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(16), primary_key=True),  # ICD-10 WHO, upper case, without the dot
    Index("ix_patient_diagnoses_code", "code"),
)

# --- genomic reports (issue 4) ----------------------------------------------------------------

genomic_reports = Table(
    "genomic_reports",
    metadata,
    Column("id", String(36), primary_key=True),  # a UUID: the FHIR DiagnosticReport id
    Column("file_id", ForeignKey("vcf_files.id", ondelete="CASCADE"), nullable=False),
    Column("sample_id", Text, nullable=False),
    # The citizen the sample manifest links the sample to; the patient is found through it.
    Column("identifier_system", Text, nullable=False),
    Column("identifier_value", Text, nullable=False),
    Column("assembly", String(16), nullable=False),
    Column("issued", Text, nullable=False),  # FHIR instant
    Column("variants", Integer, nullable=False),
    Column("relations", Integer, nullable=False),
    UniqueConstraint("file_id", "sample_id", name="uq_genomic_reports_file_sample"),
    Index("ix_genomic_reports_identifier", "identifier_system", "identifier_value"),
)

genomic_observations = Table(
    "genomic_observations",
    metadata,
    Column("report_id", ForeignKey("genomic_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),  # the report's own order: variants, then phases
    Column("id", String(36), nullable=False, unique=True),  # the Observation id
    Column("code", String(16), nullable=False),  # LOINC: 69548-6 variant, 82120-7 phase
    Column("resource", Text, nullable=False),  # the Observation JSON, without its subject
)

# --- consent (issue 5) --------------------------------------------------------------------------

consent_directives = Table(
    "consent_directives",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", String(128), nullable=False, unique=True),  # idempotency
    Column("citizen_system", Text, nullable=False),
    Column("citizen_value", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("recorded", DateTime(timezone=True), nullable=False),
    Column("purposes", Text, nullable=False),  # space-separated; empty: every purpose
    Column("countries", Text, nullable=False),  # space-separated; "*": any
    Column("categories", Text, nullable=False),  # space-separated; empty: every category
    Column("start", DateTime(timezone=True)),
    Column("end", DateTime(timezone=True)),
    Column("received", DateTime(timezone=True), nullable=False),
    Index("ix_consent_directives_citizen", "citizen_system", "citizen_value"),
)

# --- audit (issue 5) ----------------------------------------------------------------------------

audit_events = Table(
    "audit_events",
    metadata,
    # Set by the writer (last + 1 under the chain's lock), not by a database sequence: a rolled
    # back transaction must not leave a gap that reads as a deleted record.
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded", DateTime(timezone=True), nullable=False),
    Column("patient_id", String(36)),
    Column("content", Text, nullable=False),  # the AuditEvent's canonical JSON
    Column("previous", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_patient", "patient_id"),
)

# --- authorization (issue 5) --------------------------------------------------------------------

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("jwks", Text, nullable=False),  # the client's public keys (JSON Web Key Set)
    Column("algorithm", String(8), nullable=False),  # pinned: its assertions use only this
    Column("scopes", Text, nullable=False),  # space-separated SMART scopes it may be granted
    Column("country", String(2), nullable=False),  # the member state it asks for
    Column("purposes", Text, nullable=False),  # space-separated PurposeOfUse it may assert
    Column("created", DateTime(timezone=True), nullable=False),
)

# Client assertion ids already used: single use across restarts until the assertion expires.
oauth_assertions = Table(
    "oauth_assertions",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("jti", String(256), primary_key=True),
    Column("expires", DateTime(timezone=True), nullable=False),
    Index("ix_oauth_assertions_expires", "expires"),
)

# Beacon queries per caller per hour (GATEWAY_BEACON_QUERY_BUDGET), kept across restarts.
beacon_budget = Table(
    "beacon_budget",
    metadata,
    Column("caller", String(256), primary_key=True),  # a passport's iss+sub, or "anonymous:IP"
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("used", Integer, nullable=False),
)
