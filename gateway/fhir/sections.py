"""The sections of the document: order, codes, titles, narrative columns, and their entries.

Order and codes follow the issue: the three sections IPS requires (problems, allergies,
medications), then results, immunizations, the two the EU Patient Summary requires
(procedures, medical devices; ``reference/fhir.md`` §2), and the rest. Required sections are
always present, with ``emptyReason`` when the record has nothing (``ips-comp-1``); the others
appear when the record has entries or notes for them. Titles and LOINC displays are those of
the official IPS examples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.domain.records import (
    LOINC,
    Concept,
    DateValue,
    Observation,
    PatientRecord,
    Problem,
    Quantity,
    Section,
    Value,
)
from gateway.fhir import canonical, clinical
from gateway.fhir.datatypes import Json, coded, reference
from gateway.fhir.narrative import narrative, paragraph, table
from gateway.fhir.observations import observation, profiles_for
from gateway.fhir.resources import Refs, full_url

Ids = Callable[[str], str]  # a stable key -> the resource id (a UUID)
Row = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    """One section entry: its resource, the resources it points at (a Device), its row."""

    resource: Json
    row: Row
    extra: tuple[Json, ...] = ()


Build = Callable[[PatientRecord, Ids, Refs], list[Entry]]


@dataclass(frozen=True, slots=True)
class SectionSpec:
    section: Section
    title: str
    display: str
    columns: tuple[str, ...]
    empty: str  # the narrative when the source has no information
    required: bool
    build: Build


# --- entries per kind of statement ------------------------------------------------------------

_PROBLEM_COLUMNS = ("Problem", "Onset", "Status")
_OBSERVATION_COLUMNS = ("Observation", "Value", "Date", "Status")


def _problems(attribute: str) -> Build:
    def build(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
        items: Sequence[Problem] = getattr(record, attribute)
        return [
            Entry(
                clinical.condition(item, ids(f"{attribute}/{index}"), refs),
                (item.code.label, item.onset, item.clinical_status),
            )
            for index, item in enumerate(items)
        ]

    return build


def _observations(attribute: str, section: Section) -> Build:
    def build(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
        items: Sequence[Observation] = getattr(record, attribute)
        profiles = profiles_for(items, section)
        return [
            Entry(
                observation(item, ids(f"{attribute}/{index}"), refs, section, profiles[index]),
                (item.code.label, _observed(item), item.effective, item.status),
            )
            for index, item in enumerate(items)
        ]

    return build


def _allergies(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
    return [
        Entry(
            clinical.allergy_intolerance(item, ids(f"allergies/{index}"), refs),
            (
                item.code.label,
                " ".join(filter(None, (item.category, item.type))) or None,
                item.criticality,
                ", ".join(r.label for r in item.reactions) or None,
                item.clinical_status,
            ),
        )
        for index, item in enumerate(record.allergies)
    ]


def _medications(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
    return [
        Entry(
            clinical.medication_statement(item, ids(f"medications/{index}"), refs),
            (item.medication.label, item.dosage, _span(item.start, item.end), item.status),
        )
        for index, item in enumerate(record.medications)
    ]


def _immunizations(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
    return [
        Entry(
            clinical.immunization(item, ids(f"immunizations/{index}"), refs),
            (item.vaccine.label, item.date, item.lot_number, item.status),
        )
        for index, item in enumerate(record.immunizations)
    ]


def _procedures(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
    return [
        Entry(
            clinical.procedure(item, ids(f"procedures/{index}"), refs),
            (item.code.label, _span(item.date, item.end) if item.end else item.date, item.status),
        )
        for index, item in enumerate(record.procedures)
    ]


def _devices(record: PatientRecord, ids: Ids, refs: Refs) -> list[Entry]:
    entries = []
    for index, item in enumerate(record.devices):
        device_id = ids(f"devices/{index}/device")
        statement = clinical.device_use_statement(
            item, ids(f"devices/{index}"), full_url(device_id), refs
        )
        entries.append(
            Entry(
                statement,
                (item.device.label, _span(item.start, item.end), item.status),
                (clinical.device(item, device_id, refs),),
            )
        )
    return entries


def _observed(item: Observation) -> str | None:
    if item.components:
        return "; ".join(f"{c.code.label}: {_shown(c.value)}" for c in item.components)
    return _shown(item.value) if item.value is not None else None


def _shown(value: Value | None) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, Quantity):
        amount = f"{value.comparator or ''}{value.value}"
        return " ".join(filter(None, (amount, value.unit or value.code)))
    if isinstance(value, Concept):
        return value.label
    if isinstance(value, DateValue):
        return value.date
    return str(value)


def _span(start: str | None, end: str | None) -> str | None:
    if start is None and end is None:
        return None
    return f"{start or '?'} – {end or ''}".rstrip()


# --- the table --------------------------------------------------------------------------------

SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        Section.PROBLEMS,
        "Problem List",
        "Problem list - Reported",
        _PROBLEM_COLUMNS,
        "There is no information available about the subject's health problems or disabilities.",
        True,
        _problems("problems"),
    ),
    SectionSpec(
        Section.ALLERGIES,
        "Allergies and Intolerances",
        "Allergies and adverse reactions Document",
        ("Substance", "Kind", "Criticality", "Reactions", "Status"),
        "There is no information available regarding the subject's allergies.",
        True,
        _allergies,
    ),
    SectionSpec(
        Section.MEDICATIONS,
        "Medication Summary",
        "History of Medication use Narrative",
        ("Medication", "Dosage", "Period", "Status"),
        "There is no information available about the subject's medication use.",
        True,
        _medications,
    ),
    SectionSpec(
        Section.RESULTS,
        "Results",
        "Relevant diagnostic tests/laboratory data note",
        ("Result", "Value", "Date", "Status"),
        "There is no information available about the subject's results.",
        False,
        _observations("results", Section.RESULTS),
    ),
    SectionSpec(
        Section.IMMUNIZATIONS,
        "Immunizations",
        "History of Immunization note",
        ("Vaccine", "Date", "Lot", "Status"),
        "There is no information available about the subject's immunizations.",
        False,
        _immunizations,
    ),
    SectionSpec(
        Section.PROCEDURES,
        "History of Procedures",
        "History of Procedures Document",
        ("Procedure", "Date", "Status"),
        "There is no information available about the subject's past procedures.",
        True,  # required by the EU Patient Summary, not by IPS
        _procedures,
    ),
    SectionSpec(
        Section.DEVICES,
        "Device Use",
        "History of medical device use",
        ("Device", "Period", "Status"),
        "There is no information available about the subject's medical devices.",
        True,  # required by the EU Patient Summary, not by IPS
        _devices,
    ),
    SectionSpec(
        Section.VITAL_SIGNS,
        "Vital Signs",
        "Vital signs note",
        _OBSERVATION_COLUMNS,
        "There is no information available about the subject's vital signs.",
        False,
        _observations("vital_signs", Section.VITAL_SIGNS),
    ),
    SectionSpec(
        Section.PAST_PROBLEMS,
        "History of Past Problems",
        "History of Past illness note",
        _PROBLEM_COLUMNS,
        "There is no information available about the subject's past problems.",
        False,
        _problems("past_problems"),
    ),
    SectionSpec(
        Section.PREGNANCY,
        "History of Pregnancy",
        "History of pregnancies Narrative",
        _OBSERVATION_COLUMNS,
        "There is no information available about the subject's pregnancies.",
        False,
        _observations("pregnancy", Section.PREGNANCY),
    ),
    SectionSpec(
        Section.SOCIAL_HISTORY,
        "Social History",
        "Social history note",
        _OBSERVATION_COLUMNS,
        "There is no information available about the subject's social history.",
        False,
        _observations("social_history", Section.SOCIAL_HISTORY),
    ),
    SectionSpec(
        Section.ADVANCE_DIRECTIVES,
        "Advance Directives",
        "Advance healthcare directives",
        (),
        "There is no information available about the subject's advance directives.",
        False,
        lambda record, ids, refs: [],  # free text only (record notes), for now
    ),
    SectionSpec(
        Section.FUNCTIONAL_STATUS,
        "Functional Status",
        "Functional status assessment note",
        _PROBLEM_COLUMNS,
        "There is no information available about the subject's functional status.",
        False,
        _problems("functional_status"),
    ),
)


def report_entry(report: Json, refs: Refs) -> Entry:
    """A DiagnosticReport (a genomic report) as a results entry, about the document's Patient."""
    resource = {**report, "subject": reference(refs.patient)}
    name = resource.get("code", {}).get("text") or "Genomic report"
    row = (name, resource.get("conclusion"), resource.get("issued"), resource.get("status"))
    return Entry(resource, row)


def section(spec: SectionSpec, entries: Sequence[Entry], notes: Sequence[str]) -> Json | None:
    """The Composition section, or None when an optional section has nothing to say."""
    if not entries and not notes and not spec.required:
        return None
    out: Json = {
        "title": spec.title,
        "code": coded(LOINC, spec.section.value, spec.display),
    }
    parts = [paragraph(note) for note in notes]
    if entries:
        parts.insert(0, table(spec.columns, [e.row for e in entries]))
    elif not notes:
        parts.append(paragraph(spec.empty))
    out["text"] = narrative(*parts)
    if entries:
        out["entry"] = [{"reference": full_url(e.resource["id"])} for e in entries]
    elif spec.required:
        out["emptyReason"] = _empty_reason()  # ips-comp-1; cmp-2 forbids it beside entries
    return out


def _empty_reason() -> Json:
    # list-empty-reason `unavailable`, worded as the official no-info-required-sections example.
    reason = coded(canonical.LIST_EMPTY_REASON, "unavailable", "Unavailable")
    return {**reason, "text": "No information available"}
