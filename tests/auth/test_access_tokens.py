"""RFC 9068 access tokens the gateway issues for itself, and the resource-server check: typ,
issuer, audience, lifetime and the RFC 8705 certificate binding (``gateway.auth.access_tokens``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc.jwk import ECKey

from gateway.auth.access_tokens import (
    TOKEN_LIFETIME_SECONDS,
    TokenIssuer,
    certificate_thumbprint,
)
from gateway.auth.compact_jwt import TokenRefused
from tests.support.jose import b64url, forge, resign, segments

BASE = "https://de.gateway.example"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLAIMS = {"sub": "node-fr", "client_id": "node-fr", "scope": "system/Patient.rs"}
CERTIFICATE = b"0\x82 a DER certificate, as far as a thumbprint cares"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer.ephemeral(BASE)


def verified(issuer: TokenIssuer, token: str, **kwargs: Any) -> dict[str, Any]:
    at = kwargs.pop("now", NOW)
    certificate = kwargs.pop("certificate", None)
    return issuer.verify(token, at, certificate, **kwargs)


def refused(issuer: TokenIssuer, token: str, says: str, **kwargs: Any) -> None:
    with pytest.raises(TokenRefused, match=says):
        verified(issuer, token, **kwargs)


def forged(issuer: TokenIssuer, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """A token signed with the issuer's own key, with any header and claims."""
    moment = int(NOW.timestamp())
    body: dict[str, Any] = {
        **CLAIMS,
        "iss": BASE,
        "aud": BASE,
        "iat": moment,
        "exp": moment + TOKEN_LIFETIME_SECONDS,
        "jti": "j",
    }
    body.update(claims)
    body = {name: value for name, value in body.items() if value is not None}
    head = {"alg": "ES384", "typ": "at+jwt", "kid": issuer.kid, **(header or {})}
    head = {name: value for name, value in head.items() if value is not None}
    return forge(head, body, issuer.key, "ES384")


def test_an_issued_token_verifies_and_says_what_rfc_9068_asks(issuer):
    token = issuer.issue(CLAIMS, NOW, None)
    header, _ = segments(token)
    assert header == {"alg": "ES384", "typ": "at+jwt", "kid": issuer.kid}
    claims = verified(issuer, token)
    assert claims["iss"] == claims["aud"] == BASE
    assert claims["exp"] - claims["iat"] == TOKEN_LIFETIME_SECONDS == 300
    assert claims["sub"] == claims["client_id"] == "node-fr"
    assert len(claims["jti"]) == 32
    assert "cnf" not in claims
    assert issuer.issue(CLAIMS, NOW, None) != token  # a fresh jti each time


def test_a_forged_token_with_the_right_key_and_claims_verifies(issuer):
    """The helper below makes tokens the issuer accepts, so every refusal is the rule's."""
    assert verified(issuer, forged(issuer))["jti"] == "j"


@pytest.mark.parametrize(
    "typ", [None, "JWT", "jwt", "id_token", "JWS", "vnd.ga4gh.passport+jwt", "at+jwt2", ""]
)
def test_a_token_whose_typ_is_not_at_jwt_is_refused(issuer, typ):
    refused(issuer, forged(issuer, {"typ": typ}), "not an access token")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_the_access_token_typ_is_read_as_rfc_9068_allows(issuer, typ):
    assert verified(issuer, forged(issuer, {"typ": typ}))["sub"] == "node-fr"


