"""``/national``: the national node pushes native records (CDA, HL7 v2, FHIR, registry CSV)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.api.auth import authorized
from gateway.api.deps import ServicesDep, bounded_body
from gateway.api.rendering import FHIRBody
from gateway.domain.requester import Requester
from gateway.fhir.outcome import warnings_outcome

router = APIRouter(prefix="/national", tags=["national"])

_SAID = {
    "created": "stored; a new patient",
    "updated": "stored; the patient's summary now includes it",
    "superseded": "stored for the record, but a newer version from the same source is current",
    "unchanged": "already stored: nothing changed",
}


@router.post(
    "/records",
    summary="Push one national record, translated with the named profile",
    status_code=201,
    responses={
        201: {"description": "Stored; an OperationOutcome lists warnings"},
        200: {"description": "The same record was already stored"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "application/fhir+json": {"schema": {"type": "object"}},
                "application/fhir+xml": {"schema": {"type": "string"}},
                "x-application/hl7-v2+er7": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def push_record(
    request: Request,
    found: ServicesDep,
    who: Annotated[Requester, authorized("Bundle", "c")],
    profile: Annotated[str, Query(max_length=64, description="An installed profile's name")],
) -> FHIRBody:
    records = found.records
    records.profile(profile)  # an unknown profile is refused before the body is read
    body = await bounded_body(request, found.settings.record_max_bytes)
    stored = await records.ingest(body, profile, who.agent)
    location = f"{found.settings.public_base_url}/fhir/Patient/{stored.patient_id}"
    outcome = warnings_outcome(
        ((f.location, f.message) for f in stored.findings),
        f"{_SAID[stored.outcome]}: Patient/{stored.patient_id}",
    )
    status = 200 if stored.outcome == "unchanged" else 201
    return FHIRBody(outcome, status_code=status, headers={"Location": location})
