"""Canonical URLs: the IPS 2.0.0 profiles a document claims, and the code systems it uses.

Profile URLs are those of the official StructureDefinitions (``conformance/fhir-examples/
profiles/``) and of the entry slices of ``Composition-uv-ips`` (``reference/fhir.md`` §2).
"""

from __future__ import annotations

IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
BUNDLE = IPS + "Bundle-uv-ips"
COMPOSITION = IPS + "Composition-uv-ips"
PATIENT = IPS + "Patient-uv-ips"
ORGANIZATION = IPS + "Organization-uv-ips"
CONDITION = IPS + "Condition-uv-ips"
ALLERGY = IPS + "AllergyIntolerance-uv-ips"
MEDICATION_STATEMENT = IPS + "MedicationStatement-uv-ips"
IMMUNIZATION = IPS + "Immunization-uv-ips"
PROCEDURE = IPS + "Procedure-uv-ips"
DEVICE_USE = IPS + "DeviceUseStatement-uv-ips"
DEVICE = IPS + "Device-uv-ips"
LAB_RESULT = IPS + "Observation-results-laboratory-pathology-uv-ips"
PREGNANCY_STATUS = IPS + "Observation-pregnancy-status-uv-ips"
PREGNANCY_OUTCOME = IPS + "Observation-pregnancy-outcome-uv-ips"
PREGNANCY_EDD = IPS + "Observation-pregnancy-edd-uv-ips"
TOBACCO_USE = IPS + "Observation-tobaccouse-uv-ips"
ALCOHOL_USE = IPS + "Observation-alcoholuse-uv-ips"
# Vital signs use the FHIR core profile (the sectionVitalSigns entry slice names it).
VITAL_SIGNS = "http://hl7.org/fhir/StructureDefinition/vitalsigns"

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
ACT_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActClass"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
URI_IDENTIFIER = "urn:ietf:rfc:3986"
