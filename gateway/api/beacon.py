"""GA4GH Beacon v2 routes under ``/beacon``: each parses, calls the Beacon service, renders.

Informational documents are built once per app (they only change with configuration).
"""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import BeaconDep, BeaconQuery, ServicesDep
from gateway.api.rendering import JSONBody
from gateway.services.beacon_query import Scope

router = APIRouter(prefix="/beacon", tags=["beacon"])

QUERY = ["GET", "POST"]


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
async def dataset_filtering_terms(dataset: str, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    await service.datasets(query, Scope(dataset=dataset))  # 404 for unknown or hidden ones
    return JSONBody(service.document("filtering_terms"))


@router.api_route("/g_variants", methods=QUERY, summary="Genomic variant query")
async def g_variants(query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.variants(query))


@router.api_route("/g_variants/{variant_id}", methods=QUERY, summary="One genomic variant")
async def g_variant(variant_id: str, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(variant_id=variant_id)))


@router.api_route(
    "/g_variants/{variant_id}/individuals", methods=QUERY, summary="Individuals carrying a variant"
)
async def g_variant_individuals(
    variant_id: str, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(variant_id=variant_id)))


@router.api_route("/individuals", methods=QUERY, summary="Individual query")
async def individuals(query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.individuals(query))


@router.api_route("/individuals/{individual_id}", methods=QUERY, summary="One individual")
async def individual(individual_id: str, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(individual_id=individual_id)))


@router.api_route(
    "/individuals/{individual_id}/g_variants",
    methods=QUERY,
    summary="Variants an individual carries",
)
async def individual_variants(
    individual_id: str, query: BeaconQuery, service: BeaconDep
) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(individual_id=individual_id)))


@router.api_route("/datasets", methods=QUERY, summary="Datasets")
async def datasets(query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.datasets(query))


@router.api_route("/datasets/{dataset}", methods=QUERY, summary="One dataset")
async def dataset(dataset: str, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.datasets(query, Scope(dataset=dataset)))


@router.api_route("/datasets/{dataset}/g_variants", methods=QUERY, summary="Variants of a dataset")
async def dataset_variants(dataset: str, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.variants(query, Scope(dataset=dataset)))


@router.api_route(
    "/datasets/{dataset}/individuals", methods=QUERY, summary="Individuals of a dataset"
)
async def dataset_individuals(dataset: str, query: BeaconQuery, service: BeaconDep) -> JSONBody:
    return JSONBody(await service.individuals(query, Scope(dataset=dataset)))
