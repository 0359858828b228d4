"""Patient and Organization resources, and what every resource builder shares.

Resources are addressed by ``urn:uuid:`` full URLs, and references point at those URLs, as in
the official IPS examples that use UUIDs (``Bundle-IPS-examples-Bundle-01``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.records import Organization, Patient
from gateway.fhir import canonical
from gateway.fhir.datatypes import Json, absent, address, human_name, identifier, telecom


@dataclass(frozen=True, slots=True)
class Refs:
    """Full URLs that clinical resources point at."""

    patient: str
    performer: str  # the organisation that vouches for results (the document's author)


def full_url(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def shell(resource_type: str, resource_id: str, profile: str | None) -> Json:
    """The first elements of every resource; ``profile`` is claimed in ``meta.profile``."""
    out: Json = {"resourceType": resource_type, "id": resource_id}
    if profile is not None:
        out["meta"] = {"profile": [profile]}
    return out


def patient(item: Patient, resource_id: str) -> Json:
    out = shell("Patient", resource_id, canonical.PATIENT)
    if item.identifiers:
        out["identifier"] = [identifier(i) for i in item.identifiers]
    out["name"] = [human_name(n) for n in item.names]
    if item.telecoms:
        out["telecom"] = [telecom(t) for t in item.telecoms]
    if item.gender is not None:
        out["gender"] = item.gender.value  # Sex uses the AdministrativeGender codes
    if item.birth_date is not None:
        out["birthDate"] = item.birth_date
    else:
        # Patient-uv-ips: birthDate 1..1; the EU PS missing-data page shows this form.
        out["_birthDate"] = absent()
    if item.addresses:
        out["address"] = [address(a) for a in item.addresses]
    return out


def organization(item: Organization, resource_id: str) -> Json:
    out = shell("Organization", resource_id, canonical.ORGANIZATION)
    if item.identifiers:
        out["identifier"] = [identifier(i) for i in item.identifiers]
    out["name"] = item.name
    if item.country is not None:
        out["address"] = [{"country": item.country}]
    return out
