"""National records: translate a native record with its profile and store it per patient.
(The read side, the patient's summary document, is :mod:`gateway.services.summaries`.)

Translation is CPU work (XML, HL7 and CSV parsing): the async entry points run it in a worker
thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.domain.records import PatientRecord, Section
from gateway.domain.summary import StoredRecord, current_records, diagnosis_codes, merge_records
from gateway.errors import BadRequest, Conflict, Misconfigured, RecordError, TooLarge
from gateway.fhir.datatypes import Json, instant
from gateway.fhir.ips import build_document
from gateway.ingest.records import check_mapping, reader_for
from gateway.profiles.engine import Translation, apply_profile
from gateway.profiles.loader import ProfileError, ProfileSet, load_profiles
from gateway.profiles.model import Finding, Profile
from gateway.services.audit import AuditService
from gateway.storage.database import Database
from gateway.storage.patients import PatientRepository

__all__ = ["RecordService", "Stored", "Translated", "open_profiles"]


def open_profiles(folder: Path) -> ProfileSet:
    """The installed profiles, each mapping compiled as its reader will use it.

    :raises Misconfigured: naming the file and what is wrong.
    """
    try:
        profiles = load_profiles(folder)
    except ProfileError as exc:
        raise Misconfigured(f"profiles: {exc}") from None
    for profile in profiles:
        try:
            check_mapping(profile)
        except RecordError as exc:
            raise Misconfigured(f"profiles: {profile.source}: mapping: {exc.detail}") from None
    return profiles


Outcome = Literal["created", "updated", "unchanged", "superseded"]


@dataclass(frozen=True, slots=True)
class Translated:
    profile: Profile
    key: str
    record: PatientRecord
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a record did: ``created`` a new patient, ``updated`` an existing one's
    summary, stored nothing new (``unchanged``: the same record again), or kept a record that
    an already stored, newer one of the same source ``superseded``."""

    patient_id: str
    outcome: Outcome
    findings: tuple[Finding, ...]


class RecordService:
    def __init__(
        self,
        database: Database | None,
        profiles: ProfileSet,
        *,
        country: str,
        max_bytes: int,
        audit: AuditService | None = None,
    ) -> None:
        self._database = database
        self._profiles = profiles
        self._country = country
        self._max_bytes = max_bytes
        self._audit = audit

    @property
    def profiles(self) -> ProfileSet:
        return self._profiles

    def profile(self, name: str) -> Profile:
        """:raises BadRequest: no installed profile has that name."""
        found = self._profiles.get(name)
        if found is None:
            known = ", ".join(self._profiles.names) or "none"
            raise BadRequest(f"unknown profile {name!r} (installed: {known})")
        return found

    # --- translation (no storage) -------------------------------------------------------------

    def translate(self, data: bytes, profile_name: str) -> Translated:
        """Read ``data`` with the named profile's reader and apply the profile.

        :raises BadRequest: unknown profile; :raises TooLarge: over the size limit;
        :raises RecordError: the record cannot be read or is refused (says where).
        """
        profile = self.profile(profile_name)
        if len(data) > self._max_bytes:
            raise TooLarge(f"record of {len(data)} bytes is over the {self._max_bytes} limit")
        reading = reader_for(profile.format)(data, profile)
        translation: Translation = apply_profile(
            reading.record,
            profile,
            self._profiles,
            default_country=self._country,
            findings=reading.findings,
        )
        return Translated(profile, reading.key, translation.record, translation.findings)

    async def translate_async(self, data: bytes, profile_name: str) -> Translated:
        """:meth:`translate` in a worker thread."""
        return await asyncio.to_thread(self.translate, data, profile_name)

    def document(
        self,
        record: PatientRecord,
        patient_id: str | None = None,
        reports: Sequence[Json] = (),
        withheld: frozenset[Section] = frozenset(),
    ) -> Json:
        """A fresh IPS document for ``record``: new id, stamped now; ``reports`` (genomic
        DiagnosticReports) join its results section; ``withheld`` sections are left empty."""
        return build_document(
            record,
            document_id=str(uuid.uuid4()),
            timestamp=instant(),
            country=record.patient.country or self._country,
            patient_id=patient_id,
            reports=reports,
            withheld=withheld,
        )

    # --- storage ------------------------------------------------------------------------------

    async def ingest(self, data: bytes, profile_name: str, pushed_by: str) -> Stored:
        """Translate and store one record for its patient (found by any of its identifiers);
        ``pushed_by`` names the national node (or the operator) for the audit log."""
        translated = await self.translate_async(data, profile_name)
        record = translated.record
        identifiers = record.patient.identifiers
        async with self._db().write() as connection:
            repo = PatientRepository(connection)
            await repo.lock_identifiers(identifiers)
            owners = await repo.owners(identifiers)
            if len(owners) > 1:
                raise Conflict("the record's identifiers belong to different stored patients")
            created = not owners
            patient_id = owners.pop() if owners else await repo.create(self._home(record))
            await repo.add_identifiers(patient_id, identifiers)
            arrival = await repo.add_record(
                patient_id, translated.profile.name, translated.key, record
            )
            current = current_records(await repo.records(patient_id))
            merged = merge_records([item.record for item in current])
            await repo.update_summary_facts(
                patient_id, self._home(merged), merged.patient.gender, diagnosis_codes(merged)
            )
            outcome = _outcome(arrival, current, created)
            if self._audit is not None:  # the record and its audit entry commit together
                await self._audit.record(
                    "create",
                    "success",
                    patient_id=patient_id,
                    description=f"national record {outcome}",
                    agent=pushed_by,
                    within=connection,
                )
        return Stored(patient_id, outcome, translated.findings)

    def _home(self, record: PatientRecord) -> str:
        return record.patient.country or self._country

    def _db(self) -> Database:
        if self._database is None:
            raise RuntimeError("this RecordService was built without a database")
        return self._database


def _outcome(arrival: int | None, current: Sequence[StoredRecord], created: bool) -> Outcome:
    if arrival is None:
        return "unchanged"
    if not any(item.arrival == arrival for item in current):
        return "superseded"
    return "created" if created else "updated"
