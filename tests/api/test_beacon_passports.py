"""Researchers with GA4GH Passports on the Beacon, through the real app.

The store holds the standard datasets (``cohort`` and ``reference`` PUBLIC, ``secret``
CONTROLLED) plus ``registry`` (REGISTERED, record) and ``vault`` (CONTROLLED, record). The
broker and the data access committee are made here; the brokers file goes into tmp_path.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.domain.access import REGISTERED_ACCESS
from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity, SecurityLevel
from gateway.errors import Misconfigured
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from gateway.storage.audit import AuditRepository
from gateway.storage.database import open_database
from tests.api.conftest import SMALL_VCF, STANDARD_JOBS, serving
from tests.cli.test_ingest_command import command, environment, one_clear_line
from tests.support.beacon_schema import COLLECTIONS, DATASET_RECORD, ERROR, assert_valid
from tests.support.passports import (
    ATTACKER_URL,
    BROKER_URL,
    DAC_URL,
    Issuer,
    grant_visa,
    passport_token,
    registered_visas,
    visa_token,
    write_brokers,
)

pytestmark = pytest.mark.usefixtures("shared")

JOBS = (
    *STANDARD_JOBS,
    VcfIngest(
        SMALL_VCF,
        "registry",
        policy=PolicyChange(
            security_level=SecurityLevel.REGISTERED,
            max_granularity=Granularity.RECORD,
            duo_codes=("DUO:0000042", "DUO:0000019"),
        ),
    ),
    VcfIngest(
        SMALL_VCF,
        "vault",
        policy=PolicyChange(
            security_level=SecurityLevel.CONTROLLED, max_granularity=Granularity.RECORD
        ),
    ),
)
SNV: dict[str, Any] = {"referenceName": "1", "start": [1999], "alternateBases": "T"}
CHALLENGE = 'Bearer error="invalid_token"'


@pytest.fixture(scope="module")
def broker() -> Issuer:
    return Issuer.rsa(BROKER_URL, "broker-2026")


@pytest.fixture(scope="module")
def dac() -> Issuer:
    return Issuer.ec(DAC_URL, "dac-1")


@pytest.fixture(scope="module")
def attacker() -> Issuer:
    return Issuer.rsa(ATTACKER_URL, "broker-2026")


@pytest.fixture
def passport_settings(settings: Settings, tmp_path: Path, broker: Issuer, dac: Issuer) -> Settings:
    brokers = write_brokers(tmp_path, broker, dac)
    return settings.model_copy(update={"passport_brokers": brokers})


@pytest.fixture
def client(passport_settings: Settings) -> Iterator[TestClient]:
    with serving(passport_settings, *JOBS) as test_client:
        yield test_client


def dataset_url(settings: Settings, name: str) -> str:
    return f"{settings.public_base_url}/beacon/datasets/{name}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def query(
    client: TestClient,
    path: str,
    token: str | None = None,
    granularity: str = "record",
    **parameters: Any,
) -> dict[str, Any]:
    body = {
        "meta": {"apiVersion": "v2.0"},
        "query": {"requestParameters": parameters, "requestedGranularity": granularity},
    }
    response = client.post(f"/beacon{path}", json=body, headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def listed(client: TestClient, token: str | None = None) -> list[str]:
    response = client.get("/beacon/datasets", headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    assert_valid(response.json(), COLLECTIONS)
    return [c["id"] for c in response.json()["response"]["collections"]]


def refused(response: Any) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE
    body = response.json()
    assert_valid(body, ERROR)
    assert body["error"]["errorCode"] == 401
    message: str = body["error"]["errorMessage"]
    return message


# --- what a passport opens ---------------------------------------------------------------


def test_anonymous_callers_see_public_datasets_only(client: TestClient) -> None:
    assert listed(client) == ["cohort", "reference"]
    answer = query(client, "/g_variants", granularity="count", datasetIds=["registry"], **SNV)
    assert answer["responseSummary"]["exists"] is False


def test_registered_access_sees_registered_datasets_at_count(
    client: TestClient, broker: Issuer
) -> None:
    token = passport_token(broker, registered_visas(broker))
    assert listed(client, token) == ["cohort", "reference", "registry"]
    answer = query(client, "/g_variants", token, datasetIds=["registry"], **SNV)
    assert answer["meta"]["returnedGranularity"] == "count"  # asked for records
    assert answer["responseSummary"]["numTotalResults"] == 1  # one allele in one dataset
    people = query(client, "/individuals", token, datasetIds=["registry"])
    assert people["meta"]["returnedGranularity"] == "count"
    assert (
        query(client, "/g_variants", token, datasetIds=["secret"], **SNV)["responseSummary"][
            "exists"
        ]
        is False
    )


def test_a_grant_opens_records_of_its_controlled_dataset_only(
    client: TestClient, passport_settings: Settings, broker: Issuer, dac: Issuer
) -> None:
    token = passport_token(broker, [grant_visa(dac, dataset_url(passport_settings, "secret"))])
    assert listed(client, token) == ["cohort", "reference", "secret"]
    answer = query(client, "/g_variants", token, datasetIds=["secret"], **SNV)
    assert answer["meta"]["returnedGranularity"] == "record"
    (result_set,) = answer["response"]["resultSets"]
    assert result_set["id"] == "secret"
    assert [r["variantInternalId"] for r in result_set["results"]] == ["GRCh38-1-2000-C-T"]
    people = query(client, "/individuals", token, datasetIds=["secret"])
    assert people["meta"]["returnedGranularity"] == "record"
    assert people["responseSummary"]["numTotalResults"] == 6  # consent basis open
    assert (
        query(client, "/g_variants", token, datasetIds=["vault"], **SNV)["responseSummary"][
            "exists"
        ]
        is False
    )
    assert client.get("/beacon/datasets/vault", headers=bearer(token)).status_code == 404
    assert client.get("/beacon/datasets/secret", headers=bearer(token)).status_code == 200
    terms = client.get("/beacon/datasets/secret/filtering_terms", headers=bearer(token))
    assert terms.status_code == 200
    assert client.get("/beacon/datasets/secret/filtering_terms").status_code == 404


def test_the_registry_duo_codes_are_shown(client: TestClient, broker: Issuer) -> None:
    token = passport_token(broker, registered_visas(broker))
    response = client.get("/beacon/datasets/registry", headers=bearer(token))
    (record,) = response.json()["response"]["collections"]
    assert_valid(record, DATASET_RECORD)
    assert [term["id"] for term in record["dataUseConditions"]["duoDataUse"]] == [
        "DUO:0000042",
        "DUO:0000019",
    ]
    assert record["dataUseConditions"]["duoDataUse"][0]["label"] == "general research use"


# --- visas that must not count ----------------------------------------------------------


def visa_defects(settings: Settings, broker: Issuer, dac: Issuer, attacker: Issuer) -> list[str]:
    secret = dataset_url(settings, "secret")
    now = int(time.time())
    header, payload, signature = grant_visa(dac, secret).split(".")
    return [
        f"{header}.{payload}.{signature[:-6]}AAAAAA",  # bad signature
        grant_visa(attacker, secret),  # untrusted issuer
        grant_visa(attacker, secret, jku=f"{ATTACKER_URL}/jwks.json"),  # jku elsewhere
        grant_visa(dac, secret, extra={"conditions": [[{"type": "ResearcherStatus"}]]}),
        grant_visa(dac, secret, by=None),
        grant_visa(dac, secret.replace("secret", "SECRET")),
        grant_visa(dac, secret + "/"),
        grant_visa(dac, secret, subject="someone-else"),
        grant_visa(dac, secret, exp=now - 1),
        grant_visa(dac, secret, asserted=now - 400 * 86400),
    ]


def test_visas_that_must_not_count(
    client: TestClient, passport_settings: Settings, broker: Issuer, dac: Issuer, attacker: Issuer
) -> None:
    for number, visa in enumerate(visa_defects(passport_settings, broker, dac, attacker)):
        token = passport_token(broker, [visa])
        assert listed(client, token) == ["cohort", "reference"], number
        answer = query(client, "/g_variants", token, datasetIds=["secret"], **SNV)
        assert answer["responseSummary"]["exists"] is False, number


def test_registered_access_needs_both_valid_visas(client: TestClient, broker: Issuer) -> None:
    terms, status = registered_visas(broker)
    header, payload, signature = status.split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    missing_by = visa_token(broker, "AcceptedTermsAndPolicies", REGISTERED_ACCESS, by=None)
    for visas in ([terms], [status], [terms, forged], [missing_by, status]):
        assert listed(client, passport_token(broker, visas)) == ["cohort", "reference"]


# --- passports that are refused ---------------------------------------------------------


def passport_defects(broker: Issuer, attacker: Issuer) -> dict[str, str]:
    good = passport_token(broker, registered_visas(broker))
    header, payload, signature = good.split(".")
    none = "eyJhbGciOiJub25lIiwidHlwIjoidm5kLmdhNGdoLnBhc3Nwb3J0K2p3dCJ9"
    hs256 = "eyJhbGciOiJIUzI1NiIsInR5cCI6InZuZC5nYTRnaC5wYXNzcG9ydCtqd3QifQ"
    forged_broker = Issuer(BROKER_URL, attacker.key, attacker.algorithm)
    return {
        "wrong typ": passport_token(broker, registered_visas(broker), typ="JWT"),
        "no typ": passport_token(broker, registered_visas(broker), typ=None),
        "alg none": f"{none}.{payload}.",
        "alg none signed": f"{none}.{payload}.{signature}",
        "HS256": f"{hs256}.{payload}.{signature}",
        "untrusted issuer": passport_token(attacker, registered_visas(attacker)),
        "jku elsewhere": passport_token(
            forged_broker, registered_visas(forged_broker), jku=f"{ATTACKER_URL}/jwks"
        ),
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "expired": passport_token(broker, [], claims={"exp": int(time.time()) - 5}),
        "from the future": passport_token(broker, [], claims={"iat": int(time.time()) + 600}),
        "unknown kid": passport_token(broker, [], kid="rotated-away"),
        "oversized": passport_token(broker, ["x" * 17_000]),
        "garbage": "not-a-token",
        "four parts": f"{good}.extra",
    }


def test_invalid_passports_are_401_beacon_errors(
    client: TestClient, broker: Issuer, attacker: Issuer
) -> None:
    for name, token in passport_defects(broker, attacker).items():
        for response in (
            client.get("/beacon/g_variants", params={"geneId": "BRCA2"}, headers=bearer(token)),
            client.post("/beacon/individuals", json={}, headers=bearer(token)),
        ):
            assert refused(response).startswith("passport refused"), name


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "passport", "Bearer a b", "DPoP x.y.z"]
)
def test_authorization_headers_that_hold_no_passport(client: TestClient, header: str) -> None:
    refused(client.get("/beacon/datasets", headers={"Authorization": header}))


def test_refused_passports_are_security_alerts_without_the_token(
    client: TestClient, passport_settings: Settings, broker: Issuer
) -> None:
    token = passport_token(broker, registered_visas(broker), typ="JWT")
    refused(client.get("/beacon/datasets", headers=bearer(token)))
    events = asyncio.run(audit_events(passport_settings))
    (alert,) = [e for e in events if e["type"]["code"] == "110113"]
    assert alert["outcome"] == "4"
    assert alert["outcomeDesc"] == "Beacon passport refused (type)"
    assert alert["agent"][0]["who"]["display"] == "Beacon caller at testclient"
    assert token[:40] not in orjson.dumps(events).decode()


async def audit_events(settings: Settings) -> list[dict[str, Any]]:
    database = open_database(settings.database_url)
    try:
        async with database.read() as connection:
            return [
                orjson.loads(link.content) async for link in AuditRepository(connection).links()
            ]
    finally:
        await database.dispose()


def test_informational_routes_do_not_read_the_header(client: TestClient) -> None:
    for path in ("/info", "/service-info", "/configuration", "/map", "/entry_types"):
        response = client.get(f"/beacon{path}", headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 200, path


def test_without_brokers_every_passport_is_refused(settings: Settings, broker: Issuer) -> None:
    with serving(settings, *JOBS) as plain:
        token = passport_token(broker, registered_visas(broker))
        assert "trusts no passport brokers" in refused(
            plain.get("/beacon/datasets", headers=bearer(token))
        )
        assert listed(plain) == ["cohort", "reference"]


def test_a_broken_brokers_file_stops_the_start(settings: Settings, tmp_path: Path) -> None:
    brokers = tmp_path / "brokers.yaml"
    brokers.write_text("issuers:\n  - issuer: https://broker.example\n    jwks: absent.json\n")
    with pytest.raises(Misconfigured) as caught:
        create_app(settings.model_copy(update={"passport_brokers": brokers}))
    assert caught.value.message.startswith(f"GATEWAY_PASSPORT_BROKERS: {brokers}: issuer 1")
    assert "cannot read jwks" in caught.value.message
    assert "\n" not in caught.value.message


def test_gateway_serve_refuses_a_broken_brokers_file_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    brokers = tmp_path / "brokers.json"
    brokers.write_text('{"issuers": [{"issuer": "https://broker.example", "jwks": {"keys": [')
    result = subprocess.run(
        command("serve", "--port", "18998"),
        env={**environment(database_url), "GATEWAY_PASSPORT_BROKERS": str(brokers)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    line = one_clear_line(result)
    assert line.startswith(f"gateway: GATEWAY_PASSPORT_BROKERS: {brokers}: not valid YAML or JSON")
