"""The Beacon network between real gateways: DE (this test's gateway, on the back end under
test) asks FR and IT, each a real gateway over mutual TLS with its own SQLite store, and
combines their answers with its own.

DE and FR hold the standard datasets (``cohort``, ``reference``, ``secret``); FR also holds
``registry`` (REGISTERED). IT holds ``reference`` and ``rare``. DE and FR trust the passport
broker; IT trusts none, so it refuses any passport. Every network answer is compared with
what each member's own ``/beacon`` answers to the same query.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.keys import CLIENT_CERT, CLIENT_KEY, public_jwks
from gateway.auth.pki import init_pki
from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity, SecurityLevel
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.api.conftest import SMALL_VCF, STANDARD_JOBS
from tests.support.attacks import audit_events
from tests.support.beacon_schema import ERROR, RESPONSE_SCHEMAS, assert_valid
from tests.support.passports import (
    BROKER_URL,
    Issuer,
    passport_token,
    registered_visas,
    write_brokers,
)
from tests.support.stores import load
from tests.support.tls_server import free_port, silent_tls_server, tls_server

pytestmark = pytest.mark.usefixtures("shared")

TIMEOUT = 2.0  # GATEWAY_BEACON_NETWORK_TIMEOUT of DE in these tests
PEERS = ("FR", "IT")
REGISTRY = VcfIngest(
    SMALL_VCF,
    "registry",
    policy=PolicyChange(
        security_level=SecurityLevel.REGISTERED, max_granularity=Granularity.RECORD
    ),
)
JOBS = {
    "DE": STANDARD_JOBS,
    "FR": (*STANDARD_JOBS, REGISTRY),
    "IT": (VcfIngest(SMALL_VCF, "reference"), VcfIngest(SMALL_VCF, "rare")),
}
SNV = {"referenceName": "1", "start": "1999", "alternateBases": "T"}


@dataclass
class Federation:
    pki: Path
    members: dict[str, Settings]  # DE first

    @property
    def de(self) -> Settings:
        return self.members["DE"]

    def port(self, country: str) -> int:
        return int(self.members[country].public_base_url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def broker() -> Issuer:
    return Issuer.rsa(BROKER_URL, "broker-1")


def trust_list(path: Path, pki: Path, urls: dict[str, str]) -> Path:
    entries = [
        {"country": c, "base_url": u, "ca_cert": str(pki / "ca.pem"), "jwks": public_jwks(pki, c)}
        for c, u in urls.items()
    ]
    path.write_text(yaml.safe_dump(entries))
    return path


@pytest.fixture
def federation(settings: Settings, tmp_path: Path, broker: Issuer) -> Federation:
    pki = tmp_path / "pki"
    init_pki(pki, ["DE", *PEERS])
    urls = {"DE": "https://de.test", **{c: f"https://127.0.0.1:{free_port()}" for c in PEERS}}
    brokers = write_brokers(tmp_path, broker)
    members: dict[str, Settings] = {}
    for country in ("DE", *PEERS):
        others = {c: url for c, url in urls.items() if c != country}
        update: dict[str, Any] = {
            "country": country,
            "pki_dir": pki,
            "trust_list": trust_list(tmp_path / f"{country}.yaml", pki, others),
            "passport_brokers": None if country == "IT" else brokers,
        }
        if country == "DE":
            update["beacon_network_timeout"] = TIMEOUT
        else:
            update["base_url"] = urls[country]
            update["database_url"] = f"sqlite+aiosqlite:///{tmp_path / country}.db"
        members[country] = settings.model_copy(update=update)
        asyncio.run(load(members[country], *JOBS[country]))
    return Federation(pki, members)


@contextmanager
def serving(federation: Federation, *up: str, hanging: str | None = None) -> Iterator[TestClient]:
    """DE's gateway with the peers ``up`` serving and ``hanging`` silent; the others down."""
    with ExitStack() as stack:
        for country in up:
            app = create_app(federation.members[country])
            stack.enter_context(tls_server(app, federation.port(country), federation.pki, country))
        if hanging:
            port = federation.port(hanging)
            stack.enter_context(silent_tls_server(port, federation.pki, hanging))
        yield stack.enter_context(TestClient(create_app(federation.de)))


