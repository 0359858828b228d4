"""The Beacon network service with its edges replaced: the local Beacon is a stand-in that
answers a fixed count (or refuses, fails, hangs), the peer is an ``httpx.MockTransport``, the
audit log a list. Whatever a peer sends, it becomes a member's part or a named missing
member; nothing it sends raises. The real gateways meet in ``tests/api/test_beacon_network.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import pytest

from gateway.auth.keys import load_signing_identity
from gateway.auth.pki import init_pki
from gateway.beacon.framework import BeaconDescription
from gateway.beacon.records import returned_schema
from gateway.beacon.requests import BeaconRequest, parse_get, parse_post
from gateway.beacon.responses import API_VERSION, Count, ResponseContext, count_response
from gateway.domain.access import ANONYMOUS, CallerAccess
from gateway.domain.granularity import Granularity, SecurityLevel
from gateway.errors import BadBeaconQuery, GatewayError, Unavailable
from gateway.federation.peers import OwnCredentials, PeerClient
from gateway.federation.trust_list import Peer, TrustList
from gateway.services.audit import AuditService
from gateway.services.beacon_access import BeaconCaller
from gateway.services.beacon_network import BeaconNetwork, NetworkOptions, PeerQuery
from gateway.services.beacon_query import BeaconService, Scope
from gateway.services.peer_beacons import NO_CLIENT

TIMEOUT = 0.5
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    init_pki(folder, ["DE"])
    return folder


def counted(country: str, value: int) -> dict[str, Any]:
    context = ResponseContext(
        beacon_id=f"eu.ehds.gateway.{country.lower()}",
        api_version=API_VERSION,
        returned_schemas=(returned_schema("individual"),),
        received_summary=parse_get({}, max_limit=100).summary(Granularity.COUNT),
    )
    return count_response(context, exists=value > 0, count=Count(value, 0))


class Local:
    """This gateway's own Beacon: 3 individuals, or what ``outcome`` makes of the query."""

    def __init__(self) -> None:
        self.outcome: GatewayError | float | None = None  # raise it, or sleep that long

    async def individuals(
        self, request: BeaconRequest, scope: Scope, access: CallerAccess
    ) -> dict[str, object]:
        if isinstance(self.outcome, GatewayError):
            raise self.outcome
        if isinstance(self.outcome, float):
            await asyncio.sleep(self.outcome)
        return counted("DE", 3)


class Audit:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def record(self, interaction: str, outcome: str, **fields: Any) -> None:
        self.records.append({"interaction": interaction, "outcome": outcome, **fields})


class Network:
    """DE's network service with FR as its one peer; ``answer`` is FR's handler."""

    def __init__(self, pki: Path, *, with_client: bool = True) -> None:
        self.local = Local()
        self.audit = Audit()
        self.seen: list[httpx.Request] = []
        self.answer: Handler = lambda request: httpx.Response(200, json=counted("FR", 4))
        self.client = _client(pki, self._handle) if with_client else None
        peer = Peer("FR", "https://fr.test", pki / "ca.pem", (), {"keys": []})
        description = BeaconDescription(
            beacon_id="eu.ehds.gateway.de.network",
            name="network",
            country="DE",
            base_url="https://de.test/beacon-network",
            version="1",
            environment="dev",
            organization_name="DE",
            default_granularity=Granularity.COUNT,
            security_levels=tuple(SecurityLevel),
        )
        self.service = BeaconNetwork(
            cast(BeaconService, self.local),
            "DE",
            TrustList((peer,)),
            self.client,
            cast(AuditService, self.audit),
            NetworkOptions(description, small_count_floor=0, timeout=TIMEOUT),
        )

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = self.answer(request)
        if response.status_code == 599:  # the test's way of saying: never answers
            await asyncio.sleep(30)
        return response

    def ask(
        self, sent: PeerQuery | None = None, caller: BeaconCaller | None = None
    ) -> dict[str, Any]:
        sent = sent or PeerQuery("GET")
        caller = caller or BeaconCaller(ANONYMOUS, "192.0.2.1")
        request = (
            parse_get(sent.params, max_limit=100)
            if sent.method == "GET"
            else parse_post(sent.body, max_limit=100)
        )

        async def run() -> dict[str, Any]:
            try:
                return await self.service.individuals(request, sent, caller)
            finally:
                if self.client is not None:
                    await self.client.aclose()

        return asyncio.run(run())


def _client(pki: Path, handle: Callable[[httpx.Request], Any]) -> PeerClient:
    own = OwnCredentials.of(pki, "DE", load_signing_identity(pki, "DE"))
    return PeerClient(own, timeout=5.0, max_bytes=1 << 20, transport=httpx.MockTransport(handle))


