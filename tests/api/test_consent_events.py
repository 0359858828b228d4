"""``POST /consent/events``: Standard Webhooks signatures, idempotency, strict bodies; the
stored directives as FHIR Consent; a research opt-out honoured by the very next Beacon query."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.api.conftest import SMALL_MANIFEST, SMALL_VCF, node_headers, serving
from tests.support.consent import signed as webhook_headers
from tests.support.fhir_validation import parse_with_fhir_resources, validate_resource

KVNR = "http://fhir.de/sid/gkv/kvid-10"
OLD_SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()
NEW_SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()
JOB = VcfIngest(
    SMALL_VCF,
    "cohort",
    manifest=SMALL_MANIFEST,
    policy=PolicyChange(max_granularity=Granularity.RECORD),
)


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_secrets": SecretStr(f"{OLD_SECRET} {NEW_SECRET}")})


def event(kind: str, value: str = "A123456780", **data: Any) -> bytes:
    body = {
        "type": kind,
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {"citizen": {"system": KVNR, "value": value}, **data},
    }
    return json.dumps(body).encode()


def signed(
    body: bytes, secret: str = NEW_SECRET, webhook_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    """The portal's headers for ``body``, signed with this module's current secret."""
    return webhook_headers(body, secret, webhook_id, at)


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.post("/consent/events", content=body, headers=headers)


def individuals(client: TestClient) -> list[str]:
    query = {"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "record"}}
    response = client.post("/beacon/individuals", json=query)
    assert response.status_code == 200, response.text
    sets = response.json()["response"]["resultSets"]
    return sorted(r["id"] for s in sets if s["id"] == "cohort" for r in s.get("results", []))


def test_a_research_opt_out_removes_the_citizen_from_the_next_answer(configured):
    with serving(configured, JOB) as client:
        assert "P1" in individuals(client)
        body = event("research.opted_out", purposes=["HRESCH"], categories=["research"])
        response = post(client, body, signed(body))
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "stored"}
        assert "P1" not in individuals(client)
        back = event("research.opted_in", categories=["research"])
        assert post(client, back, signed(back)).status_code == 200
        assert "P1" in individuals(client)


def test_the_same_webhook_id_is_stored_once(configured):
    with serving(configured, JOB) as client:
        body = event("research.opted_out")
        headers = signed(body, webhook_id="msg_once")
        assert post(client, body, headers).json() == {"status": "stored"}
        assert post(client, body, headers).json() == {"status": "already received"}


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "old", "future", "missing", "foreign-secret", "garbage-signature"],
)
def test_unsigned_or_tampered_events_are_401_and_change_nothing(configured, tamper):
    with serving(configured, JOB) as client:
        body = event("research.opted_out")
        headers = signed(body)
        if tamper == "body":
            body = body.replace(b"opted_out", b"opted_in")
        elif tamper == "signature":
            headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
        elif tamper == "old":
            headers = signed(body, at=datetime.now(UTC) - timedelta(minutes=6))
        elif tamper == "future":
            headers = signed(body, at=datetime.now(UTC) + timedelta(minutes=6))
        elif tamper == "missing":
            del headers["webhook-signature"]
        elif tamper == "foreign-secret":
            headers = signed(body, secret="whsec_" + base64.b64encode(os.urandom(24)).decode())
        else:
            headers["webhook-signature"] = "no comma here"
        response = post(client, body, headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "P1" in individuals(client)


def test_the_previous_secret_still_works_during_rotation(configured):
    with serving(configured, JOB) as client:
        body = event("consent.granted", purposes=["TREAT"], recipientCountries=["FR"])
        assert post(client, body, signed(body, secret=OLD_SECRET)).status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (
            b'{"type": "consent.granted", "type": "consent.revoked", "timestamp": "x", "data": {}}',
            "duplicate",
        ),
        (event("consent.forgotten"), "type must be one of"),
        (event("consent.granted", purposes=["SHOP"]), "unknown codes SHOP"),
        (event("consent.granted", recipientCountries=["France"]), "recipientCountries"),
        (event("consent.granted", categories=["everything"]), "categories"),
        (
            event(
                "consent.granted",
                period={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            ),
            "period",
        ),
        (
            json.dumps(
                {"type": "consent.granted", "timestamp": "2026-01-01", "data": {"citizen": {}}}
            ).encode(),
            "citizen",
        ),
        (  # dated ahead, it would outrank every later decision of the citizen
            json.dumps(
                {
                    "type": "consent.granted",
                    "timestamp": "2999-01-01T00:00:00Z",
                    "data": {"citizen": {"system": KVNR, "value": "A123456780"}},
                }
            ).encode(),
            "timestamp is in the future",
        ),
    ],
)
def test_signed_but_malformed_events_are_400(configured, body, says):
    with serving(configured, JOB) as client:
        response = post(client, body, signed(body))
        assert response.status_code == 400, response.text
        assert says in response.json()["detail"]


def test_webhooks_without_configured_secrets_are_refused(settings):
    with serving(settings, JOB) as client:
        body = event("research.opted_out")
        assert post(client, body, signed(body)).status_code == 401


def test_directives_are_served_as_fhir_consent(configured):
    with serving(configured, JOB) as client:
        client.headers.update(node_headers(client, configured))
        record = json.dumps(
            {
                "resourceType": "Patient",
                "id": "p",
                "identifier": [{"system": KVNR, "value": "A123456780"}],
                "name": [{"family": "Testperson", "given": ["Erika"]}],
                "birthDate": "1964-08-12",
            }
        ).encode()
        pushed = client.post(
            "/national/records", params={"profile": "de-isik-fhir"}, content=record
        )
        patient = pushed.headers["location"].rsplit("/", 1)[1]
        restrict = event(
            "consent.restricted", categories=["section:48765-2"], recipientCountries=["FR", "IT"]
        )
        assert post(client, restrict, signed(restrict)).status_code == 200
        found = client.get("/fhir/Consent", params={"patient": f"Patient/{patient}"}).json()
        assert found["total"] == 1
        consent = found["entry"][0]["resource"]
        assert consent["provision"]["type"] == "deny"
        assert consent["provision"]["class"][0]["code"] == "section:48765-2"
        assert [e["valueCode"] for e in consent["extension"]] == ["FR", "IT"]
        assert validate_resource(consent) == []
        assert parse_with_fhir_resources(consent) == []
