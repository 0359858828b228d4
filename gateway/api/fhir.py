"""``/fhir``: FHIR R4 REST for patient summaries: metadata, Patient read and search, $summary."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request

from gateway.api.auth import authorized
from gateway.api.deps import Services, ServicesDep
from gateway.api.rendering import FHIRBody, SignedFHIRBody
from gateway.domain.records import Identifier
from gateway.domain.requester import Requester
from gateway.errors import BadRequest
from gateway.fhir.datatypes import Json
from gateway.fhir.search import searchset

router = APIRouter(prefix="/fhir", tags=["fhir"])

MAX_COUNT = 1000
MAX_OFFSET = 2**31 - 1
DEFAULT_COUNT = 50
CountQuery = Annotated[int | None, Query(alias="_count", ge=0, le=MAX_COUNT)]
# Bounded: on PostgreSQL an OFFSET beyond a bigint is a database error, not an empty page.
OffsetQuery = Annotated[int | None, Query(alias="_offset", ge=0, le=MAX_OFFSET)]
# What each route needs of the token (SMART v2 scopes, DESIGN.md §2).
ReadsPatient = Annotated[Requester, authorized("Patient", "r")]
SearchesPatients = Annotated[Requester, authorized("Patient", "s")]
SearchesConsents = Annotated[Requester, authorized("Consent", "s")]
SearchesAuditEvents = Annotated[Requester, authorized("AuditEvent", "s")]
SearchesReports = Annotated[Requester, authorized("DiagnosticReport", "s")]
SearchesObservations = Annotated[Requester, authorized("Observation", "s")]
ReadsObservation = Annotated[Requester, authorized("Observation", "r")]
IdentifierQuery = Annotated[
    str | None, Query(description="A national identifier as system|value", max_length=512)
]
# FHIR R4 ``id`` (datatypes.html#id): what is not one names nothing here, and never reaches
# the database (a NUL, quotes, slashes, look-alike letters).
_ID = r"[A-Za-z0-9\-\.]{1,64}"
_FHIR_ID = re.compile(_ID)
FHIR_ID = f"^{_ID}$"
PatientId = Annotated[str, Path(pattern=FHIR_ID)]
ObservationId = Annotated[str, Path(pattern=FHIR_ID)]
# Printable text only: identifiers are looked up, and reach the audit log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@router.get("/metadata", summary="CapabilityStatement (public)")
async def metadata(found: ServicesDep) -> FHIRBody:
    return FHIRBody(found.capability)


@router.get("/Patient/$summary", summary="IPS document for the patient with this identifier")
async def summary_by_identifier(
    found: ServicesDep, who: ReadsPatient, identifier: IdentifierQuery = None
) -> SignedFHIRBody:
    if identifier is None:
        raise BadRequest("$summary at type level needs identifier=system|value")
    signed = await found.federation.summary(parse_identifier(identifier), who)
    return SignedFHIRBody(signed.body)


@router.get("/Patient/{patient_id}/$summary", summary="IPS document for a stored patient")
async def summary(found: ServicesDep, who: ReadsPatient, patient_id: PatientId) -> SignedFHIRBody:
    return SignedFHIRBody((await found.summaries.summary(patient_id, who)).body)


@router.get("/Patient/{patient_id}", summary="Read a Patient")
async def read_patient(found: ServicesDep, who: ReadsPatient, patient_id: PatientId) -> FHIRBody:
    return FHIRBody(await found.summaries.patient(patient_id, who))


@router.get("/Patient", summary="Search Patients by identifier or id")
async def search_patients(
    request: Request,
    found: ServicesDep,
    who: SearchesPatients,
    identifier: IdentifierQuery = None,
    id_: Annotated[str | None, Query(alias="_id", pattern=FHIR_ID)] = None,
) -> FHIRBody:
    if identifier is None and id_ is None:
        raise BadRequest("search Patients by identifier=system|value or _id")
    parsed = parse_identifier(identifier) if identifier is not None else None
    matches = await found.summaries.search(parsed, id_, who)
    base = found.settings.public_base_url
    self_link = f"{base}{request.url.path}?{request.url.query}"
    return FHIRBody(searchset(base, matches, self_link, total=len(matches)))


def parse_identifier(token: str) -> Identifier:
    """A FHIR token ``system|value``; both parts are needed (systems are national)."""
    system, bar, value = token.partition("|")
    if not bar or not system.strip() or not value.strip():
        raise BadRequest("identifier must be system|value, both parts given")
    if _CONTROL.search(token):
        raise BadRequest("identifier must be printable text")
    return Identifier(system.strip(), value.strip())


@router.get("/Consent", summary="A patient's consent directives")
async def search_consents(
    request: Request,
    found: ServicesDep,
    who: SearchesConsents,
    patient: Annotated[str, Query(description="Patient/{id}", max_length=128)],
) -> FHIRBody:
    consents = await found.consent.consents(_patient_of(patient), who)
    base = found.settings.public_base_url
    self_link = f"{base}{request.url.path}?{request.url.query}"
    return FHIRBody(searchset(base, consents, self_link, total=len(consents)))


@router.get("/AuditEvent", summary="Who accessed a patient's data, when (EHDS Art. 9)")
async def search_audit_events(
    request: Request,
    found: ServicesDep,
    _who: SearchesAuditEvents,
    patient: Annotated[str, Query(description="Patient/{id}", max_length=128)],
    count: CountQuery = None,
    offset: OffsetQuery = None,
) -> FHIRBody:
    size, start = _window(count, offset)
    events, total = await found.audit.events(_patient_of(patient), start, size)
    return FHIRBody(_page(request, found, events, total, size, start))


# --- genomics: the patient's genomic reports and their Observations ----------------------------

SubjectQuery = Annotated[str, Query(description="Patient/{id}", max_length=128)]


@router.get("/DiagnosticReport", summary="Search a patient's genomic reports")
async def search_reports(
    request: Request,
    found: ServicesDep,
    who: SearchesReports,
    subject: SubjectQuery,
    category: Annotated[str | None, Query(max_length=128)] = None,
    count: CountQuery = None,
    offset: OffsetQuery = None,
) -> FHIRBody:
    patient_id = _patient_of(subject)
    size, start = _window(count, offset)
    reports = (
        [] if not _is_genomics(category) else await found.genomics.search_reports(patient_id, who)
    )
    return FHIRBody(_page(request, found, reports[start : start + size], len(reports), size, start))


@router.get("/Observation", summary="Search the Observations of a patient's genomic reports")
async def search_observations(
    request: Request,
    found: ServicesDep,
    who: SearchesObservations,
    subject: SubjectQuery,
    code: Annotated[str | None, Query(max_length=128)] = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    count: CountQuery = None,
    offset: OffsetQuery = None,
) -> FHIRBody:
    patient_id = _patient_of(subject)
    size, start = _window(count, offset)
    if category is not None and not _is_genomics(category) and category != "laboratory":
        return FHIRBody(_page(request, found, [], 0, size, start))
    wanted = code.rpartition("|")[2] if code else None
    items, total = await found.genomics.observations(patient_id, wanted, size, start, who)
    return FHIRBody(_page(request, found, items, total, size, start))


@router.get("/Observation/{observation_id}", summary="Read a genomic Observation")
async def read_observation(
    found: ServicesDep, who: ReadsObservation, observation_id: ObservationId
) -> FHIRBody:
    return FHIRBody(await found.genomics.observation(observation_id, who))


def _window(count: int | None, offset: int | None) -> tuple[int, int]:
    """Page size and start; the Query bounds already refused what is out of range."""
    return (DEFAULT_COUNT if count is None else count), (offset or 0)


def _patient_of(subject: str) -> str:
    kind, _, patient_id = subject.rpartition("/")
    if kind.rpartition("/")[2] != "Patient" or not _FHIR_ID.fullmatch(patient_id):
        raise BadRequest("subject must be Patient/{id}")
    return patient_id


def _is_genomics(category: str | None) -> bool:
    # A token: GE, or system|GE with the v2-0074 system.
    return category is None or category.rpartition("|")[2] == "GE"


def _page(
    request: Request, found: Services, items: list[Json], total: int, size: int, start: int
) -> Json:
    base = found.settings.public_base_url
    query = dict(request.query_params)
    link = f"{base}{request.url.path}?{urlencode(query)}"
    bundle = searchset(base, items, link, total=total)
    if start + size < total:
        following = {**query, "_offset": str(start + size), "_count": str(size)}
        bundle["link"].append(
            {"relation": "next", "url": f"{base}{request.url.path}?{urlencode(following)}"}
        )
    return bundle
