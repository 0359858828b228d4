"""FHIR clinical resources to the record's statements (FHIR R4 resource definitions).

One function per resource type reads what the record holds: Condition -> :class:`Problem`,
AllergyIntolerance -> :class:`Allergy`, MedicationStatement (with its Medication resolved in
the input) -> :class:`MedicationUse`, Observation -> :class:`Observation`, Immunization,
Procedure, DeviceUseStatement (with its Device) -> :class:`DeviceUse`. Which record list a
resource fills is the profile's rule; the function only reads. A resource that cannot become a
statement (no code, entered in error, a medication that is not in the input) is left out with a
finding. Statuses are FHIR's own codes, which the record checks.

Not read, as the record does not hold them: an observation's ``hasMember`` (each member is
read as the resource it is), performers, encounters, a condition's body site, stage and
evidence. Of a procedure's several ``bodySite``s and an observation's ``interpretation``s only
the first is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.domain.records import (
    Allergy,
    Component,
    Concept,
    DeviceUse,
    Immunization,
    MedicationUse,
    Observation,
    Problem,
    Procedure,
)
from gateway.ingest.records.fhir_tree import Node
from gateway.ingest.records.fhir_values import Context, coded, reference_range

__all__ = ["READERS", "SUBJECT", "abated"]

_THO = "http://terminology.hl7.org/CodeSystem/"
_CONDITION_CLINICAL = _THO + "condition-clinical"
_CONDITION_VERIFICATION = _THO + "condition-ver-status"
_ALLERGY_CLINICAL = _THO + "allergyintolerance-clinical"
_ALLERGY_VERIFICATION = _THO + "allergyintolerance-verification"
_ENTERED_IN_ERROR = "entered-in-error"
_ABATED = ("inactive", "remission", "resolved")


def _literal(code: str | None) -> Any:
    """A FHIR status or category code, typed as the record's ``Literal``: the record's own
    constructor checks it is one of them, and the reader turns its refusal into a 422."""
    return code


def _unreadable(context: Context, node: Node, status: str | None, **needed: object) -> bool:
    """Whether the resource cannot become a statement: entered in error, or without one of
    the ``needed`` parts (``a_code=None`` -> "without a code"); the finding says which.

    Callers test the part for None again: that is for the type checker, which cannot see
    through this helper."""
    missing = (f"without {name.replace('_', ' ')}" for name, part in needed.items() if part is None)
    why = "entered in error" if status == _ENTERED_IN_ERROR else next(missing, None)
    if why is not None:
        context.note(node.path, f"{node.data['resourceType']} {why}: not read")
    return why is not None


def problem(node: Node, context: Context) -> Problem | None:
    code = context.concept(node.get("code"))
    verification = coded(node.get("verificationStatus"), _CONDITION_VERIFICATION)
    if _unreadable(context, node, verification, a_code=code) or code is None:
        return None
    return Problem(
        code,
        clinical_status=_literal(coded(node.get("clinicalStatus"), _CONDITION_CLINICAL)),
        verification=_literal(verification),
        onset=context.start(node, "onset"),
        abatement=context.when(node, "abatementDateTime") or context.end(node, "abatement"),
        severity=context.concept(node.get("severity")),
    )


def abated(item: Problem) -> bool:
    return item.clinical_status in _ABATED or item.abatement is not None


def allergy(node: Node, context: Context) -> Allergy | None:
    code = context.concept(node.get("code"))
    status = coded(node.get("clinicalStatus"), _ALLERGY_CLINICAL)
    verification = coded(node.get("verificationStatus"), _ALLERGY_VERIFICATION)
    needed = {"a_code": code, "a_clinical_status": status}
    if _unreadable(context, node, verification, **needed) or code is None:
        return None
    categories = node.texts("category")
    reactions = [
        concept
        for reaction in node.all("reaction")
        for manifestation in reaction.all("manifestation")
        if (concept := context.concept(manifestation)) is not None
    ]
    return Allergy(
        code,
        clinical_status=_literal(status),
        verification=_literal(verification),
        type=_literal(node.text("type")),
        category=_literal(categories[0] if categories else None),
        criticality=_literal(node.text("criticality")),
        onset=context.start(node, "onset"),
        reactions=tuple(reactions),
    )


def medication_use(node: Node, context: Context) -> MedicationUse | None:
    status = node.text("status")
    medication = _medication(node, context)
    if _unreadable(context, node, status, a_medication=medication) or medication is None:
        return None
    dosages = node.all("dosage")
    texts = [text for dosage in dosages if (text := dosage.text("text")) is not None]
    route = next((r for d in dosages if (r := context.concept(d.get("route"))) is not None), None)
    return MedicationUse(
        medication,
        status=_literal(status or "unknown"),
        start=context.start(node, "effective"),
        end=context.end(node, "effective"),
        dosage="; ".join(texts) or None,
        route=route,
    )


def _medication(node: Node, context: Context) -> Concept | None:
    """The medication: coded in place, or the Medication the reference finds in the input."""
    medication = context.concept(node.get("medicationCodeableConcept"))
    if medication is not None:
        return medication
    reference = node.get("medicationReference")
    target = context.contents.resolve(reference, node)
    if target is not None and target.data.get("resourceType") == "Medication":
        medication = context.concept(target.get("code"))
    if medication is None and reference is not None:
        display = reference.text("display")
        medication = Concept(text=display) if display is not None else None
    return medication


def observation(node: Node, context: Context) -> Observation | None:
    code = context.concept(node.get("code"))
    status = node.text("status")
    if _unreadable(context, node, status, a_code=code) or code is None:
        return None
    components = [
        Component(part, context.value(component))
        for component in node.all("component")
        if (part := context.concept(component.get("code"))) is not None
    ]
    notes = [text for note in node.all("note") if (text := note.text("text")) is not None]
    interpretations = node.all("interpretation")
    return Observation(
        code,
        value=context.value(node),
        effective=context.start(node, "effective") or context.when(node, "effectiveInstant"),
        status=_literal(status or "unknown"),
        components=tuple(components),
        interpretation=context.concept(interpretations[0]) if interpretations else None,
        note="\n".join(notes) or None,
        reference_range=reference_range(node),
    )


def immunization(node: Node, context: Context) -> Immunization | None:
    vaccine = context.concept(node.get("vaccineCode"))
    status = node.text("status")
    if _unreadable(context, node, status, a_code=vaccine) or vaccine is None:
        return None
    return Immunization(
        vaccine,
        date=context.when(node, "occurrenceDateTime"),
        status=_literal(status or "completed"),
        lot_number=node.text("lotNumber"),
    )


def procedure(node: Node, context: Context) -> Procedure | None:
    code = context.concept(node.get("code"))
    status = node.text("status")
    if _unreadable(context, node, status, a_code=code) or code is None:
        return None
    sites = node.all("bodySite")
    return Procedure(
        code,
        date=context.start(node, "performed"),
        status=_literal(status or "unknown"),
        body_site=context.concept(sites[0]) if sites else None,
        end=context.end(node, "performed"),  # a course (radiotherapy) over a period
    )


def device_use(node: Node, context: Context) -> DeviceUse | None:
    status = node.text("status")
    reference = node.get("device")
    target = context.contents.resolve(reference, node)
    device = context.concept(target.get("type")) if target is not None else None
    if device is None and reference is not None and reference.text("display") is not None:
        device = Concept(text=reference.text("display"))
    if _unreadable(context, node, status, a_status=status, a_device=device) or device is None:
        return None
    return DeviceUse(
        device,
        status=_literal(status),
        start=context.start(node, "timing"),
        end=context.end(node, "timing"),
    )


Reader = Callable[[Node, Context], Any]

READERS: dict[str, Reader] = {
    "Condition": problem,
    "AllergyIntolerance": allergy,
    "MedicationStatement": medication_use,
    "Observation": observation,
    "Immunization": immunization,
    "Procedure": procedure,
    "DeviceUseStatement": device_use,
}
# Where each resource names the patient it is about.
SUBJECT = {
    "Condition": "subject",
    "AllergyIntolerance": "patient",
    "MedicationStatement": "subject",
    "Observation": "subject",
    "Immunization": "patient",
    "Procedure": "subject",
    "DeviceUseStatement": "subject",
}