def test_a_token_of_another_gateway_is_refused(issuer):
    other = TokenIssuer.ephemeral("https://fr.gateway.example")
    refused(issuer, other.issue(CLAIMS, NOW, None), "current key")
    # Even naming this gateway's kid, iss and aud, another key's signature does not verify.
    impostor = TokenIssuer(ECKey.generate_key("P-384"), issuer.kid, BASE, BASE)
    refused(issuer, impostor.issue(CLAIMS, NOW, None), "does not verify")


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"aud": "https://fr.gateway.example"}, "another server"),
        ({"aud": [BASE]}, "another server"),
        ({"aud": [BASE, "https://fr.gateway.example"]}, "another server"),
        ({"aud": None}, "another server"),
        ({"iss": "https://fr.gateway.example"}, "another server"),
        ({"iss": None}, "another server"),
        ({"exp": None}, "lacks exp or iat"),
        ({"iat": None}, "lacks exp or iat"),
        ({"exp": 1.5e9}, "lacks exp or iat"),
        ({"sub": None}, "lacks sub"),
        ({"client_id": None}, "lacks client_id"),
        ({"scope": ["system/Patient.rs"]}, "lacks scope"),
        ({"jti": None}, "lacks jti"),
    ],
)
def test_claims_of_another_server_or_incomplete_are_refused(issuer, claims, says):
    refused(issuer, forged(issuer, **claims), says)


def test_an_expired_token_is_refused(issuer):
    token = issuer.issue(CLAIMS, NOW, None)
    assert verified(issuer, token, now=NOW + timedelta(seconds=TOKEN_LIFETIME_SECONDS - 1))
    refused(issuer, token, "expired", now=NOW + timedelta(seconds=TOKEN_LIFETIME_SECONDS))


def test_a_lifetime_this_gateway_does_not_issue_is_refused(issuer):
    moment = int(NOW.timestamp())
    refused(issuer, forged(issuer, exp=moment + 3600), "lifetime")
    refused(issuer, forged(issuer, iat=moment + 120, exp=moment + 240), "lifetime")


def test_a_token_naming_its_own_key_is_refused(issuer):
    token = resign(forged(issuer), issuer.key, "ES384", jwk=issuer.key.as_dict(private=False))
    refused(issuer, token, "jwk")
    refused(issuer, resign(forged(issuer), issuer.key, "ES384", jku=f"{BASE}/jwks"), "jku")


@pytest.mark.parametrize("named", ["none", "ES256", "HS256", "RS384"])
def test_a_token_naming_another_algorithm_is_refused(issuer, named):
    refused(issuer, forged(issuer, {"alg": named}), "must be signed with ES384")


def test_a_zero_signature_is_refused(issuer):
    head, body, _ = forged(issuer).split(".")
    refused(issuer, f"{head}.{body}.{b64url(bytes(96))}", "does not verify")


# --- the certificate binding (RFC 8705) -------------------------------------------------------


def test_the_thumbprint_is_the_base64url_sha256_of_the_der():
    digest = hashlib.sha256(CERTIFICATE).digest()
    assert certificate_thumbprint(CERTIFICATE) == b64url(digest)
    assert "=" not in certificate_thumbprint(CERTIFICATE)


def test_a_bound_token_needs_its_certificate(issuer):
    token = issuer.issue(CLAIMS, NOW, CERTIFICATE)
    _, claims = segments(token)
    assert claims["cnf"] == {"x5t#S256": certificate_thumbprint(CERTIFICATE)}
    assert verified(issuer, token, certificate=CERTIFICATE)["cnf"] == claims["cnf"]
    refused(issuer, token, "bound to a client certificate")
    refused(issuer, token, "bound to a client certificate", certificate=b"another certificate")
    # A third party introspecting it is not its holder.
    assert verified(issuer, token, holder=False)["cnf"] == claims["cnf"]


def test_an_unbound_token_is_accepted_with_or_without_a_certificate(issuer):
    token = issuer.issue(CLAIMS, NOW, None)
    assert verified(issuer, token, certificate=CERTIFICATE)["sub"] == "node-fr"


@pytest.mark.parametrize("cnf", ["x5t", {"jkt": "abc"}, {"x5t#S256": 7}, []])
def test_a_malformed_binding_is_refused(issuer, cnf):
    refused(issuer, forged(issuer, cnf=cnf), "not a certificate binding", certificate=CERTIFICATE)
