"""One statement that tells whether anything a patient's summary is made of has changed.

A signed summary depends on the patient's stored records, their identifiers, the consent
directives recorded for those identifiers (what may be released) and the genomic reports
linked to them. Reading all of that on every request costs six statements; this reads a
fingerprint of it in one. Records and directives are only ever appended (their ids grow), so
a count and the highest id identify them; genomic reports can go away with their dataset, so
their ids (UUIDs, never reused) are listed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    Select,
    String,
    bindparam,
    cast,
    func,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.storage.tables import (
    consent_directives,
    genomic_reports,
    patient_identifiers,
    patient_records,
    patients,
)

__all__ = ["SummaryState", "summary_state"]

SummaryState = tuple[object, ...]


async def summary_state(connection: AsyncConnection, patient_id: str) -> SummaryState | None:
    """The fingerprint of the patient's summary inputs, or None for an unknown patient."""
    row = (await connection.execute(_statement(), {"patient_id": patient_id})).first()
    return tuple(row) if row is not None else None


@cache
def _statement() -> Select[Any]:
    # Built once: this runs on every summary request, and building and keying a statement
    # of eight subqueries costs more than running it.
    patient_id: BindParameter[str] = bindparam("patient_id")
    identifiers = select(patient_identifiers.c.system, patient_identifiers.c.value).where(
        patient_identifiers.c.patient_id == patient_id
    )
    records = patient_records.c.patient_id == patient_id
    directives = tuple_(consent_directives.c.citizen_system, consent_directives.c.citizen_value)
    reports = tuple_(genomic_reports.c.identifier_system, genomic_reports.c.identifier_value)
    return select(
        patients.c.country,
        patients.c.updated_at,
        _scalar(func.count(), patient_identifiers.c.patient_id == patient_id),
        _scalar(func.count(), records),
        _scalar(func.max(patient_records.c.id), records),
        _scalar(func.count(), directives.in_(identifiers)),
        _scalar(func.max(consent_directives.c.id), directives.in_(identifiers)),
        _scalar(
            func.aggregate_strings(cast(genomic_reports.c.id, String), ","),
            reports.in_(identifiers),
        ),
    ).where(patients.c.id == patient_id)


def _scalar(column: ColumnElement[Any], where: ColumnElement[bool]) -> ScalarSelect[Any]:
    return select(column).where(where).scalar_subquery()
