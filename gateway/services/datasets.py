"""Use cases: list datasets, change their research policy."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.datasets import Dataset, DatasetStats, PolicyChange
from gateway.errors import NotFound
from gateway.storage.database import Database
from gateway.storage.datasets import DatasetRepository


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    dataset: Dataset
    stats: DatasetStats


async def list_datasets(database: Database) -> list[DatasetSummary]:
    async with database.read() as connection:
        repo = DatasetRepository(connection)
        return [DatasetSummary(d, await repo.stats(d)) for d in await repo.all()]


async def set_policy(database: Database, name: str, change: PolicyChange) -> Dataset:
    """:raises NotFound: no dataset has that name."""
    async with database.write() as connection:
        repo = DatasetRepository(connection)
        dataset = await repo.by_name(name)
        if dataset is None:
            raise NotFound(f"no dataset named {name!r}; see 'gateway datasets list'")
        return await repo.set_policy(dataset, change.apply(dataset.policy))
