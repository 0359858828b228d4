"""Patient repository: patients, their national identifiers, their stored records, and what the
Beacon reads of them (sex, ICD-10 diagnoses)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import TypeAdapter
from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.records import Identifier, PatientRecord, Sex
from gateway.domain.summary import RecordVersion, StoredRecord, source_order
from gateway.storage.tables import (
    patient_diagnoses,
    patient_identifiers,
    patient_records,
    patients,
)

__all__ = ["PatientRepository", "PatientRow", "decode_record", "encode_record"]

# pydantic validates the frozen dataclasses field by field and runs their __post_init__
# checks, so a stored record reads back exactly as it was written (and fails loudly if a
# later release changed the model in a way the data no longer fits).
_RECORD = TypeAdapter(PatientRecord)


def encode_record(record: PatientRecord) -> bytes:
    return _RECORD.dump_json(record)


def decode_record(data: str | bytes) -> PatientRecord:
    return _RECORD.validate_json(data)


@dataclass(frozen=True, slots=True)
class PatientRow:
    id: str
    country: str
    sex: Sex | None
    updated_at: datetime


class PatientRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def lock_identifiers(self, identifiers: Iterable[Identifier]) -> None:
        """Hold the identifiers until the transaction ends, so two records for one new patient
        queue up instead of creating two patients. PostgreSQL takes advisory locks in a fixed
        order; SQLite writers already hold the database's write lock (BEGIN IMMEDIATE)."""
        if self._db.dialect.name != "postgresql":
            return
        for name in sorted({str(i) for i in identifiers}):
            await self._db.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))

    async def owners(self, identifiers: Iterable[Identifier]) -> set[str]:
        """The patients any of ``identifiers`` already belongs to."""
        pairs = [(i.system, i.value) for i in identifiers]
        if not pairs:
            return set()
        query = select(patient_identifiers.c.patient_id).where(
            tuple_(patient_identifiers.c.system, patient_identifiers.c.value).in_(pairs)
        )
        return {row.patient_id for row in await self._db.execute(query)}

    async def create(self, country: str) -> str:
        now = datetime.now(UTC)
        patient_id = str(uuid.uuid4())
        await self._db.execute(
            insert(patients).values(id=patient_id, country=country, created_at=now, updated_at=now)
        )
        return patient_id

    async def add_identifiers(self, patient_id: str, identifiers: Iterable[Identifier]) -> None:
        known = {
            (row.system, row.value)
            for row in await self._db.execute(
                select(patient_identifiers).where(patient_identifiers.c.patient_id == patient_id)
            )
        }
        fresh = [
            {"system": i.system, "value": i.value, "patient_id": patient_id}
            for i in dict.fromkeys(identifiers)
            if (i.system, i.value) not in known
        ]
        if fresh:
            await self._db.execute(insert(patient_identifiers), fresh)

    async def add_record(
        self, patient_id: str, profile: str, key: str, record: PatientRecord
    ) -> int | None:
        """Store ``record`` in its stream; its arrival number, or None when this very record
        (same stream, same content) is already stored."""
        data = encode_record(record)
        digest = hashlib.sha256(data).hexdigest()
        stream = (
            (patient_records.c.patient_id == patient_id)
            & (patient_records.c.profile == profile)
            & (patient_records.c.source_key == key)
        )
        query = select(patient_records.c.id).where(stream & (patient_records.c.digest == digest))
        if (await self._db.execute(query)).first() is not None:
            return None
        result = await self._db.execute(
            insert(patient_records).values(
                patient_id=patient_id,
                profile=profile,
                source_key=key,
                source_date=record.source_date,
                source_order=source_order(record.source_date),
                digest=digest,
                record=data.decode(),
                received_at=datetime.now(UTC),
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def records(self, patient_id: str) -> list[StoredRecord]:
        query = (
            select(patient_records)
            .where(patient_records.c.patient_id == patient_id)
            .order_by(patient_records.c.id)
        )
        return [
            StoredRecord(
                stream=(row.profile, row.source_key),
                order=row.source_order,
                arrival=row.id,
                record=decode_record(row.record),
            )
            for row in await self._db.execute(query)
        ]

    async def versions(self, patient_id: str) -> list[RecordVersion]:
        """The patient's stored records without their content (nothing to decode)."""
        query = (
            select(
                patient_records.c.id,
                patient_records.c.profile,
                patient_records.c.source_key,
                patient_records.c.source_order,
            )
            .where(patient_records.c.patient_id == patient_id)
            .order_by(patient_records.c.id)
        )
        return [
            RecordVersion((row.profile, row.source_key), row.source_order, row.id)
            for row in await self._db.execute(query)
        ]

    async def contents(self, versions: Sequence[RecordVersion]) -> list[PatientRecord]:
        """The content of these stored records, in the order given (stored records are never
        changed or removed, so a version read earlier is still there)."""
        query = select(patient_records.c.id, patient_records.c.record).where(
            patient_records.c.id.in_([version.arrival for version in versions])
        )
        found = {row.id: row.record for row in await self._db.execute(query)}
        return [decode_record(found[version.arrival]) for version in versions]

    async def get(self, patient_id: str) -> PatientRow | None:
        row = (await self._db.execute(select(patients).where(patients.c.id == patient_id))).first()
        if row is None:
            return None
        return PatientRow(row.id, row.country, Sex(row.sex) if row.sex else None, row.updated_at)

    async def identifiers_of(self, patient_id: str) -> list[Identifier]:
        query = select(patient_identifiers.c.system, patient_identifiers.c.value).where(
            patient_identifiers.c.patient_id == patient_id
        )
        return [Identifier(row.system, row.value) for row in await self._db.execute(query)]

    async def find(self, identifier: Identifier) -> str | None:
        query = select(patient_identifiers.c.patient_id).where(
            (patient_identifiers.c.system == identifier.system)
            & (patient_identifiers.c.value == identifier.value)
        )
        row = (await self._db.execute(query)).first()
        return row.patient_id if row else None

    async def update_summary_facts(
        self, patient_id: str, country: str, sex: Sex | None, diagnoses: Sequence[str]
    ) -> None:
        """Keep what the Beacon reads of the patient in step with the current summary."""
        await self._db.execute(
            update(patients)
            .where(patients.c.id == patient_id)
            .values(country=country, sex=sex.value if sex else None, updated_at=datetime.now(UTC))
        )
        await self._db.execute(
            delete(patient_diagnoses).where(patient_diagnoses.c.patient_id == patient_id)
        )
        codes = sorted(set(diagnoses))
        if codes:
            await self._db.execute(
                insert(patient_diagnoses),
                [{"patient_id": patient_id, "code": code} for code in codes],
            )
