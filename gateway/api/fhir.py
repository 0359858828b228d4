"""``/fhir``: FHIR R4 REST for patient summaries: metadata, Patient read and search, $summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.api.deps import ServicesDep
from gateway.api.rendering import FHIRBody
from gateway.domain.records import Identifier
from gateway.errors import BadRequest
from gateway.fhir.search import searchset

router = APIRouter(prefix="/fhir", tags=["fhir"])

IdentifierQuery = Annotated[
    str | None, Query(description="A national identifier as system|value", max_length=512)
]


@router.get("/metadata", summary="CapabilityStatement (public)")
async def metadata(found: ServicesDep) -> FHIRBody:
    return FHIRBody(found.capability)


@router.get("/Patient/$summary", summary="IPS document for the patient with this identifier")
async def summary_by_identifier(found: ServicesDep, identifier: IdentifierQuery = None) -> FHIRBody:
    if identifier is None:
        raise BadRequest("$summary at type level needs identifier=system|value")
    return FHIRBody(await found.records.summary_for(parse_identifier(identifier)))


@router.get("/Patient/{patient_id}/$summary", summary="IPS document for a stored patient")
async def summary(found: ServicesDep, patient_id: str) -> FHIRBody:
    return FHIRBody(await found.records.summary(patient_id))


@router.get("/Patient/{patient_id}", summary="Read a Patient")
async def read_patient(found: ServicesDep, patient_id: str) -> FHIRBody:
    return FHIRBody(await found.records.patient(patient_id))


@router.get("/Patient", summary="Search Patients by identifier or id")
async def search_patients(
    request: Request,
    found: ServicesDep,
    identifier: IdentifierQuery = None,
    id_: Annotated[str | None, Query(alias="_id", max_length=64)] = None,
) -> FHIRBody:
    if identifier is None and id_ is None:
        raise BadRequest("search Patients by identifier=system|value or _id")
    parsed = parse_identifier(identifier) if identifier is not None else None
    matches = await found.records.search(parsed, id_)
    base = found.settings.public_base_url
    self_link = f"{base}{request.url.path}?{request.url.query}"
    return FHIRBody(searchset(base, matches, self_link, total=len(matches)))


def parse_identifier(token: str) -> Identifier:
    """A FHIR token ``system|value``; both parts are needed (systems are national)."""
    system, bar, value = token.partition("|")
    if not bar or not system.strip() or not value.strip():
        raise BadRequest("identifier must be system|value, both parts given")
    return Identifier(system.strip(), value.strip())
