"""Genomic report repository: a report per linked sample of an ingested VCF, its Observations,
and the look-ups the FHIR routes make (by the citizen's identifiers, paged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.records import Identifier
from gateway.storage.tables import genomic_observations, genomic_reports

__all__ = ["GenomicReportRepository", "ObservationRow", "ReportRow"]


@dataclass(frozen=True, slots=True)
class ReportRow:
    id: str
    file_id: int
    sample_id: str
    identifier: Identifier
    assembly: str
    issued: str
    variants: int
    relations: int


@dataclass(frozen=True, slots=True)
class ObservationRow:
    report_id: str
    seq: int
    id: str
    code: str
    resource: str  # JSON, without its subject


class GenomicReportRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add_report(self, report: ReportRow) -> None:
        await self._db.execute(
            insert(genomic_reports).values(
                id=report.id,
                file_id=report.file_id,
                sample_id=report.sample_id,
                identifier_system=report.identifier.system,
                identifier_value=report.identifier.value,
                assembly=report.assembly,
                issued=report.issued,
                variants=report.variants,
                relations=report.relations,
            )
        )

    async def add_observations(self, rows: Sequence[ObservationRow]) -> None:
        if rows:
            await self._db.execute(
                insert(genomic_observations),
                [
                    {
                        "report_id": r.report_id,
                        "seq": r.seq,
                        "id": r.id,
                        "code": r.code,
                        "resource": r.resource,
                    }
                    for r in rows
                ],
            )

    async def set_counts(self, report_id: str, variants: int, relations: int) -> None:
        await self._db.execute(
            update(genomic_reports)
            .where(genomic_reports.c.id == report_id)
            .values(variants=variants, relations=relations)
        )

    async def observation(self, observation_id: str) -> tuple[ObservationRow, Identifier] | None:
        """An Observation by its id, with the identifier its report is linked to."""
        query = (
            select(
                genomic_observations,
                genomic_reports.c.identifier_system,
                genomic_reports.c.identifier_value,
            )
            .join(genomic_reports, genomic_reports.c.id == genomic_observations.c.report_id)
            .where(genomic_observations.c.id == observation_id)
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        found = ObservationRow(row.report_id, row.seq, row.id, row.code, row.resource)
        return found, Identifier(row.identifier_system, row.identifier_value)

    async def reports_for(self, identifiers: Sequence[Identifier]) -> list[ReportRow]:
        """The reports of samples linked to any of ``identifiers``, oldest first."""
        pairs = [(i.system, i.value) for i in identifiers]
        if not pairs:
            return []
        query = (
            select(genomic_reports)
            .where(
                tuple_(genomic_reports.c.identifier_system, genomic_reports.c.identifier_value).in_(
                    pairs
                )
            )
            .order_by(genomic_reports.c.issued, genomic_reports.c.id)
        )
        return [_report(row) for row in await self._db.execute(query)]

    async def observations(
        self, report_ids: Sequence[str], code: str | None, offset: int, limit: int
    ) -> tuple[list[ObservationRow], int]:
        """One page of the reports' Observations (by report id, then the report's own order),
        and how many there are in all."""
        if not report_ids:
            return [], 0
        where: ColumnElement[bool] = genomic_observations.c.report_id.in_(report_ids)
        if code is not None:
            where = where & (genomic_observations.c.code == code)
        total = await self._db.scalar(
            select(func.count()).select_from(genomic_observations).where(where)
        )
        query = (
            select(genomic_observations)
            .where(where)
            .order_by(genomic_observations.c.report_id, genomic_observations.c.seq)
        )
        rows = [
            ObservationRow(r.report_id, r.seq, r.id, r.code, r.resource)
            for r in await self._db.execute(query.offset(offset).limit(limit))
        ]
        return rows, int(total or 0)


def _report(row: Any) -> ReportRow:
    return ReportRow(
        id=row.id,
        file_id=row.file_id,
        sample_id=row.sample_id,
        identifier=Identifier(row.identifier_system, row.identifier_value),
        assembly=row.assembly,
        issued=row.issued,
        variants=row.variants,
        relations=row.relations,
    )
