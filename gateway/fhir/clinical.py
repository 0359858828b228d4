"""IPS clinical statements: Condition, AllergyIntolerance, MedicationStatement, Immunization,
Procedure and DeviceUseStatement (with its Device).

Each builder follows its IPS 2.0.0 profile (``HL7/fhir-ips`` ``input/fsh/profiles``): the
coded element 1..1, the subject by reference, and the profile's ``1..1`` dates written as a
data-absent-reason when the source has none.
"""

from __future__ import annotations

from gateway.domain.records import (
    Allergy,
    DeviceUse,
    Immunization,
    MedicationUse,
    Problem,
    Procedure,
)
from gateway.fhir import canonical
from gateway.fhir.datatypes import Json, absent, coded, concept, period, reference
from gateway.fhir.resources import Refs, shell


def condition(item: Problem, resource_id: str, refs: Refs) -> Json:
    out = shell("Condition", resource_id, canonical.CONDITION)
    if item.clinical_status is not None:
        out["clinicalStatus"] = coded(canonical.CONDITION_CLINICAL, item.clinical_status)
    if item.verification is not None:
        out["verificationStatus"] = coded(canonical.CONDITION_VERIFICATION, item.verification)
    # Condition-uv-ips: every entry is a problem of the patient, a problem-list item.
    out["category"] = [coded(canonical.CONDITION_CATEGORY, "problem-list-item")]
    if item.severity is not None:
        out["severity"] = concept(item.severity)
    out["code"] = concept(item.code)
    out["subject"] = reference(refs.patient)
    if item.onset is not None:
        out["onsetDateTime"] = item.onset
    if item.abatement is not None:
        out["abatementDateTime"] = item.abatement
    return out


def allergy_intolerance(item: Allergy, resource_id: str, refs: Refs) -> Json:
    out = shell("AllergyIntolerance", resource_id, canonical.ALLERGY)
    # ait-1: the clinical status is required unless the entry was entered in error.
    out["clinicalStatus"] = coded(canonical.ALLERGY_CLINICAL, item.clinical_status)
    if item.verification is not None:
        out["verificationStatus"] = coded(canonical.ALLERGY_VERIFICATION, item.verification)
    if item.type is not None:
        out["type"] = item.type
    if item.category is not None:
        out["category"] = [item.category]
    if item.criticality is not None:
        out["criticality"] = item.criticality
    out["code"] = concept(item.code)
    out["patient"] = reference(refs.patient)
    if item.onset is not None:
        out["onsetDateTime"] = item.onset
    if item.reactions:
        out["reaction"] = [{"manifestation": [concept(r) for r in item.reactions]}]
    return out


def medication_statement(item: MedicationUse, resource_id: str, refs: Refs) -> Json:
    out = shell("MedicationStatement", resource_id, canonical.MEDICATION_STATEMENT)
    out["status"] = item.status
    out["medicationCodeableConcept"] = concept(item.medication)
    out["subject"] = reference(refs.patient)
    if item.start is None and item.end is None:
        out["_effectiveDateTime"] = absent()  # MedicationStatement-uv-ips: effective[x] 1..1
    else:
        out["effectivePeriod"] = period(item.start, item.end)
    dosage: Json = {}
    if item.dosage is not None:
        dosage["text"] = item.dosage
    if item.route is not None:
        dosage["route"] = concept(item.route)
    if dosage:
        out["dosage"] = [dosage]
    return out


def immunization(item: Immunization, resource_id: str, refs: Refs) -> Json:
    out = shell("Immunization", resource_id, canonical.IMMUNIZATION)
    out["status"] = item.status
    out["vaccineCode"] = concept(item.vaccine)
    out["patient"] = reference(refs.patient)
    if item.date is not None:
        out["occurrenceDateTime"] = item.date
    else:
        # occurrence[x] is 1..1 in core R4. A data-absent-reason alone (`_occurrenceDateTime`)
        # is valid FHIR, but fhir.resources R4B refuses a required choice without a value
        # (reference/fhir.md §1); occurrenceString is valid for both and for IPS.
        out["occurrenceString"] = "unknown"
    if item.lot_number is not None:
        out["lotNumber"] = item.lot_number
    return out


def procedure(item: Procedure, resource_id: str, refs: Refs) -> Json:
    out = shell("Procedure", resource_id, canonical.PROCEDURE)
    out["status"] = item.status
    out["code"] = concept(item.code)
    out["subject"] = reference(refs.patient)
    if item.end is not None:
        out["performedPeriod"] = period(item.date, item.end)
    elif item.date is not None:
        out["performedDateTime"] = item.date
    else:
        out["_performedDateTime"] = absent()  # Procedure-uv-ips: performed[x] 1..1
    if item.body_site is not None:
        out["bodySite"] = [concept(item.body_site)]
    return out


def device_use_statement(item: DeviceUse, resource_id: str, device_url: str, refs: Refs) -> Json:
    out = shell("DeviceUseStatement", resource_id, canonical.DEVICE_USE)
    out["status"] = item.status
    out["subject"] = reference(refs.patient)
    if item.start is None and item.end is None:
        # DeviceUseStatement-uv-ips: timing[x] 1..1; the official all-sections example
        # writes an unknown timing exactly so.
        out["_timingDateTime"] = absent()
    else:
        out["timingPeriod"] = period(item.start, item.end)
    out["device"] = {**reference(device_url), "display": item.device.label}
    return out


def device(item: DeviceUse, resource_id: str, refs: Refs) -> Json:
    out = shell("Device", resource_id, canonical.DEVICE)
    out["type"] = concept(item.device)
    out["patient"] = reference(refs.patient)
    return out
