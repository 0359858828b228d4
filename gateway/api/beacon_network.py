"""The Beacon network under ``/beacon-network``: the ``/beacon`` query routes, answered by
every member state of the trust list together (DESIGN.md §2). Each route parses the query as
``/beacon`` does, keeps it as it was sent for the peers, calls the network service, renders.

A network query spends one unit of the caller's query budget, however many peers it reaches.
"""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.beacon import query_route
from gateway.api.deps import BudgetedCaller, NetworkDep, NetworkQuery
from gateway.api.rendering import JSONBody

router = APIRouter(prefix="/beacon-network", tags=["beacon-network"])


@router.get("", summary="Beacon network information", include_in_schema=False)
@router.get("/", summary="Beacon network information")
@router.get("/info", summary="Beacon network information: each member and its status")
async def network_info(network: NetworkDep) -> JSONBody:
    return JSONBody(await network.info())


@query_route("/g_variants", "Genomic variant query across member states", on=router)
async def network_g_variants(
    caller: BudgetedCaller, query: NetworkQuery, network: NetworkDep
) -> JSONBody:
    return JSONBody(await network.variants(query.request, query.sent, caller))


@query_route("/g_variants/{variant_id}", "One genomic variant across member states", on=router)
async def network_g_variant(
    variant_id: str, caller: BudgetedCaller, query: NetworkQuery, network: NetworkDep
) -> JSONBody:
    return JSONBody(await network.variants(query.request, query.sent, caller, variant_id))


@query_route("/individuals", "Individual query across member states", on=router)
async def network_individuals(
    caller: BudgetedCaller, query: NetworkQuery, network: NetworkDep
) -> JSONBody:
    return JSONBody(await network.individuals(query.request, query.sent, caller))
