"""One reader per national source format: native bytes in, a neutral record out.

Each reader is a function ``read(data, profile) -> Reading``. It parses the bytes (safely: no
DTDs, entities or network for XML; CR, LF, CRLF and a BOM for HL7 v2 and CSV), follows the
profile's ``mapping`` to find the record's parts, and writes codes with the FHIR system URIs
the profile and :mod:`gateway.profiles.codesystems` give. It does not check identifiers or
translate codes: the engine (:func:`gateway.profiles.engine.apply_profile`) does that for every
format alike.

Readers raise :class:`~gateway.errors.RecordError` (malformed input) or
:class:`~gateway.errors.RecordRejected` (readable, but missing what a summary needs), with a
location (line, segment and field, XPath, column) and a message that never quotes patient data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from gateway.domain.records import PatientRecord
from gateway.profiles.model import Finding, Profile, SourceFormat

__all__ = ["Reader", "Reading", "check_mapping", "reader_for"]


class Reading(NamedTuple):
    """What a reader made of one native document.

    ``key`` names the source's own record (a CDA ``setId``, a v2 order or "ADT" feed, a FHIR
    resource id, a registry submission) within the patient: a later reading with the same key
    supersedes this one when its ``record.source_date`` is newer.
    """

    record: PatientRecord
    key: str
    findings: tuple[Finding, ...] = ()


Reader = Callable[[bytes, Profile], Reading]


def reader_for(source_format: SourceFormat) -> Reader:
    """The reader for a source format (imported on first use: lxml and hl7 are not light)."""
    if source_format == "ehdsi-cda":
        from gateway.ingest.records.cda import read_cda

        return read_cda
    if source_format == "hl7v2":
        from gateway.ingest.records.hl7v2 import read_hl7v2

        return read_hl7v2
    if source_format == "fhir":
        from gateway.ingest.records.fhir import read_fhir

        return read_fhir
    from gateway.ingest.records.registry_csv import read_registry_csv

    return read_registry_csv


def check_mapping(profile: Profile) -> None:
    """Compile the profile's ``mapping`` as its reader will, so that what the schema cannot
    see (two lists claiming one CDA section, a date pattern without its year) stops the
    gateway at start-up rather than failing the first record.

    :raises RecordError: (location ``profile``) naming what is wrong.
    """
    if profile.format == "ehdsi-cda":
        from gateway.ingest.records.cda_mapping import mapping_of

        mapping_of(profile)
    elif profile.format == "hl7v2":
        from gateway.ingest.records.hl7v2_mapping import mapping_for

        mapping_for(profile)
    elif profile.format == "fhir":
        from gateway.ingest.records.fhir_mapping import FhirMapping

        FhirMapping.of(profile)
    else:
        from gateway.ingest.records.registry_csv_layout import compile_layout

        compile_layout(profile)