@pytest.fixture
def de(federation: Federation) -> Iterator[TestClient]:
    with serving(federation, *PEERS) as client:
        yield client


def own_answer(
    federation: Federation, de: TestClient, country: str, method: str, path: str, **request: Any
) -> dict[str, Any]:
    """What ``country``'s own ``/beacon`` answers (a peer asked directly, over mutual TLS)."""
    response: Any
    if country == "DE":
        response = de.request(method, f"/beacon{path}", **request)
    else:
        tls = ssl.create_default_context(cafile=str(federation.pki / "ca.pem"))
        tls.load_cert_chain(federation.pki / "DE" / CLIENT_CERT, federation.pki / "DE" / CLIENT_KEY)
        base = federation.members[country].public_base_url
        with httpx.Client(base_url=base, verify=tls) as client:
            response = client.request(method, f"/beacon{path}", **request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def network(de: TestClient, method: str, path: str, **request: Any) -> dict[str, Any]:
    response = de.request(method, f"/beacon-network{path}", **request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_valid(body, RESPONSE_SCHEMAS[body["meta"]["returnedGranularity"]])
    return body


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {member["country"]: member["status"] for member in body["info"]["members"]}


def reasons(body: dict[str, Any]) -> dict[str, str]:
    return {m["country"]: m["reason"] for m in body["info"]["members"] if "reason" in m}


def total(body: dict[str, Any]) -> int:
    value: int = body["responseSummary"]["numTotalResults"]
    return value


def post_body(granularity: str, **parameters: Any) -> dict[str, Any]:
    return {
        "meta": {"apiVersion": "v2.0"},
        "query": {"requestParameters": parameters, "requestedGranularity": granularity},
    }


# --- combining --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "request_"),
    [
        ("GET", "/g_variants", {"params": SNV}),
        ("GET", "/g_variants", {"params": {"geneId": "BRCA2"}}),
        ("GET", "/g_variants/GRCh38-1-2000-C-T", {}),
        ("GET", "/individuals", {}),
        ("POST", "/individuals", {"json": post_body("count")}),
        (
            "POST",
            "/individuals",
            {
                "json": {
                    "query": {"filters": [{"id": "NCIT:C16576"}]},
                    "requestedGranularity": "count",
                }
            },
        ),
    ],
)
def test_counts_add_up_across_member_states(
    federation: Federation, de: TestClient, method: str, path: str, request_: dict[str, Any]
) -> None:
    body = network(de, method, path, **request_)
    assert statuses(body) == {"DE": "answered", "FR": "answered", "IT": "answered"}
    assert body["info"]["partial"] is False
    assert body["meta"]["beaconId"] == "eu.ehds.gateway.de.network"
    assert body["meta"]["returnedGranularity"] == "count"
    parts = [
        total(own_answer(federation, de, country, method, path, **request_))
        for country in ("DE", *PEERS)
    ]
    assert sum(parts) > max(parts), parts  # two members or more contribute to the sum
    assert total(body) == sum(parts)
    assert body["responseSummary"]["countPrecision"] == "exact"


def test_exists_is_true_when_any_member_has_it(federation: Federation, de: TestClient) -> None:
    rare = post_body("boolean", datasetIds=["rare"], **SNV)  # only IT holds "rare"
    answers = {
        country: own_answer(federation, de, country, "POST", "/g_variants", json=rare)
        for country in ("DE", *PEERS)
    }
    assert {c: a["responseSummary"]["exists"] for c, a in answers.items()} == {
        "DE": False,
        "FR": False,
        "IT": True,
    }
    body = network(de, "POST", "/g_variants", json=rare)
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert body["responseSummary"] == {"exists": True}
    nowhere = post_body("boolean", referenceName="1", start=["1999"], alternateBases="A")
    assert network(de, "POST", "/g_variants", json=nowhere)["responseSummary"] == {"exists": False}


def test_records_come_as_one_result_set_per_member_state(
    federation: Federation, de: TestClient
) -> None:
    query = post_body("record", datasetIds=["cohort"], **SNV)
    body = network(de, "POST", "/g_variants", json=query)
    assert body["meta"]["returnedGranularity"] == "record"
    sets = body["response"]["resultSets"]
    assert [s["id"] for s in sets] == ["DE:cohort", "FR:cohort"]  # IT has no cohort
    for result_set in sets:
        country = result_set["info"]["country"]
        (own,) = own_answer(federation, de, country, "POST", "/g_variants", json=query)["response"][
            "resultSets"
        ]
        assert result_set["info"] == {
            "country": country,
            "beaconId": f"eu.ehds.gateway.{country.lower()}",
            "datasetId": "cohort",
        }
        assert result_set["results"] == own["results"]
        assert result_set["resultsCount"] == own["resultsCount"]
    assert total(body) == sum(s["resultsCount"] for s in sets)


def test_the_page_is_this_gateways_at_every_member(federation: Federation) -> None:
    # DE's pages hold 2 records, FR's up to 1000: FR is asked for DE's page, not the 5 the
    # caller wanted, or its answer would not fit the combined page.
    federation.members["DE"] = federation.de.model_copy(update={"beacon_max_limit": 2})
    query = post_body("record", datasetIds=["cohort"])
    query["query"]["pagination"] = {"limit": 5}
    with serving(federation, *PEERS) as de:
        body = network(de, "POST", "/individuals", json=query)
    assert body["info"]["partial"] is False
    sets = body["response"]["resultSets"]
    assert {s["id"]: (len(s["results"]), s["resultsCount"]) for s in sets} == {
        "DE:cohort": (2, 4),
        "FR:cohort": (2, 4),
    }
    assert body["meta"]["receivedRequestSummary"]["pagination"] == {"skip": 0, "limit": 2}


# --- members that fail -------------------------------------------------------------------


def test_a_peer_that_is_down_leaves_a_partial_answer_naming_it(federation: Federation) -> None:
    with serving(federation, "FR") as de:  # nothing listens on IT's port
        started = time.monotonic()
        body = network(de, "GET", "/g_variants", params=SNV)
        assert time.monotonic() - started < TIMEOUT + 1
        assert statuses(body) == {"DE": "answered", "FR": "answered", "IT": "missing"}
        assert reasons(body) == {"IT": "unreachable (ConnectError)"}
        assert body["info"]["partial"] is True
        parts = [
            total(own_answer(federation, de, c, "GET", "/g_variants", params=SNV))
            for c in ("DE", "FR")
        ]
        assert total(body) == sum(parts)


def test_a_peer_that_hangs_is_missing_with_a_timeout_within_the_deadline(
    federation: Federation,
) -> None:
    with serving(federation, "FR", hanging="IT") as de:
        started = time.monotonic()
        body = network(de, "GET", "/individuals")
        elapsed = time.monotonic() - started
        assert TIMEOUT - 0.1 < elapsed < TIMEOUT + 1
        assert statuses(body) == {"DE": "answered", "FR": "answered", "IT": "missing"}
        assert reasons(body) == {"IT": f"timeout: no answer within {TIMEOUT:g} s"}
        assert body["info"]["partial"] is True


def test_every_peer_down_still_answers_from_here(federation: Federation) -> None:
    with serving(federation) as de:
        body = network(de, "GET", "/g_variants", params=SNV)
        assert statuses(body) == {"DE": "answered", "FR": "missing", "IT": "missing"}
        assert total(body) == total(
            own_answer(federation, de, "DE", "GET", "/g_variants", params=SNV)
        )


# --- the caller -------------------------------------------------------------------------


def test_the_callers_passport_is_forwarded_and_each_peer_judges_it(
    federation: Federation, de: TestClient, broker: Issuer
) -> None:
    registry = post_body("count", datasetIds=["registry"])
    anonymous = network(de, "POST", "/individuals", json=registry)
    assert statuses(anonymous) == {"DE": "answered", "FR": "answered", "IT": "answered"}
    assert anonymous["responseSummary"]["exists"] is False  # FR hides it from anonymous callers

    token = passport_token(broker, registered_visas(broker))
    headers = {"Authorization": f"Bearer {token}"}
    fr = own_answer(federation, de, "FR", "POST", "/individuals", json=registry, headers=headers)
    assert total(fr) == 6
    body = network(de, "POST", "/individuals", json=registry, headers=headers)
    assert total(body) == 6  # counted at FR, with the passport
    assert statuses(body) == {"DE": "answered", "FR": "answered", "IT": "missing"}
    assert reasons(body)["IT"].startswith("Beacon error 401:")  # IT trusts no broker


def test_a_bad_passport_is_refused_here_and_never_sent_on(de: TestClient) -> None:
    response = de.get("/beacon-network/individuals", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert_valid(response.json(), ERROR)


def test_one_query_spends_one_unit_of_the_budget(federation: Federation) -> None:
    federation.members["DE"] = federation.de.model_copy(update={"beacon_query_budget": 2})
    with serving(federation, *PEERS) as de:
        for _ in range(2):
            assert de.get("/beacon-network/individuals").status_code == 200
        refused = de.get("/beacon-network/individuals")
        assert refused.status_code == 429
        assert_valid(refused.json(), ERROR)


def test_each_network_query_leaves_one_audit_record(federation: Federation) -> None:
    with serving(federation, "FR") as de:
        network(de, "GET", "/g_variants", params=SNV)
    queries = [
        event
        for event in audit_events(federation.de)
        if event.get("subtype")
        == [{"system": "http://hl7.org/fhir/restful-interaction", "code": "search-type"}]
    ]
    assert len(queries) == 1
    (query,) = queries
    assert query["outcome"] == "0"
    assert query["outcomeDesc"] == (
        "Beacon network g_variants query; answered: DE, FR; "
        "missing: IT (unreachable (ConnectError))"
    )
    assert query["agent"][0]["who"]["display"].startswith("Beacon caller at ")


# --- bad input --------------------------------------------------------------------------


BAD = [
    ("GET", "/g_variants?start=abc", None),
    ("GET", "/g_variants?referenceName=1&start=10&end=5", None),
    ("GET", "/g_variants?requestedGranularity=record", None),
    ("GET", "/g_variants?referenceName=1&start=1&alternateBases=A&assemblyId=hg17", None),
    ("GET", "/g_variants?filters=HP:0000118", None),
    ("GET", "/g_variants?skip=-1", None),
    ("GET", "/individuals?referenceName=1&start=1&alternateBases=A", None),
    ("GET", "/g_variants?skip=99999999999999999999999", None),
    ("GET", "/g_variants?datasetIds=%00", None),
    ("GET", "/g_variants/GRCh38-1%00", None),
    ("GET", "/g_variants?unknown=1", None),
    ("POST", "/g_variants", b"{not json"),
    ("POST", "/g_variants", b"[1, 2]"),
    ("POST", "/g_variants", b'{"query": {"requestedGranularity": "everything"}}'),
    ("POST", "/individuals", b'{"query": {"filters": [{"id": "NCIT:C16576", "operator": "~"}]}}'),
    ("POST", "/individuals", b"x" * (1 << 21)),
]


def test_bad_input_is_refused_as_beacon_refuses_it(de: TestClient) -> None:
    for method, path, payload in BAD:
        here = de.request(method, f"/beacon{path}", content=payload)
        response = de.request(method, f"/beacon-network{path}", content=payload)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.status_code == here.status_code, path
        body = response.json()
        assert_valid(body, ERROR)
        assert body["error"]["errorCode"] == response.status_code
        assert "Traceback" not in response.text


# --- info -------------------------------------------------------------------------------


def test_info_lists_every_member_with_its_beacons_map_and_configuration(
    federation: Federation,
) -> None:
    with serving(federation, "FR") as de:
        response = de.get("/beacon-network/info")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (
            de.get("/beacon-network").json()["info"]["members"][1]["fetched"]
            == (
                body["info"]["members"][1]["fetched"]  # cached, not fetched again
            )
        )
    assert_valid(body, "framework/json/responses/beaconInfoResponse.json")
    assert body["response"]["id"] == "eu.ehds.gateway.de.network"
    here, fr, it = body["info"]["members"]
    assert (here["country"], here["status"], here["local"]) == ("DE", "answered", True)
    assert set(here["map"]["endpointSets"]) == {"genomicVariation", "individual", "dataset"}
    assert fr["status"] == "answered"
    assert fr["baseUrl"] == f"{federation.members['FR'].public_base_url}/beacon"
    assert fr["map"]["endpointSets"]["individual"]["rootUrl"] == fr["baseUrl"] + "/individuals"
    assert fr["configuration"]["securityAttributes"]["defaultGranularity"] == "count"
    assert (it["status"], it["reason"]) == ("missing", "/map: unreachable (ConnectError)")
    assert body["info"]["partial"] is True
