"""The webhook part of the attack corpus (``reference/crossborder-security.md`` §7) on
``POST /consent/events``, beyond what ``test_consent_events.py`` covers: each header missing
alone, timestamps that are not numbers, a re-serialised body, several signatures of which one
is (or none is) valid, replays that try to change what was stored, and signed bodies that no
consent event can be. Refusals are 401 problem documents and security alerts; nothing changes.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.settings import Settings
from tests.api.conftest import gateway
from tests.support.attacks import security_alerts
from tests.support.consent import SECRET, event, signed, with_webhooks

KVNR = "http://fhir.de/sid/gkv/kvid-10"
CITIZEN = "A123456780"
OTHER_SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return with_webhooks(settings)


@pytest.fixture
def client(configured: Settings) -> Iterator[TestClient]:
    with gateway(configured) as test_client:
        patient = {
            "resourceType": "Patient",
            "identifier": [{"system": KVNR, "value": CITIZEN}],
            "name": [{"family": "Testperson", "given": ["Erika"]}],
            "birthDate": "1964-08-12",
        }
        pushed = test_client.post(
            "/national/records",
            params={"profile": "de-isik-fhir"},
            content=json.dumps(patient).encode(),
        )
        assert pushed.status_code == 201, pushed.text
        test_client.headers["x-patient"] = pushed.headers["location"].rsplit("/", 1)[1]
        yield test_client


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> Any:
    response = client.post("/consent/events", content=body, headers=headers)
    assert response.status_code < 500, response.text
    return response


def consents(client: TestClient) -> list[dict[str, Any]]:
    patient = client.headers["x-patient"]
    found = client.get("/fhir/Consent", params={"patient": f"Patient/{patient}"})
    assert found.status_code == 200, found.text
    return [entry["resource"] for entry in found.json()["entry"]]


def refused(client: TestClient, settings: Settings, body: bytes, headers: dict[str, str]) -> None:
    """401 problem document, a security alert, and no directive stored."""
    before = len(security_alerts(settings))
    response = post(client, body, headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "webhook signature, timestamp or headers not valid"
    alerts = security_alerts(settings)
    assert len(alerts) == before + 1
    assert alerts[-1]["agent"][0]["who"]["display"] == "consent portal webhook"
    assert consents(client) == []


def grant() -> bytes:
    return event("consent.granted", KVNR, CITIZEN, purposes=["TREAT"], recipientCountries=["FR"])


@pytest.mark.parametrize(
    "missing",
    [
        ("webhook-id",),
        ("webhook-timestamp",),
        ("webhook-signature",),
        ("webhook-id", "webhook-timestamp", "webhook-signature"),
    ],
)
def test_each_missing_header_alone_is_refused(client, configured, missing):
    body = grant()
    headers = {k: v for k, v in signed(body).items() if k not in missing}
    refused(client, configured, body, headers)


@pytest.mark.parametrize(
    "timestamp", ["", "yesterday", "nan", "inf", "-inf", "1e30", "-1", "0x65", "1700000000 1"]
)
def test_a_timestamp_that_is_no_time_is_refused(client, configured, timestamp):
    body = grant()
    headers = signed(body)
    headers["webhook-timestamp"] = timestamp
    refused(client, configured, body, headers)


def test_the_window_is_five_minutes_either_way(client, configured):
    now = datetime.now(UTC)
    for offset in (timedelta(minutes=-5, seconds=-5), timedelta(minutes=5, seconds=5)):
        body = grant()
        refused(client, configured, body, signed(body, at=now + offset))
    for offset in (timedelta(minutes=-4), timedelta(minutes=4)):
        body = grant()
        assert post(client, body, signed(body, at=now + offset)).status_code == 200


@pytest.mark.parametrize(
    "reshape",
    [
        lambda data: json.dumps(data, indent=2),
        lambda data: json.dumps(data, separators=(",", ":")),
        lambda data: json.dumps(data, sort_keys=True),
        lambda data: json.dumps(data, ensure_ascii=False) + "\n",
        lambda data: " " + json.dumps(data),
    ],
    ids=["indented", "compact", "sorted", "trailing-newline", "leading-space"],
)
def test_a_re_serialised_body_is_refused_though_it_means_the_same(client, configured, reshape):
    body = grant()
    headers = signed(body)
    same = reshape(json.loads(body)).encode()
    assert json.loads(same) == json.loads(body)
    assert same != body
    refused(client, configured, same, headers)


def test_a_signature_for_another_id_or_timestamp_is_refused(client, configured):
    body = grant()
    headers = signed(body, webhook_id="msg_original")
    refused(client, configured, body, {**headers, "webhook-id": "msg_other"})
    later = signed(body, webhook_id="msg_original", at=datetime.now(UTC) + timedelta(seconds=30))
    refused(client, configured, body, {**headers, "webhook-timestamp": later["webhook-timestamp"]})


def _bad_signature() -> str:
    return "v1," + base64.b64encode(os.urandom(32)).decode()


def test_one_valid_signature_among_several_is_accepted_as_standard_webhooks_says(client):
    """The header lists signatures (a sender rotating its secret signs with both): one that
    verifies is enough."""
    body = grant()
    headers = signed(body)
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"{_bad_signature()} {good} {_bad_signature()}"
    assert post(client, body, headers).status_code == 200
    assert len(consents(client)) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda good: f"{_bad_signature()} {_bad_signature()}",
        lambda good: good.replace("v1,", "v2,"),  # the right bytes under a version not read
        lambda good: good.replace("v1,", "v1a,"),
        lambda good: f"{good.split(',')[1]}",  # no version
        lambda good: f"not-a-pair {good}",  # a malformed entry fails the whole header
        lambda good: good[:-8] + "AAAAAAA=",  # truncated/altered
        lambda good: "v1," + base64.b64encode(b"").decode(),
        lambda good: "v1,!!!!",
    ],
    ids=["none-valid", "v2", "v1a", "unversioned", "malformed-entry", "altered", "empty", "junk"],
)
def test_headers_without_one_valid_v1_signature_are_refused(client, configured, make):
    body = grant()
    headers = signed(body)
    headers["webhook-signature"] = make(headers["webhook-signature"])
    refused(client, configured, body, headers)


def test_a_signature_made_with_another_secret_is_refused_even_beside_a_valid_id(client, configured):
    body = grant()
    refused(client, configured, body, signed(body, secret=OTHER_SECRET))
    unprefixed = SECRET.removeprefix("whsec_")
    assert unprefixed != SECRET
    # The same key spelled without its prefix is the same secret (Standard Webhooks).
    assert post(client, body, signed(body, secret=unprefixed)).status_code == 200


def test_a_replay_changes_nothing_even_with_another_signed_body(client):
    first = grant()
    headers = signed(first, webhook_id="msg_replayed")
    assert post(client, first, headers).json() == {"status": "stored"}
    assert post(client, first, headers).json() == {"status": "already received"}
    revoke = event("consent.revoked", KVNR, CITIZEN)
    again = post(client, revoke, signed(revoke, webhook_id="msg_replayed"))
    assert again.json() == {"status": "already received"}
    (stored,) = consents(client)
    assert stored["provision"]["type"] == "permit"


# --- signed bodies that no consent event can be -----------------------------------------------


def _deep(depth: int) -> bytes:
    return b'{"type": "consent.granted", "data": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_deep(30_000), "not JSON"),
        (b'{"type": "consent.granted", "data": {}, "x": 1' + b"9" * 5000 + b"}", "not JSON"),
        (
            event("consent.granted", KVNR, "A123\x00456780"),
            "printable",
        ),
        (event("consent.granted", "urn:x\x00y", CITIZEN), "printable"),
        (event("consent.granted", KVNR, "A123456780\ud800"), "printable"),
        (event("consent.granted", KVNR, "x" * 300), "at most 256"),
        (event("consent.granted", KVNR, CITIZEN, purposes="TREAT"), "list of strings"),
        (event("consent.granted", KVNR, CITIZEN, period=[]), "period"),
        (event("consent.granted", KVNR, CITIZEN, period={"end": "soon"}), "period.end"),
        (
            event("consent.granted", KVNR, CITIZEN, period={"start": "2026-01-01T00:00:00"}),
            "time zone",
        ),
        (json.dumps({"type": "consent.granted", "data": []}).encode(), "needs type"),
        (json.dumps([1, 2]).encode(), "needs type"),
    ],
    ids=[
        "deep-nesting",
        "huge-number",
        "nul-in-value",
        "nul-in-system",
        "lone-surrogate",
        "overlong-value",
        "purposes-not-a-list",
        "period-not-an-object",
        "period-end-not-a-time",
        "period-without-zone",
        "data-not-an-object",
        "not-an-object",
    ],
)
def test_a_signed_body_that_is_no_consent_event_is_a_clean_400(client, body, says):
    response = post(client, body, signed(body))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert says in response.json()["detail"]
    assert consents(client) == []


@pytest.mark.parametrize("webhook_id", ["m" * 129, "msg\x01", "msg id"])
def test_a_webhook_id_the_replay_store_cannot_hold_is_a_clean_400(client, webhook_id):
    body = grant()
    response = post(client, body, signed(body, webhook_id=webhook_id))
    assert response.status_code == 400, response.text
    assert "webhook-id" in response.json()["detail"]
    assert consents(client) == []


def test_a_null_period_is_no_period(client):
    body = event("consent.granted", KVNR, CITIZEN, period=None)
    assert post(client, body, signed(body)).status_code == 200
    (stored,) = consents(client)
    assert "period" not in stored["provision"]


def test_a_huge_event_is_413(client):
    body = event("consent.granted", KVNR, CITIZEN, note="x" * (80 * 1024))
    response = post(client, body, signed(body))
    assert response.status_code == 413
    assert consents(client) == []
