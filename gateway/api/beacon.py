"""GA4GH Beacon v2 routes under ``/beacon``: each parses, calls the Beacon service, renders.

Informational documents are built once per app (they only change with configuration). Query
routes read the caller's passport (``Authorization: Bearer``) before the query, and spend one
unit of its query budget; the informational routes do neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from gateway.api import beacon_openapi
from gateway.api.deps import BeaconAccess, BeaconDep, BeaconQuery, BudgetedAccess, ServicesDep
from gateway.api.rendering import JSONBody
from gateway.services.beacon_query import Scope

router = APIRouter(prefix="/beacon", tags=["beacon"])

Endpoint = Callable[..., Awaitable[JSONBody]]


def query_route(path: str, summary: str, on: APIRouter = router) -> Callable[[Endpoint], Endpoint]:
    """Register a Beacon query endpoint for GET (URL parameters) and POST (request body),
    each with its own OpenAPI operation, on ``router`` unless another is named."""
    extras = {
        "GET": beacon_openapi.parameters(variant=path.endswith("/g_variants")),
        "POST": beacon_openapi.request_body(),
    }

    def register(endpoint: Endpoint) -> Endpoint:
        for method in ("GET", "POST"):
            on.add_api_route(
                path,
                endpoint,
                methods=[method],
                summary=summary,
                operation_id=f"{endpoint.__name__}_{method.lower()}",
                openapi_extra=extras[method],
            )
        return endpoint

    return register


@router.get("", summary="Beacon information", include_in_schema=False)
@router.get("/", summary="Beacon information")
@router.get("/info", summary="Beacon information")
async def info(found: ServicesDep) -> JSONBody:
    return JSONBody(found.beacon.document("info"))


@router.get("/service-info", summary="GA4GH service-info")
async def service_info(found: ServicesDep) -> JSONBody:
    return JSONBody(found.beacon.document("service-info"))


@router.get("/configuration", summary="Beacon configuration")
async def configuration(found: ServicesDep) -> JSONBody:
    return JSONBody(found.beacon.document("configuration"))


@router.get("/map", summary="Beacon map of endpoints")
async def beacon_map(found: ServicesDep) -> JSONBody:
    return JSONBody(found.beacon.document("map"))


@router.get("/entry_types", summary="Entry types")
async def entry_types(found: ServicesDep) -> JSONBody:
    return JSONBody(found.beacon.document("entry_types"))


@router.get("/filtering_terms", summary="Filtering terms")
@router.get("/individuals/filtering_terms", summary="Filtering terms for individuals")
async def filtering_terms(found: ServicesDep) -> JSONBody:
    return JSONBody(found.beacon.document("filtering_terms"))


@router.get("/datasets/{dataset}/filtering_terms", summary="Filtering terms of a dataset")
async def dataset_filtering_terms(
    dataset: str, access: BeaconAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    await service.datasets(query, Scope(dataset=dataset), access)  # 404: unknown or hidden
    return JSONBody(service.document("filtering_terms"))


@query_route("/g_variants", "Genomic variant query")
async def g_variants(access: BudgetedAccess, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(), access))


@query_route("/g_variants/{variant_id}", "One genomic variant")
async def g_variant(
    variant_id: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(variant_id=variant_id), access))


@query_route("/g_variants/{variant_id}/individuals", "Individuals carrying a variant")
async def g_variant_individuals(
    variant_id: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(variant_id=variant_id), access))


@query_route("/individuals", "Individual query")
async def individuals(access: BudgetedAccess, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(), access))


@query_route("/individuals/{individual_id}", "One individual")
async def individual(
    individual_id: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(individual_id=individual_id), access))


@query_route("/individuals/{individual_id}/g_variants", "Variants an individual carries")
async def individual_variants(
    individual_id: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(individual_id=individual_id), access))


@query_route("/datasets", "Datasets")
async def datasets(access: BudgetedAccess, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.datasets(query, Scope(), access))


@query_route("/datasets/{dataset}", "One dataset")
async def dataset(
    dataset: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.datasets(query, Scope(dataset=dataset), access))


@query_route("/datasets/{dataset}/g_variants", "Variants of a dataset")
async def dataset_variants(
    dataset: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(dataset=dataset), access))


@query_route("/datasets/{dataset}/individuals", "Individuals of a dataset")
async def dataset_individuals(
    dataset: str, access: BudgetedAccess, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(dataset=dataset), access))
