"""The HL7 v2.x reader: ADT (patient master data) and ORU^R01 (results) messages to a record.

What is read, and where, is the profile's ``mapping`` (``gateway/profiles/schemas/hl7v2.json``):

- MSH-9 picks the message kind from the profile's ``messages`` table (anything else is refused,
  naming MSH-9); MSH-12 must be a v2 version the profile reads; MSH-7 is the record's
  ``source_date``; the ``author`` field (MSH-4, the sending facility) names the author.
- PID gives the patient (:mod:`.hl7v2_patient`).
- ADT: the segments the profile lists (DG1, AL1, PR1) give problems, allergies, procedures
  (:mod:`.hl7v2_clinical`). The key is ``adt``: the patient's master data, so a later A08
  supersedes an A01.
- ORU: OBX under OBR give observations (:mod:`.hl7v2_results`), in the list the profile names
  for their code (an expected delivery date: the pregnancy section), else in its results list.
  The key is ``oru:`` and the first OBR's order number, so a corrected result for the same
  order supersedes the first one.

A message is about one patient: a second PID, or a batch of several messages, is refused.
"""

from __future__ import annotations

from typing import Any

from gateway.domain.clinical_values import LANGUAGE_TAG
from gateway.domain.records import Identifier, Organization, PatientRecord
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.hl7v2_clinical import read_clinical
from gateway.ingest.records.hl7v2_mapping import Hl7v2Mapping, MessageKind, mapping_for
from gateway.ingest.records.hl7v2_message import Segment, V2Message, parse_message
from gateway.ingest.records.hl7v2_patient import read_patient
from gateway.ingest.records.hl7v2_results import order_key, read_results
from gateway.ingest.records.hl7v2_types import fhir_datetime, hd
from gateway.profiles.model import Finding, Profile

__all__ = ["read_hl7v2"]

_ADT_KEY = "adt"
_ORGANISATION_ID = "urn:ietf:rfc:3986"  # FHIR's system for an identifier that is a URI (an OID)


def read_hl7v2(data: bytes, profile: Profile) -> Reading:
    """Read one HL7 v2 message with ``profile``.

    :raises RecordError: for input that is not one readable HL7 v2 message of a type the
        profile reads.
    :raises RecordRejected: for a message that lacks what a summary needs (a PID with a name)
        or holds impossible values (a date that does not exist, a number that is not one).
    """
    mapping = mapping_for(profile)
    message = parse_message(data, mapping.charset, mapping.charsets)
    kind = _kind(message.header, mapping)
    _check_version(message.header, mapping)
    pid = _patient_segment(message)
    key = order_key(message) if kind == "oru" else _ADT_KEY
    found: list[Finding] = []
    patient = read_patient(pid, mapping, profile, found)
    lists: dict[str, Any] = {}
    if kind == "oru":
        lists.update(read_results(message, mapping, profile, found))
    else:
        lists.update(read_clinical(message, mapping, profile, found))
    header = message.header
    try:
        record = PatientRecord(
            patient=patient,
            author=_author(header, mapping),
            source_date=_source_date(header, profile),
            language=_language(header, mapping, found),
            **lists,
        )
    except ValueError as exc:
        raise RecordRejected(str(exc), "MSH") from None
    return Reading(record, key, tuple(found))


def _kind(msh: Segment, mapping: Hl7v2Mapping) -> MessageKind:
    code, event = msh.value(9, 1).upper(), msh.value(9, 2).upper()
    if not code:
        raise RecordError("the message has no type", msh.where(9))
    kind = mapping.messages.get(f"{code}^{event}")
    if kind is None:
        known = ", ".join(sorted(mapping.messages))
        raise RecordError(f"message type {code}^{event} is not read (only {known})", msh.where(9))
    return kind


def _check_version(msh: Segment, mapping: Hl7v2Mapping) -> None:
    version = msh.value(12)
    if not version.startswith("2."):
        raise RecordError("not an HL7 version 2.x message", msh.where(12))
    if mapping.versions is not None and version not in mapping.versions:
        known = ", ".join(sorted(mapping.versions))
        raise RecordError(f"version {version} is not read (only {known})", msh.where(12))


def _patient_segment(message: V2Message) -> Segment:
    pids = list(message.all("PID"))
    if not pids:
        raise RecordRejected("the message has no PID segment: it names no patient", "PID")
    if len(pids) > 1:
        raise RecordError(
            "the message is about more than one patient (one PID per record)",
            pids[1].label,
        )
    return pids[0]


def _source_date(msh: Segment, profile: Profile) -> str:
    stamp = fhir_datetime(msh.value(7), profile, msh.where(7))
    if stamp is None:
        raise RecordRejected(
            "the message has no date/time: updates are ordered by it", msh.where(7)
        )
    return stamp


def _author(msh: Segment, mapping: Hl7v2Mapping) -> Organization | None:
    if mapping.author is None:
        return None
    reps = msh.field(mapping.author)
    if not reps:
        return None
    facility = hd(tuple(component[0] for component in reps[0]))
    if not facility.name:
        return None
    ids = (Identifier(_ORGANISATION_ID, facility.uri),) if facility.uri else ()
    return Organization(facility.name, ids)


def _language(msh: Segment, mapping: Hl7v2Mapping, found: list[Finding]) -> str | None:
    if mapping.language is None:
        return None
    code = msh.value(mapping.language)
    if not code:
        return None
    primary, _, rest = code.partition("-")
    # BCP-47 uses two-letter ISO 639-1 codes where they exist; v2 senders write "FR", "en-US".
    if len(primary) != 2 or not LANGUAGE_TAG.fullmatch(code):
        found.append(
            Finding(msh.where(mapping.language), f"language {code} is not a BCP-47 tag: left out")
        )
        return None
    return f"{primary.lower()}-{rest}" if rest else primary.lower()
