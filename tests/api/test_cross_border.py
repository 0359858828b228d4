"""A summary across a border, between two real gateways: FR asks for a DE citizen's summary;
FR's gateway asks DE's over mutual TLS with a token it got from DE with its own signed
assertion, DE's consent engine decides, DE signs, FR checks the signature against its trust
list and passes the exact bytes on. Both sides keep an audit record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.keys import load_ca, public_jwks
from gateway.auth.pki import init_pki
from gateway.auth.signing import verify_bundle
from gateway.settings import Settings
from tests.api.test_consent_scenarios import DE_BUNDLE, KVNR
from tests.support.attacks import audit_events
from tests.support.consent import send, with_webhooks
from tests.support.oauth import ClientKey, obtain_token, register
from tests.support.tls_server import free_port, tls_server

IDENTIFIER = f"{KVNR}|M123456785"


@dataclass
class Border:
    de: Settings
    fr: Settings
    pki: Path
    node_de: ClientKey
    node_fr: ClientKey


def trust_list(path: Path, pki: Path, country: str, base_url: str) -> Path:
    entry = {
        "country": country,
        "base_url": base_url,
        "ca_cert": str(pki / "ca.pem"),
        "jwks": public_jwks(pki, country),
    }
    path.write_text(yaml.safe_dump([entry]))
    return path


@pytest.fixture
def border(settings: Settings, tmp_path: Path) -> Border:
    pki = tmp_path / "pki"
    init_pki(pki, ["DE", "FR"])
    de_url = f"https://127.0.0.1:{free_port()}"
    de = with_webhooks(
        settings.model_copy(
            update={
                "country": "DE",
                "base_url": de_url,
                "pki_dir": pki,
                "trust_list": trust_list(tmp_path / "de.yaml", pki, "FR", "https://fr.test"),
            }
        )
    )
    fr = settings.model_copy(
        update={
            "country": "FR",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'fr.db'}",
            "pki_dir": pki,
            "trust_list": trust_list(tmp_path / "fr.yaml", pki, "DE", de_url),
            "peer_timeout": 5.0,
        }
    )
    node_de = ClientKey()
    node_fr = ClientKey("node-fr", scopes="system/Patient.rs", country="FR")
    register(de, node_de)
    register(fr, node_fr)
    return Border(de, fr, pki, node_de, node_fr)


@pytest.fixture
def de_serving(border: Border) -> Iterator[TestClient]:
    """DE's gateway over real TLS, and a second instance of it for DE's own node and portal
    (same database: what one writes, the other must see)."""
    port = int(border.de.public_base_url.rsplit(":", 1)[1])
    with (
        tls_server(create_app(border.de), port, border.pki, "DE"),
        TestClient(create_app(border.de), base_url=border.de.public_base_url) as local,
    ):
        token = obtain_token(local, border.de, border.node_de)
        pushed = local.post(
            "/national/records",
            params={"profile": "de-isik-fhir"},
            content=DE_BUNDLE,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert pushed.status_code == 201, pushed.text
        yield local


@pytest.fixture
def fr(border: Border) -> Iterator[TestClient]:
    with TestClient(create_app(border.fr)) as http:
        token = obtain_token(http, border.fr, border.node_fr)
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def summary(fr: TestClient) -> Any:
    return fr.get("/fhir/Patient/$summary", params={"identifier": IDENTIFIER})


def test_fr_gets_a_de_citizens_summary_signed_by_de_and_verified(border, de_serving, fr):
    response = summary(fr)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    verified = verify_bundle(response.content, [load_ca(border.pki)])
    assert "C=DE" in verified.subject
    patients = [e["resource"] for e in verified.document["entry"]]
    assert {"system": KVNR, "value": "M123456785"} in [
        {"system": i["system"], "value": i["value"]}
        for p in patients
        if p["resourceType"] == "Patient"
        for i in p["identifier"]
    ]
    again = summary(fr)  # the token FR holds for this requester is reused
    assert again.status_code == 200
    by_fr = [
        e.get("entity", [{}])[-1].get("what", {}).get("reference", "token").split("/")[0]
        for e in audit_events(border.de)
        if "eu.ehds.gateway.fr" in json.dumps(e["agent"]) and e["outcome"] == "0"
    ]
    # DE logged each read with FR's gateway as the agent, and one token: FR kept it.
    assert sorted(by_fr) == ["Bundle", "Bundle", "token"]


def test_a_revocation_at_des_portal_refuses_the_next_fr_request(border, de_serving, fr):
    assert summary(fr).status_code == 200
    send(de_serving, "consent.revoked", KVNR, "M123456785")
    refused = summary(fr)
    assert refused.status_code == 403, refused.text  # DE's refusal, passed on without a reason
    (issue,) = refused.json()["issue"]
    assert issue["diagnostics"] == "access to this patient's data is not permitted"


def test_a_citizen_of_a_country_without_a_peer_is_looked_up_here_only(fr):
    nl = fr.get(
        "/fhir/Patient/$summary",
        params={"identifier": "http://fhir.nl/fhir/NamingSystem/bsn|999999011"},
    )
    assert nl.status_code == 404
    assert nl.json()["issue"][0]["diagnostics"] == "no such patient"


def test_a_peer_that_is_down_is_a_502_and_fr_logs_the_failure(border, fr):
    down = summary(fr)  # nothing listens on DE's port
    assert down.status_code == 502, down.text
    assert down.json()["resourceType"] == "OperationOutcome"
    assert "DE: unreachable" in down.text
