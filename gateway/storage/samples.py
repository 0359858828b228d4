"""Sample and individual repository: which VCF column is which person, and at which bit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.samples import Identifier, SampleLink, Sex
from gateway.storage.tables import individuals, samples


@dataclass(frozen=True, slots=True)
class SampleRow:
    dataset_id: int
    position: int
    sample_id: str
    individual_id: str
    sex: Sex
    identifier: Identifier | None


class SampleRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def in_datasets(self, dataset_ids: Sequence[int]) -> list[SampleRow]:
        query = (
            select(
                samples.c.dataset_id,
                samples.c.position,
                samples.c.sample_id,
                individuals.c.individual_id,
                individuals.c.sex,
                individuals.c.identifier_system,
                individuals.c.identifier_value,
            )
            .join(individuals, individuals.c.id == samples.c.individual_id)
            .where(samples.c.dataset_id.in_(dataset_ids))
            .order_by(samples.c.dataset_id, samples.c.position)
        )
        return [
            SampleRow(
                row.dataset_id,
                row.position,
                row.sample_id,
                row.individual_id,
                Sex(row.sex),
                Identifier(row.identifier_system, row.identifier_value)
                if row.identifier_value
                else None,
            )
            for row in await self._db.execute(query)
        ]

    async def positions(self, dataset_id: int) -> dict[str, int]:
        query = select(samples.c.sample_id, samples.c.position).where(
            samples.c.dataset_id == dataset_id
        )
        return {row.sample_id: row.position for row in await self._db.execute(query)}

    async def add(
        self, dataset_id: int, links: Sequence[SampleLink], *, update_individuals: bool
    ) -> dict[str, int]:
        """Register new samples (and their individuals) at the next free bit positions.

        Samples already in the dataset keep their position. With ``update_individuals`` (a
        manifest was given) existing individuals take the manifest's sex and identifier;
        without it they are left exactly as they are.
        """
        known = await self.positions(dataset_id)
        people = await self._individuals(dataset_id, links, update_individuals)
        next_position = max(known.values(), default=-1) + 1
        new_rows = []
        for link in links:
            if link.sample_id in known:
                continue
            known[link.sample_id] = next_position
            new_rows.append(
                {
                    "dataset_id": dataset_id,
                    "sample_id": link.sample_id,
                    "position": next_position,
                    "individual_id": people[link.individual_id],
                }
            )
            next_position += 1
        if new_rows:
            await self._db.execute(insert(samples), new_rows)
        return known

    async def _individuals(
        self, dataset_id: int, links: Sequence[SampleLink], overwrite: bool
    ) -> dict[str, int]:
        query = select(individuals.c.individual_id, individuals.c.id).where(
            individuals.c.dataset_id == dataset_id
        )
        existing = {row.individual_id: row.id for row in await self._db.execute(query)}
        for link in {link.individual_id: link for link in links}.values():
            values = {
                "sex": link.sex.value,
                "identifier_system": link.identifier.system if link.identifier else None,
                "identifier_value": link.identifier.value if link.identifier else None,
            }
            if link.individual_id in existing:
                if not overwrite:
                    continue
                await self._db.execute(
                    update(individuals)
                    .where(individuals.c.id == existing[link.individual_id])
                    .values(**values)
                )
            else:
                result = await self._db.execute(
                    insert(individuals).values(
                        dataset_id=dataset_id, individual_id=link.individual_id, **values
                    )
                )
                existing[link.individual_id] = int(result.inserted_primary_key[0])  # type: ignore[index]
        return existing
