"""Summaries leave the gateway signed with its key; peers find the key at /.well-known."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gateway.app import create_app
from gateway.auth.keys import load_ca
from gateway.auth.pki import init_pki
from gateway.auth.signing import SignatureInvalid, verify_bundle
from gateway.errors import Unavailable
from tests.api.conftest import gateway
from tests.api.test_national_records import RECORD

PROFILE = "be-cancer-registry-csv"


def summary_bytes(client: TestClient) -> bytes:
    pushed = client.post("/national/records", params={"profile": PROFILE}, content=RECORD)
    assert pushed.status_code == 201, pushed.text
    patient = pushed.headers["location"].rsplit("/", 1)[1]
    response = client.get(f"/fhir/Patient/{patient}/$summary")
    assert response.status_code == 200
    return response.content


def test_a_summary_is_signed_and_verifies_against_the_federation_ca(settings, tmp_path):
    pki = tmp_path / "pki"
    init_pki(pki, ["DE"])
    with gateway(settings.model_copy(update={"pki_dir": pki})) as client:
        data = summary_bytes(client)
        verified = verify_bundle(data, [load_ca(pki)])
        assert verified.kid
        jwks = client.get("/.well-known/jwks.json")
        assert jwks.status_code == 200
        assert jwks.headers["content-type"].startswith("application/jwk-set+json")
        (key,) = jwks.json()["keys"]
        assert key["kid"] == verified.kid
        assert "d" not in key
    tampered = data.replace(b'"status":"final"', b'"status":"amended"', 1)
    assert tampered != data
    with pytest.raises(SignatureInvalid):
        verify_bundle(tampered, [load_ca(pki)])


def test_without_keys_a_dev_gateway_serves_unsigned_and_no_jwks(settings):
    with gateway(settings) as client:
        assert b'"signature"' not in summary_bytes(client)
        response = client.get("/.well-known/jwks.json")
        assert response.status_code == 503
        assert "gateway pki init" in response.json()["detail"]


def test_a_production_gateway_without_keys_does_not_start(settings):
    prod = settings.model_copy(
        update={"env": "prod", "webhook_secrets": SecretStr("whsec_c2VjcmV0c2VjcmV0c2VjcmV0")}
    )
    with pytest.raises(Unavailable, match="pki init"), TestClient(create_app(prod)):
        pass
