"""Genomic reports of citizens: made when a VCF is ingested with a manifest that links samples
to citizens, stored with their Observations, and served over FHIR.

At ingest each linked sample gets a ``genomic-report`` with one ``variant`` Observation per
allele it carries (the same builders as ``gateway translate vcf``). The patient is found at
read time through the identifier the manifest gives, so a report made before the citizen's
national record arrives is theirs as soon as it does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.consent import Decision
from gateway.domain.genomics import (
    CalledAllele,
    SourceClass,
    TranslationTally,
)
from gateway.domain.requester import Requester
from gateway.domain.samples import SampleLink
from gateway.errors import NotFound
from gateway.fhir.datatypes import Json, instant
from gateway.fhir.genomics import genomic_report
from gateway.fhir.genomics_stream import ReportObservations
from gateway.ingest.genomic_calls import CallQuery, read_calls
from gateway.services.audit import AuditService
from gateway.services.consent_gate import ConsentGate
from gateway.storage.database import Database
from gateway.storage.genomic_reports import GenomicReportRepository, ObservationRow, ReportRow
from gateway.storage.patients import PatientRepository

__all__ = [
    "GenomicReportService",
    "report_resource",
    "store_genomic_reports",
]

_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "urn:eu-health-gateway:fhir:stored-genomic-report")
_BATCH = 5000


@dataclass
class _SampleReport:
    row: ReportRow
    observations: ReportObservations = field(init=False)

    def __post_init__(self) -> None:
        report = uuid.UUID(self.row.id)
        self.observations = ReportObservations(
            SourceClass.GERMLINE,
            lambda seq: observation_id(report, seq),
            lambda resource_id: f"Observation/{resource_id}",
        )


def observation_id(report: uuid.UUID, seq: int) -> str:
    """The id of a stored report's ``seq``-th Observation (derived, so never stored twice)."""
    return str(uuid.uuid5(report, f"observation/{seq}"))


async def store_genomic_reports(
    connection: AsyncConnection,
    path: Path,
    file_id: int,
    digest: str,
    links: Sequence[SampleLink],
    assembly: str,
    *,
    all_filters: bool = False,
) -> int:
    """A report for each linked sample of the file, inside the ingest's transaction.

    :returns: how many Observations were stored.
    :raises IngestError: the file cannot be read (names the line).
    """
    linked = [link for link in links if link.identifier is not None]
    if not linked:
        return 0
    issued = instant()
    reports = {
        link.sample_id: _new_report(link, file_id, digest, assembly, issued) for link in linked
    }
    repo = GenomicReportRepository(connection)
    for report in reports.values():
        await repo.add_report(report.row)
    tally = TranslationTally()
    query = CallQuery(path, tuple(reports), (), assembly, all_filters)
    calls = read_calls(query, tally)
    stored = 0
    while rows := await asyncio.to_thread(_next_rows, calls, reports):
        await repo.add_observations(rows)
        stored += len(rows)
    for report in reports.values():
        made = report.observations
        await repo.set_counts(report.row.id, made.variants, made.relations)
    return stored


def _new_report(
    link: SampleLink, file_id: int, digest: str, assembly: str, issued: str
) -> _SampleReport:
    assert link.identifier is not None
    report_id = str(uuid.uuid5(_ROOT, f"{digest}/{link.sample_id}"))
    return _SampleReport(
        ReportRow(report_id, file_id, link.sample_id, link.identifier, assembly, issued, 0, 0)
    )


def _next_rows(
    calls: Iterator[tuple[str, CalledAllele]], reports: dict[str, _SampleReport]
) -> list[ObservationRow]:
    """Up to one batch of Observation rows, built in a worker thread (pysam reads there)."""
    rows: list[ObservationRow] = []
    for sample, allele in calls:
        report = reports[sample]
        first = report.observations.count
        for seq, (resource_id, resource) in enumerate(report.observations.add(allele), first):
            code = resource["code"]["coding"][0]["code"]
            rows.append(ObservationRow(report.row.id, seq, resource_id, code, _json(resource)))
        if len(rows) >= _BATCH:
            break
    return rows


def _json(resource: Json) -> str:
    return orjson.dumps(resource).decode()


