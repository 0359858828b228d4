"""The CapabilityStatement ``GET /fhir/metadata`` answers: exactly what this server does.

Listed only when implemented: Patient read and search by ``identifier``, the IPS ``$summary``
operation (by id and by identifier), genomic DiagnosticReport search and genomic Observation
read and search. Later surfaces (Consent, AuditEvent) are added here when their routes exist.
"""

from __future__ import annotations

from gateway.fhir.datatypes import Json

__all__ = ["SUMMARY_OPERATION", "capability_statement"]

SUMMARY_OPERATION = "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"
_GENOMICS = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
_GENOMIC_REPORT = _GENOMICS + "genomic-report"
_VARIANT = _GENOMICS + "variant"
FHIR_VERSION = "4.0.1"


def capability_statement(
    *, base_url: str, country: str, software_version: str, published: str
) -> Json:
    """The statement for this gateway; ``published`` is a FHIR dateTime (the start time)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": published,
        "publisher": f"Cross-border health data gateway {country}",
        "kind": "instance",
        "software": {"name": "eu-health-gateway", "version": software_version},
        "implementation": {
            "description": f"Patient summaries of member state {country}",
            "url": f"{base_url}/fhir",
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "resource": [_patient(), _diagnostic_report(), _observation()],
                "operation": [_summary()],
            }
        ],
    }


def _patient() -> Json:
    return {
        "type": "Patient",
        "profile": "http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {
                "name": "identifier",
                "definition": "http://hl7.org/fhir/SearchParameter/Patient-identifier",
                "type": "token",
                "documentation": "system|value: a national identifier",
            },
            {
                "name": "_id",
                "definition": "http://hl7.org/fhir/SearchParameter/Resource-id",
                "type": "token",
            },
        ],
        "operation": [_summary()],
    }


def _diagnostic_report() -> Json:
    return {
        "type": "DiagnosticReport",
        "profile": _GENOMIC_REPORT,
        "interaction": [{"code": "search-type"}],
        "searchParam": [_subject(), _token("category", "DiagnosticReport-category"), *_paging()],
    }


def _observation() -> Json:
    return {
        "type": "Observation",
        "supportedProfile": [_VARIANT],
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            _subject(),
            _token("code", "clinical-code"),
            _token("category", "Observation-category"),
            *_paging(),
        ],
    }


def _subject() -> Json:
    return {
        "name": "subject",
        "definition": "http://hl7.org/fhir/SearchParameter/clinical-patient",
        "type": "reference",
        "documentation": "Patient/{id}: required",
    }


def _token(name: str, definition: str) -> Json:
    return {
        "name": name,
        "definition": f"http://hl7.org/fhir/SearchParameter/{definition}",
        "type": "token",
    }


def _paging() -> list[Json]:
    return [
        {"name": "_count", "type": "number", "documentation": "page size, 0 to 1000 (default 50)"},
        {"name": "_offset", "type": "number", "documentation": "where the page starts"},
    ]


def _summary() -> Json:
    return {
        "name": "summary",
        "definition": SUMMARY_OPERATION,
        "documentation": "GET Patient/{id}/$summary or Patient/$summary?identifier=system|value:"
        " the patient's International / EU Patient Summary document",
    }
