"""The IPS document: a FHIR R4 (4.0.1) document Bundle claiming IPS 2.0.0 ``Bundle-uv-ips``,
with the EU Patient Summary's extra required sections (``reference/fhir.md`` §2).

Entries: the Composition first (``bdl-11``), the Patient, the author (and custodian, when it
is another organisation), then each section's resources in section order. Every entry has a
``urn:uuid:`` full URL made with :func:`uuid.uuid5` from the country, the document id and the
entry's place in the record, so the same record and arguments give the same document, byte for
byte once serialised, which a signature over the canonical JSON relies on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from gateway.domain.records import LOINC, Organization, PatientRecord, Section, check_instant
from gateway.fhir import canonical
from gateway.fhir.datatypes import Json, coded, reference
from gateway.fhir.narrative import narrative, paragraph
from gateway.fhir.resources import Refs, full_url, organization, patient, shell
from gateway.fhir.sections import SECTIONS, Entry, Ids, report_entry, section

__all__ = ["TITLE", "build_document"]

TITLE = "International Patient Summary"
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "urn:eu-health-gateway:fhir:ips-document")


def build_document(
    record: PatientRecord,
    *,
    document_id: str,
    timestamp: str,
    country: str,
    patient_id: str | None = None,
    reports: Sequence[Json] = (),
    withheld: frozenset[Section] = frozenset(),
) -> Json:
    """The IPS document Bundle for ``record``, as plain JSON-ready dicts.

    ``document_id`` (a UUID) becomes the Bundle's id and identifier; ``timestamp`` (a FHIR
    instant) is when the document was assembled: the Bundle timestamp and Composition date.
    ``country`` is the ISO 3166-1 code of the member state whose gateway builds it; the
    gateway stands as the author when the record names no organisation. ``patient_id``, when
    given, is the Patient's id (the stored patient's, so the document points at ``Patient/{id}``
    on this server); by default it is derived like every other id. ``reports`` are
    DiagnosticReports (genomic reports) listed in the results section after the record's own
    results; their ``subject`` is set to the document's Patient. Sections in ``withheld`` (the
    citizen restricted them) are written exactly as for a patient with nothing to say there,
    so the document bears no trace of the restriction (EHDS Art. 8).

    :raises ValueError: if an argument is malformed.
    """
    document = _checked(document_id, timestamp, country)
    namespace = uuid.uuid5(_ROOT, f"{country}/{document}")

    def ids(key: str) -> str:
        return str(uuid.uuid5(namespace, key))

    organisations = _organisations(record, country, ids)
    (author_url, author), (custodian_url, _) = organisations[0], organisations[-1]
    patient_resource = patient(record.patient, patient_id or ids("patient"))
    refs = Refs(patient=full_url(patient_resource["id"]), performer=author_url)
    sections, clinical = _sections(record, ids, refs, reports, withheld)

    summary = _summary(record, timestamp, author["name"])
    composition = _composition(record, ids("composition"), timestamp, refs, author_url, summary)
    composition["custodian"] = reference(custodian_url)
    composition["section"] = sections
    resources = [composition, patient_resource, *(org for _, org in organisations), *clinical]

    bundle = shell("Bundle", document, canonical.BUNDLE)
    if record.language is not None:
        bundle["language"] = record.language
    bundle["identifier"] = {"system": canonical.URI_IDENTIFIER, "value": f"urn:uuid:{document}"}
    bundle["type"] = "document"
    bundle["timestamp"] = timestamp
    bundle["entry"] = [{"fullUrl": full_url(r["id"]), "resource": r} for r in resources]
    return bundle


def _checked(document_id: str, timestamp: str, country: str) -> str:
    """The document id in canonical UUID form, once all three arguments are checked."""
    try:
        document = str(uuid.UUID(document_id))
    except ValueError:
        raise ValueError(f"document id {document_id!r} is not a UUID") from None
    try:
        check_instant(timestamp)
    except ValueError:
        raise ValueError(f"timestamp {timestamp!r} is not a FHIR instant") from None
    if not (len(country) == 2 and country.isascii() and country.isupper()):
        raise ValueError(f"country {country!r} is not an ISO 3166-1 alpha-2 code")
    return document


def _sections(
    record: PatientRecord,
    ids: Ids,
    refs: Refs,
    reports: Sequence[Json],
    withheld: frozenset[Section],
) -> tuple[list[Json], list[Json]]:
    """The Composition sections, and the resources their entries list, in section order."""
    sections: list[Json] = []
    resources: list[Json] = []
    for spec in SECTIONS:
        entries: list[Entry] = []
        notes: tuple[str, ...] = ()
        if spec.section not in withheld:
            entries, notes = spec.build(record, ids, refs), record.notes_for(spec.section)
            if spec.section is Section.RESULTS:
                entries += [report_entry(report, refs) for report in reports]
        made = section(spec, entries, notes)
        if made is not None:
            sections.append(made)
            resources += [r for e in entries for r in (e.resource, *e.extra)]
    return sections, resources


def _organisations(record: PatientRecord, country: str, ids: Ids) -> list[tuple[str, Json]]:
    """(full URL, Organization) of the author, then of the custodian if it is another one."""
    author = record.author or record.custodian or _gateway(country)
    custodian = record.custodian or author
    found = [(author, ids("author"))]
    if custodian != author:
        found.append((custodian, ids("custodian")))
    return [(full_url(rid), organization(org, rid)) for org, rid in found]


def _gateway(country: str) -> Organization:
    return Organization(name=f"Cross-border health data gateway {country}", country=country)


def _composition(
    record: PatientRecord,
    resource_id: str,
    timestamp: str,
    refs: Refs,
    author_url: str,
    text: Json,
) -> Json:
    out = shell("Composition", resource_id, canonical.COMPOSITION)
    if record.language is not None:
        out["language"] = record.language
    out["text"] = text
    out["status"] = "final"
    out["type"] = coded(LOINC, "60591-5", "Patient summary Document")
    out["subject"] = reference(refs.patient)
    out["date"] = timestamp
    out["author"] = [reference(author_url)]
    out["title"] = TITLE
    out["confidentiality"] = "N"
    if record.source_date is not None:
        # The national record's last change: the care the summary covers ends there.
        pcpr = coded(canonical.ACT_CLASS, "PCPR")
        out["event"] = [{"code": [pcpr], "period": {"end": record.source_date}}]
    return out


def _summary(record: PatientRecord, timestamp: str, author: str) -> Json:
    """The Composition's own narrative: whom the document is about, who made it, when."""
    person = record.patient
    name = person.names[0]
    shown = name.text or " ".join((*name.given, name.family or "")).strip()
    facts = [f"born {person.birth_date}" if person.birth_date else "birth date unknown"]
    if person.gender is not None:
        facts.append(person.gender.value)
    ids = ", ".join(str(i) for i in person.identifiers)
    return narrative(
        paragraph(f"{TITLE}: {shown} ({', '.join(facts)})"),
        *([paragraph(f"Identifiers: {ids}")] if ids else []),
        paragraph(f"Author: {author}; assembled {timestamp}"),
    )
