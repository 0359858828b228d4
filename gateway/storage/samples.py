"""Sample and individual repository: which VCF column is which person, and at which bit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.samples import Identifier, SampleLink, Sex
from gateway.storage.tables import (
    individuals,
    patient_diagnoses,
    patient_identifiers,
    patients,
    samples,
)


@dataclass(frozen=True, slots=True)
class SampleRow:
    dataset_id: int
    position: int
    sample_id: str
    individual_id: str
    sex: Sex
    identifier: Identifier | None
    diagnoses: frozenset[str] = frozenset()  # ICD-10 codes (no dot) from national records


class SampleRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def in_datasets(self, dataset_ids: Sequence[int]) -> list[SampleRow]:
        """The datasets' samples in position order. An individual linked to a citizen whose
        national records are stored takes sex and diagnoses from those records."""
        query = (
            select(
                samples.c.dataset_id,
                samples.c.position,
                samples.c.sample_id,
                individuals.c.individual_id,
                func.coalesce(patients.c.sex, individuals.c.sex).label("sex"),
                individuals.c.identifier_system,
                individuals.c.identifier_value,
                patient_identifiers.c.patient_id,
            )
            .join(individuals, individuals.c.id == samples.c.individual_id)
            .outerjoin(
                patient_identifiers,
                (patient_identifiers.c.system == individuals.c.identifier_system)
                & (patient_identifiers.c.value == individuals.c.identifier_value),
            )
            .outerjoin(patients, patients.c.id == patient_identifiers.c.patient_id)
            .where(samples.c.dataset_id.in_(dataset_ids))
            .order_by(samples.c.dataset_id, samples.c.position)
        )
        rows = list(await self._db.execute(query))
        diagnoses = await self._diagnoses({row.patient_id for row in rows if row.patient_id})
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
                diagnoses.get(row.patient_id, frozenset()),
            )
            for row in rows
        ]

    async def _diagnoses(self, patient_ids: set[str]) -> dict[str, frozenset[str]]:
        if not patient_ids:
            return {}
        found: dict[str, set[str]] = {}
        query = select(patient_diagnoses).where(patient_diagnoses.c.patient_id.in_(patient_ids))
        for row in await self._db.execute(query):
            found.setdefault(row.patient_id, set()).add(row.code)
        return {pk: frozenset(codes) for pk, codes in found.items()}

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
