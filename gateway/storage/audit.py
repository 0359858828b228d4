"""Audit repository: appends to the hash chain, reads it back for verification and search."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.audit import GENESIS, ChainLink, chain_hash
from gateway.storage.tables import audit_events

__all__ = ["AuditEntry", "AuditRepository"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record to append: its canonical bytes, when, and whose data it is about."""

    recorded: datetime
    patient_id: str | None
    content: bytes


class AuditRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def append(self, recorded: datetime, patient_id: str | None, content: bytes) -> int:
        """Add a record at the end of the chain (inside the caller's write transaction)."""
        return await self.append_many([AuditEntry(recorded, patient_id, content)])

    async def append_many(self, entries: Sequence[AuditEntry]) -> int:
        """Add records at the end of the chain, in order, in one statement; the last sequence.

        Inside the caller's write transaction: the chain's end is read and extended under the
        transaction's lock, so two writers never chain onto the same record.
        """
        if self._db.dialect.name == "postgresql":
            # One writer at a time extends the chain; SQLite writers are serial already.
            await self._db.execute(select(func.pg_advisory_xact_lock(func.hashtext("audit"))))
        last = (
            await self._db.execute(
                select(audit_events.c.sequence, audit_events.c.hash)
                .order_by(audit_events.c.sequence.desc())
                .limit(1)
            )
        ).first()
        sequence, previous = (last.sequence, last.hash) if last else (0, GENESIS)
        rows = []
        for entry in entries:
            sequence += 1
            digest = chain_hash(previous, entry.content)
            rows.append(
                {
                    "sequence": sequence,
                    "recorded": entry.recorded,
                    "patient_id": entry.patient_id,
                    "content": entry.content.decode(),
                    "previous": previous,
                    "hash": digest,
                }
            )
            previous = digest
        if rows:
            await self._db.execute(insert(audit_events), rows)
        return int(sequence)

    async def links(self) -> AsyncIterator[ChainLink]:
        query = select(audit_events).order_by(audit_events.c.sequence)
        for row in await self._db.execute(query):
            yield ChainLink(row.sequence, row.previous, row.hash, row.content.encode())

    async def for_patient(self, patient_id: str, offset: int, limit: int) -> tuple[list[str], int]:
        where = audit_events.c.patient_id == patient_id
        total = await self._db.scalar(select(func.count()).select_from(audit_events).where(where))
        query = (
            select(audit_events.c.content)
            .where(where)
            .order_by(audit_events.c.sequence)
            .offset(offset)
            .limit(limit)
        )
        return [row.content for row in await self._db.execute(query)], int(total or 0)
