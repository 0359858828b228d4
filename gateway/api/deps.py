"""Request-scoped dependencies: the services built in the lifespan, and parsed queries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.beacon.requests import BeaconRequest, parse_get, parse_post
from gateway.domain.access import CallerAccess
from gateway.domain.json_keys import unique_keys
from gateway.errors import BadBeaconQuery, TooLarge, Unauthorized
from gateway.fhir.datatypes import Json
from gateway.services.audit import AuditService
from gateway.services.beacon_access import BeaconAccessService, BeaconCaller
from gateway.services.beacon_network import BeaconNetwork, PeerQuery
from gateway.services.beacon_query import BeaconService
from gateway.services.consent import ConsentService
from gateway.services.federation import FederatedSummaries
from gateway.services.genomic_reports import GenomicReportService
from gateway.services.health import HealthService
from gateway.services.keys import KeyService
from gateway.services.oauth import OAuthService
from gateway.services.records import RecordService
from gateway.services.summaries import SummaryService
from gateway.settings import Settings

MAX_QUERY_BODY = 1 << 20
MAX_JSON_DEPTH = 32  # a Beacon query needs 5 levels


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the routes need, built once per app in the lifespan."""

    settings: Settings
    beacon: BeaconService
    beacon_access: BeaconAccessService
    beacon_network: BeaconNetwork
    health: HealthService
    records: RecordService
    summaries: SummaryService
    federation: FederatedSummaries
    genomics: GenomicReportService
    consent: ConsentService
    keys: KeyService
    oauth: OAuthService
    audit: AuditService
    capability: Json


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


# The Beacon dependencies read app.state directly rather than through ``services``: each
# level of dependency costs measurable time on the hottest route.
async def beacon_service(request: Request) -> BeaconService:
    found: Services = request.app.state.services
    return found.beacon


async def beacon_request(request: Request) -> BeaconRequest:
    limit = request.app.state.services.settings.beacon_max_limit
    if request.method == "GET":
        return parse_get(request.query_params.multi_items(), max_limit=limit)
    return parse_post(await _query_body(request), max_limit=limit)


@dataclass(frozen=True, slots=True)
class NetworkRequest:
    """A Beacon network query: parsed here, and as it was sent, to be sent on to the peers."""

    request: BeaconRequest
    sent: PeerQuery


async def network_request(request: Request) -> NetworkRequest:
    limit = request.app.state.services.settings.beacon_max_limit
    if request.method == "GET":
        pairs = request.query_params.multi_items()
        return NetworkRequest(parse_get(pairs, max_limit=limit), PeerQuery("GET", tuple(pairs)))
    body = await _query_body(request)
    return NetworkRequest(parse_post(body, max_limit=limit), PeerQuery("POST", body=body))


async def _query_body(request: Request) -> object:
    body = await bounded_body(request, MAX_QUERY_BODY)
    if not body.strip():
        return {}
    try:
        return strict_json(body)
    except ValueError as exc:
        raise BadBeaconQuery(f"request body: {exc}") from None


def strict_json(body: bytes) -> object:
    """``body`` parsed as JSON, refusing what a lenient parser lets through: duplicate keys
    (which one wins differs between parsers), nesting deeper than ``MAX_JSON_DEPTH``, and
    NUL characters in keys or strings.

    :raises ValueError: says which, never quoting the body (it may carry identifiers).
    """
    try:
        decoded: object = json.loads(body.decode("utf-8"), object_pairs_hook=unique_keys)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({str(exc).split(':')[0]})") from None
    _check_tree(decoded)
    return decoded


def _check_tree(decoded: object) -> None:
    pending: list[tuple[object, int]] = [(decoded, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("a NUL character in a string")
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


async def bounded_body(request: Request, limit: int) -> bytes:
    """The body, read no further than ``limit`` bytes (a huge body is refused while it
    streams in, not after it has been buffered)."""
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def beacon_access(request: Request) -> CallerAccess:
    """What the caller's passport allows (anonymous without one); for routes that only
    describe datasets and spend no query budget."""
    return (await _beacon_caller(request)).access


async def budgeted_beacon_access(request: Request) -> CallerAccess:
    """The same, for query routes: each call spends one unit of the caller's budget."""
    return (await budgeted_beacon_caller(request)).access


async def budgeted_beacon_caller(request: Request) -> BeaconCaller:
    """The caller itself (its passport, its address), one unit of its budget spent: a Beacon
    network query costs one query, however many peers it goes to."""
    caller = await _beacon_caller(request)
    found: Services = request.app.state.services
    await found.beacon_access.spend(caller)  # QueryBudgetExhausted carries its Retry-After
    return caller


async def _beacon_caller(request: Request) -> BeaconCaller:
    found: Services = request.app.state.services
    address = request.client.host if request.client else "unknown"
    try:
        return await found.beacon_access.caller(request.headers.get("authorization"), address)
    except Unauthorized as exc:
        # RFC 6750: a bearer token that is not valid is named in the challenge.
        raise Unauthorized(exc.message, 'Bearer error="invalid_token"') from None


async def beacon_network(request: Request) -> BeaconNetwork:
    found: Services = request.app.state.services
    return found.beacon_network


BeaconDep = Annotated[BeaconService, Depends(beacon_service)]
NetworkDep = Annotated[BeaconNetwork, Depends(beacon_network)]
NetworkQuery = Annotated[NetworkRequest, Depends(network_request)]
BudgetedCaller = Annotated[BeaconCaller, Depends(budgeted_beacon_caller)]
BeaconQuery = Annotated[BeaconRequest, Depends(beacon_request)]
BeaconAccess = Annotated[CallerAccess, Depends(beacon_access)]
BudgetedAccess = Annotated[CallerAccess, Depends(budgeted_beacon_access)]
