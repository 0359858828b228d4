"""The translation engine: what a profile does to a record once its format's reader has read it.

A reader (``gateway.ingest.records``) turns the native document into a neutral
:class:`~gateway.domain.records.PatientRecord` with the codes as the source wrote them. The
engine then applies the profile's rules, which are the same whatever the format:

1. the record must say whom it is about: a patient identifier and a birth date;
2. each identifier is written with the profile's system URI, and checked with the profile's
   algorithm: a failure warns or rejects the record, as the profile says;
3. the patient's country is the profile's, else the identifier system's owner, else the
   gateway's own;
4. codes go through the profile's ConceptMaps: a match adds the EU coding beside the national
   one (as eHDSI keeps national codes in ``translation``); no match keeps the code as it came;
5. every concept still without a coding in an EU system is reported, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, cast

from gateway.domain.clinical_values import ABSENT_UNKNOWN, ATC, ICD10, LOINC, SNOMED, UCUM
from gateway.domain.records import Code, Concept, Identifier, PatientRecord
from gateway.errors import RecordRejected
from gateway.profiles import identifiers
from gateway.profiles.codesystems import EDQM, ICD_O_3
from gateway.profiles.loader import ProfileSet
from gateway.profiles.model import ConceptMapBinding, Finding, Profile

__all__ = ["EU_SYSTEMS", "Translation", "apply_profile", "is_eu_system"]

# Code systems a receiving member state can read without the sender's national tables: the
# eHDSI Master Value Catalogue's and the IPS's (reference/national-records.md §3).
EU_SYSTEMS = frozenset(
    {
        LOINC,
        SNOMED,
        ICD10,
        ATC,
        UCUM,
        EDQM,
        ICD_O_3,
        ABSENT_UNKNOWN,
        "https://www.orpha.net",
        "http://www.orpha.net",
        "urn:oid:1.3.6.1.4.1.12559.11.10.1.3.1.44.6",  # EMDN, medical devices
    }
)


@dataclass(frozen=True, slots=True)
class Translation:
    record: PatientRecord
    findings: tuple[Finding, ...]


def apply_profile(
    record: PatientRecord,
    profile: Profile,
    profiles: ProfileSet,
    *,
    default_country: str,
    findings: tuple[Finding, ...] = (),
) -> Translation:
    """``record`` with the profile's identifier, country and terminology rules applied.

    ``findings`` are the reader's own warnings, kept in front of the engine's.

    :raises RecordRejected: when the record lacks a patient identifier or birth date, or an
        identifier fails a check the profile makes mandatory.
    """
    found = list(findings)
    _require_identity(record)
    patient = record.patient
    ids = tuple(_checked(i, n, profile, found) for n, i in enumerate(patient.identifiers))
    country = (
        profile.country
        or patient.country
        or next(filter(None, (profiles.country_of(i.system) for i in ids)), None)
        or default_country
    )
    record = replace(record, patient=replace(patient, identifiers=ids, country=country))
    for binding in profile.concept_maps:
        record = _map_codes(record, binding, profiles, found)
    found += _unmapped(record)
    return Translation(record, tuple(found))


def _require_identity(record: PatientRecord) -> None:
    if not record.patient.identifiers:
        raise RecordRejected("the record names no patient identifier", "patient.identifiers")
    if record.patient.birth_date is None:
        raise RecordRejected("the record gives no birth date", "patient.birth_date")


def _checked(
    identifier: Identifier, index: int, profile: Profile, found: list[Finding]
) -> Identifier:
    where = f"patient.identifiers[{index}]"
    rule = profile.identifier_rule(identifier.system)
    if rule is None:
        registered = identifiers.system_for(identifier.system)
        key = registered.key if registered is not None else None
        value = identifiers.normalize_value(key, identifier.value)
        result = identifiers.check(identifier.system, value)  # unknown systems pass unchecked
        if not result.valid:
            found.append(Finding(where, f"{identifier.system}: {result.reason}"))
        return Identifier(identifier.system, value)
    value = identifiers.normalize_value(rule.check, identifier.value)
    if rule.check is not None:
        result = identifiers.check_with(rule.check, value)
        if not result.valid:
            message = f"{rule.system}: {result.reason}"
            if rule.on_failure == "reject":
                raise RecordRejected(message, where)
            found.append(Finding(where, message))
    return Identifier(rule.system, value)


# --- terminology ------------------------------------------------------------------------------


def _map_codes(
    record: PatientRecord, binding: ConceptMapBinding, profiles: ProfileSet, found: list[Finding]
) -> PatientRecord:
    concept_map = profiles.concept_map(binding.concept_map)
    list_name, *path = binding.field.split(".")
    items = getattr(record, list_name)

    def translate(concept: Concept, where: str) -> Concept:
        added: list[Code] = []
        mapped_from_map = False
        for coding in concept.codings:
            if coding.system not in concept_map.source_systems:
                continue
            mapped_from_map = True
            targets = concept_map.translate(coding.system, coding.code)
            if not targets:
                found.append(
                    Finding(where, f"{coding.system}|{coding.code} is not in {concept_map.name}")
                )
            added += [Code(t.system, t.code, t.display) for t in targets]
        fresh = tuple(c for c in dict.fromkeys(added) if c not in concept.codings)
        if not mapped_from_map or not fresh:
            return concept
        # EU codings first: receivers and the IPS profiles read the first coding.
        return replace(concept, codings=(*fresh, *concept.codings))

    mapped = tuple(
        _at_path(item, path, translate, f"{list_name}[{n}]") for n, item in enumerate(items)
    )
    changes: dict[str, Any] = {list_name: mapped}
    return replace(record, **changes)


def _at_path(node: Any, path: list[str], fn: Callable[[Concept, str], Concept], where: str) -> Any:
    """``node`` with ``fn`` applied to every Concept at ``path`` (through tuples too)."""
    if isinstance(node, tuple):
        return tuple(_at_path(part, path, fn, f"{where}[{n}]") for n, part in enumerate(node))
    if not path:
        return fn(node, where) if isinstance(node, Concept) else node
    if not (is_dataclass(node) and path[0] in {f.name for f in fields(node)}):
        return node
    head, *rest = path
    value = getattr(node, head)
    if value is None:
        return node
    changes: dict[str, Any] = {head: _at_path(value, rest, fn, f"{where}.{head}")}
    return replace(cast(Any, node), **changes)


# HL7's own international code systems (interpretation flags, statuses, absent reasons) are
# read the same way in every member state.
_INTERNATIONAL_PREFIXES = ("http://terminology.hl7.org/CodeSystem/", "http://hl7.org/fhir/")
_EXTERNAL = "http://hl7.org/fhir/sid/"


def is_eu_system(system: str) -> bool:
    # http://hl7.org/fhir/sid/ names external systems, national ones among them (ICD-9-CM).
    if system in EU_SYSTEMS:
        return True
    return system.startswith(_INTERNATIONAL_PREFIXES) and not system.startswith(_EXTERNAL)


def _unmapped(record: PatientRecord) -> list[Finding]:
    return [
        Finding(where, _kept_as_sent(concept))
        for where, concept in record.concepts()
        if not any(is_eu_system(c.system) for c in concept.codings)
    ]


def _kept_as_sent(concept: Concept) -> str:
    if not concept.codings:
        return "no coding, only text: kept as text"
    systems = ", ".join(sorted({c.system for c in concept.codings}))
    return f"no EU coding (only {systems}): kept as sent"
