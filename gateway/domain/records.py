"""A neutral clinical record: what every national reader produces and every builder reads.

The readers (eHDSI CDA, HL7 v2, national FHIR, registry CSV) translate a national record into a
:class:`PatientRecord`; the FHIR builders (``gateway.fhir``) turn it into an IPS document. The
model knows no format: it holds what a patient summary says, with the rules that hold whatever
the format (a concept needs a code or a text, an abated problem cannot be active).

Conventions:

- **Codes** are :class:`Code` (system URI, code, display) grouped in a :class:`Concept`. A
  national coding and its EU translation sit side by side in one concept; a code the profile
  could not map stays as it came, with the original text (``reference/national-records.md``
  §4: never dropped, reported as a warning by whoever mapped it).
- **Dates** are strings in FHIR's ``date`` / ``dateTime`` format, not :class:`datetime.date`:
  national records carry partial dates (``"2015"``, ``"2016-10"``) that a date object cannot
  hold. Readers convert (HL7 ``20230531`` -> ``2023-05-31``); a time needs a timezone.
- **Statuses** are the FHIR codes, typed as ``Literal``; ``entered-in-error`` is left out, as
  the IPS profiles do not allow it in a summary.

Every type is a frozen dataclass with tuples for lists, so a record is hashable and can be
shared between threads. Constructors check their invariants and raise :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Literal

from gateway.domain.clinical_values import (
    ABSENT_UNKNOWN,
    ATC,
    ICD10,
    LANGUAGE_TAG,
    LOINC,
    SNOMED,
    UCUM,
    Address,
    Code,
    Concept,
    DateValue,
    HumanName,
    Organization,
    Patient,
    Quantity,
    Section,
    Telecom,
    check_date,
    check_datetime,
    check_instant,
    check_order,
    one_of,
    optional_datetimes,
    require_text,
)
from gateway.domain.samples import Identifier, Sex

__all__ = [
    "ABSENT_UNKNOWN",
    "ATC",
    "CLINICAL_LISTS",
    "ICD10",
    "LOINC",
    "SNOMED",
    "UCUM",
    "Address",
    "Allergy",
    "Code",
    "Component",
    "Concept",
    "DateValue",
    "DeviceUse",
    "HumanName",
    "Identifier",
    "Immunization",
    "MedicationUse",
    "Note",
    "Observation",
    "Organization",
    "Patient",
    "PatientRecord",
    "Problem",
    "Procedure",
    "Quantity",
    "Section",
    "Sex",
    "Telecom",
    "Value",
    "check_date",
    "check_datetime",
    "check_instant",
]

# --- clinical statements ----------------------------------------------------------------------

ProblemStatus = Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved"]
ProblemVerification = Literal["unconfirmed", "provisional", "differential", "confirmed", "refuted"]
AllergyStatus = Literal["active", "inactive", "resolved"]
AllergyVerification = Literal["unconfirmed", "confirmed", "refuted"]
AllergyType = Literal["allergy", "intolerance"]
AllergyCategory = Literal["food", "medication", "environment", "biologic"]
Criticality = Literal["low", "high", "unable-to-assess"]
MedicationStatus = Literal[
    "active", "completed", "intended", "stopped", "on-hold", "unknown", "not-taken"
]
ImmunizationStatus = Literal["completed", "not-done"]
ProcedureStatus = Literal[
    "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "unknown"
]
DeviceUseStatus = Literal["active", "completed", "intended", "stopped", "on-hold"]
ObservationStatus = Literal[
    "registered", "preliminary", "final", "amended", "corrected", "cancelled", "unknown"
]

_ABATED = ("inactive", "remission", "resolved")


@dataclass(frozen=True, slots=True)
class Problem:
    """A health problem: current, past (the past illness section) or a functional limitation."""

    code: Concept
    clinical_status: ProblemStatus | None = None
    verification: ProblemVerification | None = None
    onset: str | None = None
    abatement: str | None = None
    severity: Concept | None = None

    def __post_init__(self) -> None:
        one_of(self.clinical_status, ProblemStatus, "problem status")
        one_of(self.verification, ProblemVerification, "problem verification")
        optional_datetimes(onset=self.onset, abatement=self.abatement)
        check_order(self.onset, self.abatement, "problem")
        # FHIR con-4: a problem that has abated is inactive, in remission or resolved.
        if self.abatement is not None and self.clinical_status not in _ABATED:
            raise ValueError("an abated problem is inactive, in remission or resolved")


@dataclass(frozen=True, slots=True)
class Allergy:
    """An allergy or intolerance; ``code`` names the substance (or states there is none)."""

    code: Concept
    clinical_status: AllergyStatus
    verification: AllergyVerification | None = None
    type: AllergyType | None = None
    category: AllergyCategory | None = None
    criticality: Criticality | None = None
    onset: str | None = None
    reactions: tuple[Concept, ...] = ()  # manifestations (rash, anaphylaxis)

    def __post_init__(self) -> None:
        one_of(self.clinical_status, AllergyStatus, "allergy status")
        one_of(self.verification, AllergyVerification, "allergy verification")
        one_of(self.type, AllergyType, "allergy type")
        one_of(self.category, AllergyCategory, "allergy category")
        one_of(self.criticality, Criticality, "criticality")
        optional_datetimes(onset=self.onset)


@dataclass(frozen=True, slots=True)
class MedicationUse:
    """A medicine the patient takes or took (IPS: MedicationStatement)."""

    medication: Concept
    status: MedicationStatus = "unknown"
    start: str | None = None
    end: str | None = None
    dosage: str | None = None  # the prescriber's instructions as written
    route: Concept | None = None

    def __post_init__(self) -> None:
        one_of(self.status, MedicationStatus, "medication status")
        optional_datetimes(start=self.start, end=self.end)
        check_order(self.start, self.end, "medication use")
        require_text(self.dosage, "dosage")


@dataclass(frozen=True, slots=True)
class Immunization:
    vaccine: Concept
    date: str | None = None
    status: ImmunizationStatus = "completed"
    lot_number: str | None = None

    def __post_init__(self) -> None:
        one_of(self.status, ImmunizationStatus, "immunization status")
        optional_datetimes(date=self.date)
        require_text(self.lot_number, "lot number")


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure; ``date`` is when it was done, or began when ``end`` is given (a course of
    radiotherapy)."""

    code: Concept
    date: str | None = None
    status: ProcedureStatus = "completed"
    body_site: Concept | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        one_of(self.status, ProcedureStatus, "procedure status")
        optional_datetimes(date=self.date, end=self.end)
        check_order(self.date, self.end, "procedure")


