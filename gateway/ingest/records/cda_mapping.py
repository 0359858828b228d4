"""The ``mapping`` section of an ``ehdsi-cda`` profile, in typed form.

The loader has already checked the section against ``gateway/profiles/schemas/ehdsi-cda.json``,
so the values have the right types and enumerations; this module turns them into look-up tables
the reader uses as it walks the document (section code -> record list, status code -> status).
A profile is compiled once: later reads with the same :class:`Profile` object reuse its tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from gateway.domain.clinical_values import NameUse, Section, TelecomSystem
from gateway.domain.records import (
    AllergyCategory,
    AllergyStatus,
    AllergyType,
    Criticality,
    ImmunizationStatus,
    MedicationStatus,
    ObservationStatus,
    ProblemStatus,
    ProblemVerification,
    ProcedureStatus,
)
from gateway.domain.samples import Sex
from gateway.errors import RecordError
from gateway.profiles.model import Profile

__all__ = [
    "LIST_SECTIONS",
    "AllergyKind",
    "CdaMapping",
    "DetailKind",
    "SectionRule",
    "Statuses",
    "mapping_of",
]

# Record lists a source section can fill, with the IPS section their notes belong to;
# advance directives have no list of their own and are read as notes.
LIST_SECTIONS: Mapping[str, Section] = {
    "problems": Section.PROBLEMS,
    "allergies": Section.ALLERGIES,
    "medications": Section.MEDICATIONS,
    "results": Section.RESULTS,
    "immunizations": Section.IMMUNIZATIONS,
    "procedures": Section.PROCEDURES,
    "devices": Section.DEVICES,
    "vital_signs": Section.VITAL_SIGNS,
    "past_problems": Section.PAST_PROBLEMS,
    "pregnancy": Section.PREGNANCY,
    "social_history": Section.SOCIAL_HISTORY,
    "functional_status": Section.FUNCTIONAL_STATUS,
    "advance_directives": Section.ADVANCE_DIRECTIVES,
}

DetailKind = Literal["status", "certainty", "criticality", "severity", "comment"]
_DETAIL_KINDS: tuple[DetailKind, ...] = (
    "status",
    "certainty",
    "criticality",
    "severity",
    "comment",
)
Absence = Literal["none", "unknown"]


@dataclass(frozen=True, slots=True)
class SectionRule:
    """Where a source section goes: ``target`` is a record list or ``advance_directives``."""

    target: str
    section: Section
    narrative_as_notes: bool  # without entries, keep the narrative text as notes


@dataclass(frozen=True, slots=True)
class AllergyKind:
    type: AllergyType | None
    category: AllergyCategory | None


@dataclass(frozen=True, slots=True)
class Statuses:
    concern: Mapping[str, AllergyStatus]  # active/inactive/resolved: valid for both lists
    problem: Mapping[str, ProblemStatus]
    allergy: Mapping[str, AllergyStatus]
    verification: Mapping[str, ProblemVerification]
    criticality: Mapping[str, Criticality]
    medication: Mapping[str, MedicationStatus]
    immunization: Mapping[str, ImmunizationStatus]
    procedure: Mapping[str, ProcedureStatus]
    observation: Mapping[str, ObservationStatus]


@dataclass(frozen=True, slots=True)
class CdaMapping:
    document_codes: frozenset[str]
    medication_namespaces: tuple[str, ...]
    sections_by_code: Mapping[str, SectionRule]
    sections_by_template: Mapping[str, SectionRule]
    absent_null_flavors: Mapping[str, Absence]
    details: Mapping[str, DetailKind]  # nested observation code -> what it says
    statuses: Statuses
    gender: Mapping[str, Sex]
    name_uses: Mapping[str, NameUse]
    telecom: Mapping[str, TelecomSystem]
    allergy_kinds: Mapping[str, AllergyKind]
    # codeSystem values resolved so far (the profile's code_systems, then the defaults): the
    # answer depends on the profile alone, so the documents read with it share them.
    systems: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def section_rule(self, code: str | None, template_ids: Iterable[str]) -> SectionRule | None:
        """The rule for a section: by its code first, else by any of its templateIds."""
        if code is not None and code in self.sections_by_code:
            return self.sections_by_code[code]
        return next(
            (self.sections_by_template[t] for t in template_ids if t in self.sections_by_template),
            None,
        )


# Compiled mappings by profile object. The entry holds the profile itself, so its id cannot
# be reused while cached; profiles are few and long-lived, the bound only matters for callers
# that make many (tests that vary a mapping).
_COMPILED: dict[int, tuple[Profile, CdaMapping]] = {}
_MAX_COMPILED = 32


def mapping_of(profile: Profile) -> CdaMapping:
    """The typed mapping of an ``ehdsi-cda`` profile (already checked against its schema),
    compiled on the first call for this profile object.

    :raises RecordError: (location ``profile``) when two record lists claim the same section
        code or templateId, or two detail kinds the same code: the schema cannot see that.
    """
    cached = _COMPILED.get(id(profile))
    if cached is not None and cached[0] is profile:
        return cached[1]
    mapping = _compile(profile.mapping)
    if len(_COMPILED) >= _MAX_COMPILED:
        _COMPILED.clear()
    _COMPILED[id(profile)] = (profile, mapping)
    return mapping


def _compile(data: Mapping[str, Any]) -> CdaMapping:
    by_code, by_template = _section_tables(data["sections"])
    return CdaMapping(
        document_codes=frozenset(data["document_codes"]),
        medication_namespaces=tuple(data["medication_namespaces"]),
        sections_by_code=by_code,
        sections_by_template=by_template,
        absent_null_flavors=dict(data.get("absent_null_flavors", {})),
        details=_detail_table(data["detail_codes"]),
        statuses=_statuses(data["statuses"]),
        gender={code: Sex(value) for code, value in data["gender"].items()},
        name_uses=dict(data.get("name_uses", {})),
        telecom=dict(data["telecom"]),
        allergy_kinds={
            code: AllergyKind(kind.get("type"), kind.get("category"))
            for code, kind in data.get("allergy_kinds", {}).items()
        },
    )


def _section_tables(
    sections: Mapping[str, Any],
) -> tuple[dict[str, SectionRule], dict[str, SectionRule]]:
    by_code: dict[str, SectionRule] = {}
    by_template: dict[str, SectionRule] = {}
    for target, spec in sections.items():
        rule = SectionRule(
            target, LIST_SECTIONS[target], spec.get("without_entries", "finding") == "note"
        )
        for code in spec.get("codes", ()):
            _claim(by_code, code, rule, "section code")
        for template in spec.get("template_ids", ()):
            _claim(by_template, template, rule, "section templateId")
    return by_code, by_template


def _claim(table: dict[str, SectionRule], key: str, rule: SectionRule, what: str) -> None:
    owner = table.setdefault(key, rule)
    if owner is not rule:
        raise RecordError(f"{what} {key} is mapped to {owner.target} and {rule.target}", "profile")


def _detail_table(codes: Mapping[str, Iterable[str]]) -> dict[str, DetailKind]:
    table: dict[str, DetailKind] = {}
    for kind in _DETAIL_KINDS:
        for code in codes[kind]:
            if table.setdefault(code, kind) != kind:
                raise RecordError(f"detail code {code} is mapped twice", "profile")
    return table


def _statuses(tables: Mapping[str, Mapping[str, str]]) -> Statuses:
    # The schema restricts every table's values to the record's own codes.
    return Statuses(**{name: cast(Any, dict(table)) for name, table in tables.items()})
