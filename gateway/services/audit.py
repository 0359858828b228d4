"""Every access decision, written to the tamper-evident log and readable per patient.

The agent is the requester the access token names (its client id, and the person when the
token says); a request refused before anyone could be identified is ``unauthenticated``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jcs
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.audit import verify_chain
from gateway.fhir.audit import audit_event
from gateway.fhir.datatypes import Json, instant
from gateway.storage.audit import AuditEntry, AuditRepository
from gateway.storage.audit_writer import AuditWriter
from gateway.storage.database import Database

__all__ = ["UNAUTHENTICATED", "AuditService", "ChainReport"]

UNAUTHENTICATED = "unauthenticated"


@dataclass(frozen=True, slots=True)
class ChainReport:
    records: int
    problem: str | None


class AuditService:
    def __init__(self, database: Database, observer: str) -> None:
        self._database = database
        self._observer = observer
        self._writer = AuditWriter(database)

    async def record(
        self,
        interaction: str,
        outcome: str,
        *,
        patient_id: str | None = None,
        what: str | None = None,
        description: str | None = None,
        agent: str = UNAUTHENTICATED,
        purpose: str | None = None,
        within: AsyncConnection | None = None,
    ) -> None:
        """Append one AuditEvent: inside ``within``, the write transaction of the access it
        records (both commit or neither does), else in the next group commit (returns once
        committed)."""
        now = datetime.now(UTC)
        event = audit_event(
            resource_id=str(uuid.uuid4()),
            interaction=interaction,
            recorded=instant(now, milliseconds=True),
            outcome=outcome,
            agent=agent,
            observer=self._observer,
            what=what,
            patient=f"Patient/{patient_id}" if patient_id else None,
            purpose=purpose,
            description=description,
        )
        entry = AuditEntry(now, patient_id, jcs.canonicalize(event))
        if within is not None:
            await AuditRepository(within).append_many([entry])
            return
        await self._writer.append(entry)

    async def events(self, patient_id: str, offset: int, limit: int) -> tuple[list[Json], int]:
        async with self._database.read() as connection:
            rows, total = await AuditRepository(connection).for_patient(patient_id, offset, limit)
        return [orjson.loads(row) for row in rows], total

    async def verify(self) -> ChainReport:
        async with self._database.read() as connection:
            links = [link async for link in AuditRepository(connection).links()]
        count, problem = verify_chain(links)
        return ChainReport(count, str(problem) if problem else None)