@dataclass(frozen=True, slots=True)
class DeviceUse:
    """A medical device used by or implanted in the patient; ``device`` is its type."""

    device: Concept
    status: DeviceUseStatus
    start: str | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        one_of(self.status, DeviceUseStatus, "device use status")
        optional_datetimes(start=self.start, end=self.end)
        check_order(self.start, self.end, "device use")


# An int is a count (pregnancy outcomes: number of live births); a measurement is a Quantity.
Value = Quantity | Concept | DateValue | str | int


def _check_value(value: Value | None) -> None:
    if isinstance(value, bool):
        raise ValueError("a value is a quantity, a concept, a text or a count, not a boolean")
    if isinstance(value, str):
        require_text(value, "observation value")


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a multi-part observation (systolic and diastolic of a blood pressure)."""

    code: Concept
    value: Value | None = None

    def __post_init__(self) -> None:
        _check_value(self.value)


@dataclass(frozen=True, slots=True)
class Observation:
    """A result, vital sign, pregnancy or social history finding; the record's list says which."""

    code: Concept
    value: Value | None = None
    effective: str | None = None
    status: ObservationStatus = "final"
    components: tuple[Component, ...] = ()
    interpretation: Concept | None = None
    note: str | None = None
    reference_range: str | None = None  # as the laboratory wrote it ("3.5-5.1", "<200")

    def __post_init__(self) -> None:
        one_of(self.status, ObservationStatus, "observation status")
        optional_datetimes(effective=self.effective)
        _check_value(self.value)
        require_text(self.note, "note")
        require_text(self.reference_range, "reference range")


@dataclass(frozen=True, slots=True)
class Note:
    """Free text that belongs to a section but to no entry (advance directives, comments)."""

    section: Section
    text: str

    def __post_init__(self) -> None:
        require_text(self.text, "note")


# --- the record -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """One patient's national record, as a summary needs it.

    ``source_date`` is when the national record was last changed: a newer record supersedes an
    older one. ``language`` is the record's BCP-47 language, when the source says.
    """

    patient: Patient
    author: Organization | None = None
    custodian: Organization | None = None
    source_date: str | None = None
    language: str | None = None
    problems: tuple[Problem, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    medications: tuple[MedicationUse, ...] = ()
    results: tuple[Observation, ...] = ()
    immunizations: tuple[Immunization, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    devices: tuple[DeviceUse, ...] = ()
    vital_signs: tuple[Observation, ...] = ()
    past_problems: tuple[Problem, ...] = ()
    pregnancy: tuple[Observation, ...] = ()
    social_history: tuple[Observation, ...] = ()
    functional_status: tuple[Problem, ...] = ()
    notes: tuple[Note, ...] = ()

    def __post_init__(self) -> None:
        optional_datetimes(source_date=self.source_date)
        if self.language is not None and not LANGUAGE_TAG.fullmatch(self.language):
            raise ValueError("language is not a BCP-47 language tag")

    def notes_for(self, section: Section) -> tuple[str, ...]:
        return tuple(note.text for note in self.notes if note.section is section)

    def concepts(self) -> Iterator[tuple[str, Concept]]:
        """Every concept in the clinical lists with where it sits (``problems[0].code``).

        The profile engine walks this to report codes that have no EU coding.
        """
        for name in CLINICAL_LISTS:
            for index, item in enumerate(getattr(self, name)):
                yield from _concepts_in(item, f"{name}[{index}]")


CLINICAL_LISTS = (
    "problems",
    "allergies",
    "medications",
    "results",
    "immunizations",
    "procedures",
    "devices",
    "vital_signs",
    "past_problems",
    "pregnancy",
    "social_history",
    "functional_status",
)


def _concepts_in(item: object, path: str) -> Iterator[tuple[str, Concept]]:
    if isinstance(item, Concept):
        yield path, item
        return
    if isinstance(item, tuple):
        for index, part in enumerate(item):
            yield from _concepts_in(part, f"{path}[{index}]")
        return
    if is_dataclass(item) and not isinstance(item, type):
        for f in fields(item):
            yield from _concepts_in(getattr(item, f.name), f"{path}.{f.name}")
