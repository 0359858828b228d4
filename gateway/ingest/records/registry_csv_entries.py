"""Record entries from registry rows: the patient, and one entry per fact row.

Which entry a record list holds (a :class:`Problem` for ``problems``, a
:class:`MedicationUse` for ``medications``...) is fixed here; which column fills which of its
fields is the profile's. A field named after a date (``onset``, ``start``, ``effective``) is
read as a date, a status through its code table, a coded field as a concept; any other
column (a dosage, a note, a reference range) is kept as the text the source wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.domain.records import (
    Address,
    HumanName,
    Identifier,
    MedicationUse,
    Observation,
    Patient,
    Problem,
    Procedure,
    Sex,
)
from gateway.errors import RecordRejected
from gateway.ingest.records.registry_csv_cells import Cells
from gateway.ingest.records.registry_csv_layout import (
    CodeTable,
    ConceptRule,
    FieldRule,
    PatientRule,
)

__all__ = ["entry", "patient"]

# Record list -> the entry it holds, and the field that names what the entry is about.
_ENTRIES: dict[str, tuple[Callable[..., object], str]] = {
    "problems": (Problem, "code"),
    "past_problems": (Problem, "code"),
    "procedures": (Procedure, "code"),
    "medications": (MedicationUse, "medication"),
    "results": (Observation, "code"),
    "vital_signs": (Observation, "code"),
}
_DATE_FIELDS = frozenset({"onset", "abatement", "date", "start", "end", "effective"})


def entry(target: str, fields: Mapping[str, FieldRule], cells: Cells) -> object:
    """The ``target`` list's entry that the row's cells fill, following ``fields``.

    :raises RecordRejected: when the row names nothing for the entry's main concept, or its
        values break the entry's rules (an end before the start, an active abated problem).
    """
    kind, main = _ENTRIES[target]
    values: dict[str, Any] = {}
    for name, rule in fields.items():
        value = _field(name, rule, cells)
        if value is not None:
            values[name] = value
    if main not in values:
        columns = ", ".join(_concept_columns(fields[main]))
        raise RecordRejected(
            f"a {target} row needs a code or a text ({columns} empty)", f"line {cells.line}"
        )
    try:
        return kind(**values)
    except ValueError as exc:
        raise RecordRejected(str(exc), f"line {cells.line}") from None


def patient(rule: PatientRule, cells: Cells) -> Patient:
    """The patient that the patient row describes.

    :raises RecordRejected: for a row with no name, or a birth date with a time.
    """
    identifiers = tuple(
        Identifier(system, value)
        for column, system in rule.identifiers
        if (value := cells.text(column)) is not None
    )
    name = _name(rule, cells)
    if name is None:
        columns = ", ".join(filter(None, (rule.family, rule.given)))
        raise RecordRejected(f"the patient row has no name ({columns} empty)", f"line {cells.line}")
    gender = cells.coded(rule.gender, "sex") if rule.gender is not None else None
    try:
        return Patient(
            identifiers=identifiers,
            names=(name,),
            birth_date=cells.date(rule.birth_date),
            gender=Sex(gender) if gender is not None else None,
            addresses=_addresses(rule, cells),
        )
    except ValueError as exc:  # only the birth date can still be wrong: a date with a time
        where = cells.where(rule.birth_date) if rule.birth_date else f"line {cells.line}"
        raise RecordRejected(str(exc), where) from None


def _field(name: str, rule: FieldRule, cells: Cells) -> object:
    if isinstance(rule, str):
        return cells.date(rule) if name in _DATE_FIELDS else cells.text(rule)
    if isinstance(rule, CodeTable):
        return cells.coded(rule, name.replace("_", " "))
    if isinstance(rule, ConceptRule):
        return cells.concept(rule)
    return cells.value(rule)


def _name(rule: PatientRule, cells: Cells) -> HumanName | None:
    family = cells.text(rule.family)
    given = cells.text(rule.given)
    if family is None and given is None:
        return None
    if given is None:
        return HumanName(family, use=rule.name_use)
    parts = given.split(rule.given_separator) if rule.given_separator else [given]
    given_names = tuple(part.strip() for part in parts if part.strip())
    return HumanName(family, given_names, use=rule.name_use)


def _addresses(rule: PatientRule, cells: Cells) -> tuple[Address, ...]:
    if rule.address is None:
        return ()
    parts = {field: cells.text(column) for field, column in rule.address.items()}
    if not any(parts.values()):
        return ()
    line = parts.get("line")
    return (
        Address(
            lines=(line,) if line else (),
            city=parts.get("city"),
            postal_code=parts.get("postal_code"),
            country=parts.get("country"),
        ),
    )


def _concept_columns(rule: FieldRule) -> list[str]:
    if not isinstance(rule, ConceptRule):
        return []
    return [c.code for c in rule.codings] + ([rule.text] if rule.text else [])