def members(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {member["country"]: member for member in body["info"]["members"]}


@pytest.fixture
def network(pki: Path) -> Network:
    return Network(pki)


# --- what is sent ---------------------------------------------------------------------


def test_get_parameters_go_on_in_order_with_this_gateways_page_size() -> None:
    sent = PeerQuery("GET", (("filters", "NCIT:C16576"), ("limit", "0"), ("filters", "X:1")))
    assert sent.paged(25) == PeerQuery(
        "GET", (("filters", "NCIT:C16576"), ("filters", "X:1"), ("limit", "25"))
    )


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ({}, {"pagination": {"limit": 25}}),
        (
            {"query": {"pagination": {"skip": 2, "limit": 0}}},
            {"pagination": {"skip": 2, "limit": 25}},
        ),
        (
            {"meta": {"apiVersion": "v2.0"}, "query": {"filters": [{"id": "NCIT:C16576"}]}},
            {"filters": [{"id": "NCIT:C16576"}], "pagination": {"limit": 25}},
        ),
    ],
)
def test_a_post_body_goes_on_with_this_gateways_page_size(
    body: dict[str, Any], query: dict[str, Any]
) -> None:
    before = orjson.dumps(body)
    paged = PeerQuery("POST", body=body).paged(25)
    assert paged.body == {**body, "query": query}
    assert orjson.dumps(body) == before  # the caller's body is not changed


def test_the_passport_goes_to_the_peer_as_it_came(network: Network) -> None:
    caller = BeaconCaller(ANONYMOUS, "192.0.2.1", holder="abc", passport="eyJ.pass.port")
    network.ask(PeerQuery("GET", (("limit", "3"),)), caller)
    (request,) = network.seen
    assert request.headers["authorization"] == "Bearer eyJ.pass.port"
    assert str(request.url) == "https://fr.test/beacon/individuals?limit=3"


# --- what comes back ------------------------------------------------------------------


def test_the_parts_are_combined_and_the_query_audited_once(network: Network) -> None:
    body = network.ask()
    assert body["responseSummary"]["numTotalResults"] == 7
    assert body["info"] == {
        "members": [
            {
                "country": country,
                "status": "answered",
                "beaconId": f"eu.ehds.gateway.{country.lower()}",
                "returnedGranularity": "count",
            }
            for country in ("DE", "FR")
        ],
        "partial": False,
    }
    assert network.audit.records == [
        {
            "interaction": "search-type",
            "outcome": "success",
            "agent": "Beacon caller at 192.0.2.1",
            "description": "Beacon network individuals query; answered: DE, FR",
        }
    ]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(500, text="<h1>oops</h1>"), "HTTP 500, not JSON"),
        (httpx.Response(200, text="<h1>hello</h1>"), "HTTP 200, not JSON"),
        (httpx.Response(502, json={"detail": "bad gateway"}), "HTTP 502"),
        (
            httpx.Response(401, json={"error": {"errorCode": 401, "errorMessage": "no broker"}}),
            "Beacon error 401: no broker",
        ),
        (httpx.Response(200, json=[1, 2]), "invalid response: the document must be"),
        (httpx.Response(200, json={"meta": {}}), "invalid response: meta.returnedGranularity"),
        (httpx.Response(599), f"timeout: no answer within {TIMEOUT:g} s"),
    ],
)
def test_whatever_a_peer_sends_it_is_a_part_or_a_named_missing_member(
    network: Network, answer: httpx.Response, reason: str
) -> None:
    network.answer = lambda request: answer
    body = network.ask()
    fr = members(body)["FR"]
    assert fr["status"] == "missing"
    assert fr["reason"].startswith(reason)
    assert body["info"]["partial"] is True
    assert body["responseSummary"]["numTotalResults"] == 3  # DE's part only
    assert network.audit.records[0]["description"].endswith(f"missing: FR ({fr['reason']})")


def test_a_query_refused_here_is_refused_and_no_peer_is_asked(network: Network) -> None:
    network.local.outcome = BadBeaconQuery("individuals take filters, not variant parameters")
    with pytest.raises(BadBeaconQuery):
        network.ask()
    assert network.seen == []
    assert network.audit.records == []


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (Unavailable("database unavailable"), "database unavailable"),
        (TIMEOUT * 4, f"timeout: no answer within {TIMEOUT:g} s"),
    ],
)
def test_this_gateways_own_store_failing_leaves_the_peers_answer(
    network: Network, outcome: GatewayError | float, reason: str
) -> None:
    network.local.outcome = outcome
    body = network.ask()
    assert members(body)["DE"] == {"country": "DE", "status": "missing", "reason": reason}
    assert body["responseSummary"]["numTotalResults"] == 4


def test_without_a_client_certificate_the_peers_are_missing(pki: Path) -> None:
    network = Network(pki, with_client=False)
    body = network.ask()
    assert members(body)["FR"] == {"country": "FR", "status": "missing", "reason": NO_CLIENT}
    assert body["responseSummary"]["numTotalResults"] == 3
