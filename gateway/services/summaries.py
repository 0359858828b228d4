"""The read side of patient data: the signed summary document, the Patient, patient search.

Each read is decided by the consent enforcement point for the requester in the access token:
a summary the citizen does not let go to that country for that purpose is refused (403) in
the same words whatever the reason, and restricted sections are written as empty ones, so
nothing tells the requester that a restriction exists (EHDS Art. 8). A search the consent
does not permit finds nothing. Every read, permitted or refused, is in the audit log with
the requester, its purpose and the reason.

Signed documents are kept per patient version (the current records, the genomic reports and
the withheld sections), as the exact bytes that are sent: canonicalising and signing ~100 KB
costs milliseconds, and a summary asked twice without a change in between is the same
document. The consent decision is kept too, per patient and per requesting country and
purpose, together with a fingerprint of everything it and the document were made of
(:mod:`gateway.storage.summary_state`). Each request reads that fingerprint afresh, in one
statement: a new record, a consent event or a genomic report changes it, and so does the
clock reaching the start or end of a consent period, so nothing kept outlives what it was
decided on, in this process or after a write by another.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.records import Identifier, PatientRecord, Section
from gateway.domain.requester import Requester
from gateway.domain.summary import RecordVersion, StoredRecord, current_records, merge_records
from gateway.errors import Forbidden, NotFound
from gateway.fhir.datatypes import Json
from gateway.fhir.resources import patient as patient_resource
from gateway.services.audit import AuditService
from gateway.services.consent_gate import ConsentGate, Release
from gateway.services.genomic_reports import GenomicReportService
from gateway.services.keys import KeyService
from gateway.services.records import RecordService
from gateway.storage.database import Database
from gateway.storage.patients import PatientRepository
from gateway.storage.summary_state import SummaryState, summary_state

__all__ = ["SignedSummary", "SummaryService"]

_CACHED_DOCUMENTS = 512
_NOT_FOUND = "no such patient"
# The same words for every refusal, whatever the directive or default behind it: a requester
# learns that it may not have the data, never why (the citizen's choices are theirs).
NOT_PERMITTED = "access to this patient's data is not permitted"

_CACHED_DECISIONS = 4096

DocumentKey = tuple[str, tuple[int, ...], tuple[str, ...], frozenset[Section]]
DecisionKey = tuple[str, str, str]  # the patient, the requesting country, the purpose


@dataclass(frozen=True, slots=True)
class SignedSummary:
    """A summary document as it leaves: its Bundle id and the exact bytes that were signed."""

    id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class _Read:
    stored: list[StoredRecord]
    release: Release


@dataclass(frozen=True, slots=True)
class _Decided:
    """A consent decision and the document it released, valid while ``state`` is current."""

    state: SummaryState
    release: Release
    document: DocumentKey | None

    def holds(self, state: SummaryState, now: datetime) -> bool:
        settled = self.release.settled_until
        return state == self.state and (settled is None or now < settled)


@dataclass(frozen=True, slots=True)
class _SummaryRead:
    """What a summary request read: the decision, and for a permitted one the signed
    document kept for this version, or else the content to build it from."""

    release: Release
    key: DocumentKey | None = None
    reports: list[Json] = field(default_factory=list)
    signed: SignedSummary | None = None
    records: list[PatientRecord] = field(default_factory=list)


class SummaryService:
    def __init__(
        self,
        database: Database,
        records: RecordService,
        gate: ConsentGate,
        genomics: GenomicReportService,
        keys: KeyService,
        audit: AuditService,
    ) -> None:
        self._database = database
        self._records = records
        self._gate = gate
        self._genomics = genomics
        self._keys = keys
        self._audit = audit
        self._signed: LRUCache[DocumentKey, SignedSummary] = LRUCache(_CACHED_DOCUMENTS)
        self._decided: LRUCache[DecisionKey, _Decided] = LRUCache(_CACHED_DECISIONS)

    async def summary(self, patient_id: str, who: Requester) -> SignedSummary:
        """The patient's current summary document as ``who`` may see it, signed.

        :raises NotFound: no such patient;
        :raises Forbidden: the citizen's consent does not permit it.
        """
        read = await self._read_summary(patient_id, who)
        signed = read.signed
        if signed is None:
            record = merge_records(read.records)
            withheld = read.release.withheld
            document = self._records.document(record, patient_id, read.reports, withheld)
            signed = await asyncio.to_thread(self._sign, document)
            if read.key is not None:
                self._signed[read.key] = signed
        await self._log(who, "operation", patient_id, f"Bundle/{signed.id}", read.release)
        return signed

    async def summary_for(self, identifier: Identifier, who: Requester) -> SignedSummary:
        """:raises NotFound: no patient has that identifier (the value is not echoed);
        :raises Forbidden: consent does not permit it."""
        return await self.summary(await self._find(identifier), who)

    async def holds(self, identifier: Identifier) -> bool:
        """Whether a patient with this identifier is stored here (nothing is released)."""
        async with self._database.read() as connection:
            return await PatientRepository(connection).find(identifier) is not None

    async def patient(self, patient_id: str, who: Requester) -> Json:
        """The Patient resource as the current summary has it.

        :raises NotFound: no such patient; :raises Forbidden: consent does not permit it."""
        read = await self._read(patient_id, who, "read", "Patient")
        await self._log(who, "read", patient_id, f"Patient/{patient_id}", read.release)
        return _patient_json(read.stored, patient_id)

    async def search(
        self, identifier: Identifier | None, patient_id: str | None, who: Requester
    ) -> list[Json]:
        """Patients with that identifier and/or id (at most one: identifiers are unique);
        none where consent does not permit ``who`` to see the patient."""
        async with self._database.read() as connection:
            repo = PatientRepository(connection)
            found = await repo.find(identifier) if identifier else patient_id
            if found is None or (patient_id is not None and found != patient_id):
                return []
            stored = await repo.records(found)
            if not stored:
                return []
            release = await self._gate.release(connection, found, who)
        if not release.summary.permit:
            await self._log(who, "search-type", found, "Patient", release)
            return []
        await self._log(who, "search-type", found, f"Patient/{found}", release)
        return [_patient_json(stored, found)]

    async def _read_summary(self, patient_id: str, who: Requester) -> _SummaryRead:
        """The consent decision and what the document is made of, in one read: only the
        fingerprint when a decision and a document are kept for it.

        :raises NotFound: no such patient; :raises Forbidden: consent does not permit it
            (audited).
        """
        decision_key = (patient_id, who.country, who.purpose)
        async with self._database.read() as connection:
            state = await summary_state(connection, patient_id)
            if state is None:
                raise NotFound(_NOT_FOUND)
            read = self._kept(decision_key, state)
            if read is None:
                read = await self._fresh(connection, patient_id, who)
                self._decided[decision_key] = _Decided(state, read.release, read.key)
        if not read.release.summary.permit:
            await self._log(who, "operation", patient_id, "Bundle", read.release)
            raise Forbidden(NOT_PERMITTED)
        return read

    def _kept(self, decision_key: DecisionKey, state: SummaryState) -> _SummaryRead | None:
        decided = self._decided.get(decision_key)
        if decided is None or not decided.holds(state, datetime.now(UTC)):
            return None
        if decided.document is None:  # refused, and nothing has changed since
            return _SummaryRead(decided.release)
        signed = self._signed.get(decided.document)
        return None if signed is None else _SummaryRead(decided.release, signed=signed)

    async def _fresh(
        self, connection: AsyncConnection, patient_id: str, who: Requester
    ) -> _SummaryRead:
        current = current_records(await PatientRepository(connection).versions(patient_id))
        if not current:
            raise NotFound(_NOT_FOUND)
        release = await self._gate.release(connection, patient_id, who)
        if not release.summary.permit:
            return _SummaryRead(release)
        return await self._permitted(connection, patient_id, current, release)

    async def _permitted(
        self,
        connection: AsyncConnection,
        patient_id: str,
        current: list[RecordVersion],
        release: Release,
    ) -> _SummaryRead:
        genomics = release.genomics.permit and Section.RESULTS not in release.withheld
        reports = await self._genomics.reports(patient_id, connection) if genomics else []
        key: DocumentKey = (
            patient_id,
            tuple(item.arrival for item in current),
            tuple(report["id"] for report in reports),
            release.withheld,
        )
        signed = self._signed.get(key)
        records: list[PatientRecord] = []
        if signed is None:
            records = await PatientRepository(connection).contents(current)
        return _SummaryRead(release, key, reports, signed, records)

    def _sign(self, document: Json) -> SignedSummary:
        signed = self._keys.sign(document)
        return SignedSummary(str(signed["id"]), orjson.dumps(signed))

    async def _read(self, patient_id: str, who: Requester, interaction: str, what: str) -> _Read:
        async with self._database.read() as connection:
            stored = await PatientRepository(connection).records(patient_id)
            if not stored:
                raise NotFound(_NOT_FOUND)
            release = await self._gate.release(connection, patient_id, who)
        if not release.summary.permit:
            await self._log(who, interaction, patient_id, what, release)
            raise Forbidden(NOT_PERMITTED)
        return _Read(stored, release)

    async def _find(self, identifier: Identifier) -> str:
        async with self._database.read() as connection:
            found = await PatientRepository(connection).find(identifier)
        if found is None:
            raise NotFound(_NOT_FOUND)
        return found

    async def _log(
        self, who: Requester, interaction: str, patient_id: str, what: str, release: Release
    ) -> None:
        """The access in the patient's log: permitted, or refused by consent, and why."""
        permitted = release.summary.permit
        await self._audit.record(
            interaction,
            "success" if permitted else "minor-failure",
            patient_id=patient_id,
            what=what,
            agent=who.agent,
            purpose=who.purpose,
            description=f"permitted: {release.reason}"
            if permitted
            else f"refused by consent: {release.summary.reason}",
        )


def _patient_json(stored: list[StoredRecord], patient_id: str) -> Json:
    record: PatientRecord = merge_records([item.record for item in current_records(stored)])
    return patient_resource(record.patient, patient_id)
