"""Dataset repository: datasets, their policy and their ingested files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, distinct, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.datasets import Dataset, DatasetPolicy, DatasetStats
from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel
from gateway.storage.tables import datasets, individuals, samples, variants, vcf_files


def _dataset(row: Any) -> Dataset:
    policy = DatasetPolicy(
        security_level=SecurityLevel(row.security_level),
        max_granularity=Granularity(row.max_granularity),
        duo_codes=tuple(code for code in row.duo_codes.split(",") if code),
        consent_basis=ConsentBasis(row.consent_basis),
    )
    return Dataset(
        row.id, row.name, row.description, row.assembly, policy, row.created_at, row.updated_at
    )


class DatasetRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def all(self) -> list[Dataset]:
        return [_dataset(row) for row in await self._db.execute(_ALL)]

    async def by_name(self, name: str) -> Dataset | None:
        row = (await self._db.execute(select(datasets).where(datasets.c.name == name))).first()
        return _dataset(row) if row else None

    async def lock_name(self, name: str) -> None:
        """Hold the dataset name until the transaction ends, whether or not the dataset
        exists yet, so that writers into one dataset (creating it, too) queue up.

        PostgreSQL takes a transaction-scoped advisory lock; SQLite writers already hold
        the database's write lock (BEGIN IMMEDIATE).
        """
        if self._db.dialect.name == "postgresql":
            await self._db.execute(
                select(func.pg_advisory_xact_lock(func.hashtext("dataset:" + name)))
            )

    async def set_assembly(self, dataset: Dataset, assembly: str) -> Dataset:
        await self._db.execute(
            update(datasets).where(datasets.c.id == dataset.id).values(assembly=assembly)
        )
        changed = await self.by_id(dataset.id)
        assert changed is not None
        return changed

    async def create(
        self, name: str, assembly: str, policy: DatasetPolicy, description: str | None = None
    ) -> Dataset:
        now = datetime.now(UTC)
        result = await self._db.execute(
            insert(datasets).values(
                revision=1,
                name=name,
                description=description,
                assembly=assembly,
                created_at=now,
                updated_at=now,
                **_policy_columns(policy),
            )
        )
        created = await self.by_id(int(result.inserted_primary_key[0]))  # type: ignore[index]
        assert created is not None  # we just inserted it in this transaction
        return created

    async def by_id(self, pk: int) -> Dataset | None:
        row = (await self._db.execute(select(datasets).where(datasets.c.id == pk))).first()
        return _dataset(row) if row else None

    async def set_policy(self, dataset: Dataset, policy: DatasetPolicy) -> Dataset:
        await self._db.execute(
            update(datasets)
            .where(datasets.c.id == dataset.id)
            .values(
                updated_at=datetime.now(UTC),
                revision=datasets.c.revision + 1,
                **_policy_columns(policy),
            )
        )
        changed = await self.by_id(dataset.id)
        assert changed is not None
        return changed

    async def has_file(self, dataset: Dataset, sha256: str) -> bool:
        query = select(vcf_files.c.id).where(
            vcf_files.c.dataset_id == dataset.id, vcf_files.c.sha256 == sha256
        )
        return (await self._db.execute(query)).first() is not None

    async def add_file(
        self, dataset: Dataset, sha256: str, file_name: str, sample_count: int
    ) -> int:
        result = await self._db.execute(
            insert(vcf_files).values(
                dataset_id=dataset.id,
                sha256=sha256,
                file_name=file_name,
                sample_count=sample_count,
                variant_count=0,
                ingested_at=datetime.now(UTC),
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def finish_file(self, file_id: int, variant_count: int) -> None:
        await self._db.execute(
            update(vcf_files).where(vcf_files.c.id == file_id).values(variant_count=variant_count)
        )

    async def clear(self, dataset: Dataset) -> None:
        """Remove everything ingested into a dataset (``--replace``), keeping its policy."""
        for table in (variants, samples, individuals, vcf_files):
            await self._db.execute(delete(table).where(table.c.dataset_id == dataset.id))

    async def stats(self, dataset: Dataset) -> DatasetStats:
        # Distinct alleles: one present in two appended files is one variant. An operator
        # command, so the scan of the dataset's variants is acceptable here.
        variant_count = await self._db.scalar(
            select(func.count(distinct(variants.c.variant_id))).where(
                variants.c.dataset_id == dataset.id
            )
        )
        sample_count = await self._db.scalar(
            select(func.count()).select_from(samples).where(samples.c.dataset_id == dataset.id)
        )
        return DatasetStats(int(variant_count or 0), int(sample_count or 0))


_ALL = select(datasets).order_by(datasets.c.name)


def _policy_columns(policy: DatasetPolicy) -> dict[str, str]:
    return {
        "security_level": policy.security_level.value,
        "max_granularity": policy.max_granularity.value,
        "duo_codes": ",".join(policy.duo_codes),
        "consent_basis": policy.consent_basis.value,
    }
