"""What a peer sends back is untrusted: the requesting gateway passes on a summary only when
it is signed by that member state, with a key its trust list holds, and about the citizen
asked for; every other answer becomes a clean error. The peer is an ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import pytest

from gateway.auth.iua import RequesterContext
from gateway.auth.keys import load_signing_identity, public_jwks
from gateway.auth.pki import init_pki
from gateway.auth.signing import sign_bundle
from gateway.domain.records import Identifier
from gateway.domain.requester import Requester
from gateway.domain.scopes import parse_scopes
from gateway.errors import Forbidden, GatewayError, NotFound, PeerFailed, PeerTimeout
from gateway.federation.peers import OwnCredentials, PeerClient
from gateway.federation.trust_list import load_trust_list
from gateway.profiles.loader import ProfileSet
from gateway.services import federation
from gateway.services.audit import AuditService
from gateway.services.summaries import SignedSummary, SummaryService

KVNR = "http://fhir.de/sid/gkv/kvid-10"
CITIZEN = Identifier(KVNR, "M123456785")
WHO = Requester("node-fr", "FR", "TREAT", tuple(parse_scopes("system/Patient.rs")), subject="dr-1")
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    init_pki(folder, ["DE", "FR", "IT"])
    return folder


def bundle(value: str = "M123456785") -> dict[str, Any]:
    patient = {"resourceType": "Patient", "identifier": [{"system": KVNR, "value": value}]}
    return {
        "resourceType": "Bundle",
        "id": "b1",
        "type": "document",
        "timestamp": "2026-11-28T10:00:00Z",
        "entry": [{"resource": patient}],
    }


def signed_by(pki: Path, country: str, document: dict[str, Any]) -> bytes:
    identity = load_signing_identity(pki, country)
    chain = list(identity.certificate_chain)
    signed = sign_bundle(document, identity.private_key, chain, identity.kid, document["timestamp"])
    return orjson.dumps(signed)


def de_peer(summary: Callable[[httpx.Request], httpx.Response]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        return summary(request)

    return handle


def ask(
    pki: Path, tmp_path: Path, handler: Handler, timeout: float = 5.0, local: object = None
) -> bytes:
    trust_file = tmp_path / "trust.yaml"
    entry = {"country": "DE", "base_url": "https://de.test", "ca_cert": str(pki / "ca.pem")}
    trust_file.write_text(orjson.dumps([{**entry, "jwks": public_jwks(pki, "DE")}]).decode())
    trust = load_trust_list(trust_file, "FR")
    own = OwnCredentials.of(pki, "FR", load_signing_identity(pki, "FR"))
    client = PeerClient(
        own, timeout=timeout, max_bytes=64_000, transport=httpx.MockTransport(handler)
    )
    service = federation.FederatedSummaries(
        cast(SummaryService, local or _NobodyHere()),
        cast(ProfileSet, _Profiles()),
        "FR",
        trust,
        client,
        cast(AuditService, _NoAudit()),
    )

    async def run() -> bytes:
        try:
            return (await service.summary(CITIZEN, WHO)).body
        finally:
            await client.aclose()

    return asyncio.run(run())


class _Profiles:
    def country_of(self, system: str) -> str | None:
        return "DE" if system == KVNR else None


class _NobodyHere:
    async def holds(self, identifier: Identifier) -> bool:
        return False


class _HeldHere:
    async def holds(self, identifier: Identifier) -> bool:
        return True

    async def summary_for(self, identifier: Identifier, who: Requester) -> SignedSummary:
        return SignedSummary("local", b"held here")


class _NoAudit:
    async def record(self, *args: Any, **kwargs: Any) -> None:
        return None


def refused(pki: Path, tmp_path: Path, handler: Handler, error: type[GatewayError], says: str):
    with pytest.raises(error, match=says):
        ask(pki, tmp_path, handler)


def test_a_summary_signed_by_the_peer_passes_as_the_exact_bytes(pki, tmp_path):
    body = signed_by(pki, "DE", bundle())
    assert ask(pki, tmp_path, de_peer(lambda _: httpx.Response(200, content=body))) == body


def test_a_citizen_whose_records_are_held_here_is_answered_here(pki, tmp_path):
    def no_peer_call(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the peer must not be asked")

    assert ask(pki, tmp_path, no_peer_call, local=_HeldHere()) == b"held here"


def test_the_requester_context_travels_in_the_token_request(pki, tmp_path):
    seen: list[dict[str, Any]] = []
    body = signed_by(pki, "DE", bundle())

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            claims = orjson.loads(_segment(form["client_assertion"], 1))
            seen.append(claims)
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        assert request.headers["authorization"] == "Bearer t"
        assert request.url.params["identifier"] == f"{KVNR}|M123456785"
        return httpx.Response(200, content=body)

    ask(pki, tmp_path, handle)
    (claims,) = seen
    assert claims["iss"] == claims["sub"] == "eu.ehds.gateway.fr"
    assert claims["aud"] == "https://de.test/oauth/token"
    iua = claims["extensions"]["ihe_iua"]
    assert iua["purpose_of_use"]["code"] == "TREAT"
    assert (iua["subject_id"], iua["subject_organization"]) == ("dr-1", "node-fr")
    assert RequesterContext("TREAT", None, "dr-1", "node-fr").as_claim("TREAT")["ihe_iua"] == iua


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (
            lambda pki: signed_by(pki, "DE", bundle()).replace(b'"document"', b'"collection"'),
            "signature is refused",
        ),  # tampered after signing
        (lambda pki: orjson.dumps(bundle()), "signature is refused"),  # unsigned
        (lambda pki: signed_by(pki, "IT", bundle()), "signed by another member state"),
        (lambda pki: signed_by(pki, "DE", bundle("A123456780")), "not about the citizen"),
    ],
    ids=["tampered", "unsigned", "signed-by-IT", "another-citizen"],
)
def test_a_summary_that_does_not_prove_itself_is_refused(pki, tmp_path, answer, says):
    body = answer(pki)
    refused(pki, tmp_path, de_peer(lambda _: httpx.Response(200, content=body)), PeerFailed, says)


@pytest.mark.parametrize(
    ("status", "error", "says"),
    [
        (404, NotFound, "no such patient"),
        (403, Forbidden, "not permitted"),
        (500, PeerFailed, "answered HTTP 500"),
        (401, PeerFailed, "answered HTTP 401"),
    ],
)
def test_the_peers_refusals_map_to_clean_errors(pki, tmp_path, status, error, says):
    refused(pki, tmp_path, de_peer(lambda _: httpx.Response(status, json={})), error, says)


def test_an_oversized_answer_is_cut_off(pki, tmp_path):
    huge = b"x" * 100_000
    refused(
        pki,
        tmp_path,
        de_peer(lambda _: httpx.Response(200, content=huge)),
        PeerFailed,
        "over the 64000-byte limit",
    )


def test_a_token_answer_without_a_token_is_refused(pki, tmp_path):
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"token_type": "Bearer"})

    refused(pki, tmp_path, handle, PeerFailed, "lacks access_token")


def test_a_peer_that_hangs_is_a_timeout(pki, tmp_path):
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    with pytest.raises(PeerTimeout, match=r"no answer within 0\.2 s"):
        ask(pki, tmp_path, hang, timeout=0.2)  # type: ignore[arg-type]


def _segment(token: str, index: int) -> bytes:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