def report_resource(row: ReportRow, subject: Json, result_base: str) -> Json:
    """The stored report as a ``genomic-report`` DiagnosticReport about ``subject``; its
    results are the stored Observations at ``{result_base}/{id}``."""
    parent = uuid.UUID(row.id)
    count = row.variants + row.relations
    urls = [f"{result_base}/{uuid.uuid5(parent, f'observation/{seq}')}" for seq in range(count)]
    report = genomic_report(row.id, subject, urls, row.issued)
    report["conclusion"] = (
        f"{row.variants} variants called in sample {row.sample_id} ({row.assembly}); "
        f"{row.relations} phase relationships"
    )
    return report


def observation_resource(resource: str, subject: Json) -> Json:
    """A stored Observation, now about ``subject``."""
    parsed: Json = orjson.loads(resource)
    parsed["subject"] = subject
    return parsed


class GenomicReportService:
    """The FHIR reads: a patient's genomic reports and their Observations, paged, each read
    decided by the citizen's consent for the category ``genomics`` (a refused search is
    empty, a refused read is not found, as if there were nothing)."""

    def __init__(
        self,
        database: Database,
        base_url: str,
        gate: ConsentGate,
        audit: AuditService | None = None,
    ) -> None:
        self._database = database
        self._base = base_url
        self._gate = gate
        self._audit = audit

    async def search_reports(self, patient_id: str, who: Requester) -> list[Json]:
        """:meth:`reports` for ``who``, as a FHIR search, in the access log."""
        async with self._database.read() as connection:
            if await PatientRepository(connection).get(patient_id) is None:
                return []  # no such patient: nothing read, nothing to log under that id
            release = await self._gate.release(connection, patient_id, who)
        if not release.genomics.permit:
            await self._log(who, "search-type", patient_id, "DiagnosticReport", release.genomics)
            return []
        found = await self.reports(patient_id)
        await self._log(who, "search-type", patient_id, "DiagnosticReport", release.genomics)
        return found

    async def reports(
        self, patient_id: str, connection: AsyncConnection | None = None
    ) -> list[Json]:
        """The patient's genomic reports (none when the patient is unknown); the caller has
        decided consent, possibly in the read ``connection`` it passes."""
        if connection is None:
            async with self._database.read() as own:
                return await self.reports(patient_id, own)
        subject = {"reference": f"Patient/{patient_id}"}
        identifiers = await PatientRepository(connection).identifiers_of(patient_id)
        rows = await GenomicReportRepository(connection).reports_for(identifiers)
        return [report_resource(row, subject, f"{self._base}/fhir/Observation") for row in rows]

    async def observations(
        self, patient_id: str, code: str | None, count: int, offset: int, who: Requester
    ) -> tuple[list[Json], int]:
        """One page of the Observations of the patient's reports, and how many in all."""
        subject = {"reference": f"Patient/{patient_id}"}
        async with self._database.read() as connection:
            if await PatientRepository(connection).get(patient_id) is None:
                return [], 0  # no such patient: nothing read, nothing to log under that id
            decision = (await self._gate.release(connection, patient_id, who)).genomics
            rows: list[ObservationRow] = []
            total = 0
            if decision.permit:
                identifiers = await PatientRepository(connection).identifiers_of(patient_id)
                repo = GenomicReportRepository(connection)
                reports = await repo.reports_for(identifiers)
                rows, total = await repo.observations([r.id for r in reports], code, offset, count)
        await self._log(who, "search-type", patient_id, "Observation", decision)
        return [observation_resource(row.resource, subject) for row in rows], total

    async def observation(self, observation_id: str, who: Requester) -> Json:
        """One stored Observation, about its patient. :raises NotFound: (also when consent
        does not permit ``who`` to see it)"""
        async with self._database.read() as connection:
            found = await GenomicReportRepository(connection).observation(observation_id)
            if found is None:
                raise NotFound("no such Observation")
            row, identifier = found
            patient_id = await PatientRepository(connection).find(identifier)
            decision = await self._gate.genomics(connection, identifier, who)
        what = f"Observation/{observation_id}"
        await self._log(who, "read", patient_id, what, decision)
        if not decision.permit:
            raise NotFound("no such Observation")
        resource: Json = orjson.loads(row.resource)
        if patient_id is not None:
            resource["subject"] = {"reference": f"Patient/{patient_id}"}
        return resource

    async def _log(
        self,
        who: Requester,
        interaction: str,
        patient_id: str | None,
        what: str,
        decision: Decision,
    ) -> None:
        if self._audit is not None:
            await self._audit.record(
                interaction,
                "success" if decision.permit else "minor-failure",
                patient_id=patient_id,
                what=what,
                agent=who.agent,
                purpose=who.purpose,
                description=("permitted: " if decision.permit else "refused by consent: ")
                + decision.reason,
            )
