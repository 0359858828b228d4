"""``private_key_jwt`` client assertions (SMART Backend Services, RFC 7523), checked against
the client's registration (``gateway.auth.client_assertion``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, RSAKey

from gateway.auth.client_assertion import (
    CLIENT_ALGORITHMS,
    MAX_LIFETIME_SECONDS,
    assertion_issuer,
    check_jwks,
    verify_assertion,
)
from gateway.auth.compact_jwt import TokenRefused
from gateway.domain.clients import RegisteredClient
from tests.support.jose import b64url, forge

TOKEN_URL = "https://de.gateway.example/oauth/token"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MOMENT = int(NOW.timestamp())
KEYS: dict[str, Callable[[], ECKey | RSAKey]] = {
    "ES384": lambda: ECKey.generate_key("P-384"),
    "ES256": lambda: ECKey.generate_key("P-256"),
    "RS384": lambda: RSAKey.generate_key(2048),
    "RS256": lambda: RSAKey.generate_key(2048),
}


class Client:
    """A registered client and its private key."""

    def __init__(self, algorithm: str = "ES384", kid: str = "key-1") -> None:
        self.algorithm = algorithm
        self.kid = kid
        self.key = KEYS[algorithm]()
        self.registration = RegisteredClient(
            client_id="node-fr",
            jwks={"keys": [{**self.key.as_dict(private=False), "kid": kid}]},
            algorithm=algorithm,
            scopes="system/Patient.rs",
            country="FR",
            purposes=("TREAT",),
        )

    def claims(self, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "iss": "node-fr",
            "sub": "node-fr",
            "aud": TOKEN_URL,
            "iat": MOMENT,
            "exp": MOMENT + 240,
            "jti": "a-unique-id",
        }
        body.update(changes)
        return {name: value for name, value in body.items() if value is not None}

    def assertion(self, header: dict[str, Any] | None = None, **changes: Any) -> str:
        head = {"alg": self.algorithm, "typ": "JWT", "kid": self.kid, **(header or {})}
        head = {name: value for name, value in head.items() if value is not None}
        return forge(head, self.claims(**changes), self.key, self.algorithm)


def verify(client: Client, token: str, registration: RegisteredClient | None = None) -> Any:
    parsed, issuer = assertion_issuer(token)
    assert issuer == "node-fr"
    return verify_assertion(parsed, registration or client.registration, TOKEN_URL, NOW)


def read_and_verify(client: Client, token: str) -> Any:
    parsed, _ = assertion_issuer(token)
    return verify_assertion(parsed, client.registration, TOKEN_URL, NOW)


def refused(client: Client, token: str, says: str) -> None:
    with pytest.raises(TokenRefused, match=says):
        verify(client, token)


@pytest.fixture(scope="module")
def client() -> Client:
    return Client()


@pytest.mark.parametrize("algorithm", CLIENT_ALGORITHMS)
def test_an_assertion_in_the_registered_algorithm_passes(algorithm):
    client = Client(algorithm)
    checked = verify(client, client.assertion())
    assert checked.client_id == "node-fr"
    assert checked.jti == "a-unique-id"
    assert checked.expires == datetime.fromtimestamp(MOMENT + 240, UTC)


@pytest.mark.parametrize(
    ("registered", "signed"),
    [("ES384", "ES256"), ("RS384", "RS256"), ("ES256", "ES384"), ("RS256", "RS384")],
)
def test_an_assertion_in_another_algorithm_than_the_registered_one_fails(registered, signed):
    client = Client(registered)
    other = Client(signed, kid="key-2")
    # The other key is registered too: only the pinned algorithm counts.
    both = replace(
        client.registration,
        jwks={"keys": client.registration.jwks["keys"] + other.registration.jwks["keys"]},
    )
    # An EC key of the other curve is not even a candidate; an RSA key is, but not its alg.
    with pytest.raises(TokenRefused, match=f"must be signed with {registered}|no single"):
        verify(client, other.assertion(), both)


@pytest.mark.parametrize("named", ["none", "None", "NONE", "HS256", "HS384", "PS384", "ES512"])
def test_algorithms_outside_the_pinned_one_are_refused(client, named):
    refused(client, client.assertion({"alg": named}), "must be signed with ES384")


def test_an_unsigned_assertion_is_refused(client):
    head = {"alg": "none", "typ": "JWT", "kid": "key-1"}
    token = forge(head, client.claims(), None, "none")
    with pytest.raises(TokenRefused, match="url-safe base64"):
        assertion_issuer(token)


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "key-1' OR '1'='1",
        "key-1; DROP TABLE oauth_clients; --",
        "KEY-1",
        "key-1 ",
        "",
        "unknown",
    ],
)
def test_a_kid_that_names_no_registered_key_is_refused(client, kid):
    refused(client, client.assertion({"kid": kid}), "no single registered key")


@pytest.mark.parametrize("kid", [None, 1, ["key-1"]])
def test_a_missing_or_non_string_kid_is_refused(client, kid):
    refused(client, client.assertion({"kid": kid}), "needs a kid")


def test_two_registered_keys_sharing_a_kid_are_refused_as_ambiguous(client):
    twin = {**ECKey.generate_key("P-384").as_dict(private=False), "kid": "key-1"}
    doubled = replace(client.registration, jwks={"keys": [*client.registration.jwks["keys"], twin]})
    with pytest.raises(TokenRefused, match="no single registered key"):
        verify(client, client.assertion(), doubled)


def test_a_key_of_another_client_does_not_verify(client):
    stranger = Client()  # same kid and algorithm, another key
    refused(client, stranger.assertion(), "does not verify")


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/chain.pem"),
        ("crit", ["exp"]),
        ("b64", False),
    ],
)
def test_headers_pointing_elsewhere_are_refused(client, member, value):
    with pytest.raises(TokenRefused, match=member):
        verify(client, client.assertion({member: value}))


def test_an_embedded_jwk_is_refused_even_when_it_verifies():
    attacker = Client()
    embedded = attacker.assertion({"jwk": attacker.key.as_dict(private=False)})
    with pytest.raises(TokenRefused, match="jwk"):
        verify(Client(), embedded)


@pytest.mark.parametrize("typ", ["at+jwt", "JWS", "id_token", "vnd.ga4gh.passport+jwt"])
def test_an_assertion_typ_other_than_jwt_is_refused(client, typ):
    refused(client, client.assertion({"typ": typ}), "typ must be JWT")


def test_an_assertion_without_typ_passes(client):
    assert verify(client, client.assertion({"typ": None})).jti == "a-unique-id"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"iss": "node-it"}, "iss"),  # assertion_issuer names another client
        ({"sub": "node-it"}, "iss and sub"),
        ({"sub": None}, "iss and sub"),
        ({"aud": "https://fr.gateway.example/oauth/token"}, "aud"),
        ({"aud": [TOKEN_URL, "https://fr.gateway.example/oauth/token"]}, "aud"),
        ({"aud": ["https://fr.gateway.example/oauth/token", TOKEN_URL]}, "aud"),
        ({"aud": TOKEN_URL + "/"}, "aud"),
        ({"aud": "https://de.gateway.example"}, "aud"),
        ({"aud": None}, "aud"),
        ({"exp": None}, "needs exp"),
        ({"exp": str(MOMENT + 60)}, "needs exp"),
        ({"exp": True}, "needs exp"),
        ({"exp": MOMENT}, "expired"),
        ({"exp": MOMENT - 1}, "expired"),
        ({"exp": MOMENT + MAX_LIFETIME_SECONDS + 60}, "more than five minutes"),
        ({"exp": MOMENT + 10 * 365 * 86400}, "more than five minutes"),
        ({"iat": MOMENT + 120}, "iat is in the future"),
        ({"nbf": MOMENT + 120}, "nbf is in the future"),
        ({"iat": "yesterday"}, "iat"),
        ({"jti": None}, "needs a jti"),
        ({"jti": ""}, "needs a jti"),
        ({"jti": 42}, "needs a jti"),
        ({"jti": "x" * 257}, "needs a jti"),
        ({"jti": "a\x00b"}, "needs a jti"),  # no database holds a NUL in text
        ({"jti": "\ud800"}, "needs a jti"),  # nor a lone surrogate
        ({"jti": "line\nbreak"}, "needs a jti"),
    ],
)
def test_claims_that_break_a_rule_are_refused(client, changes, says):
    token = client.assertion(**changes)
    with pytest.raises(TokenRefused, match=says):
        read_and_verify(client, token)


def test_an_aud_as_a_one_element_list_passes(client):
    assert verify(client, client.assertion(aud=[TOKEN_URL])).client_id == "node-fr"


def test_missing_iat_and_nbf_are_allowed_and_a_small_skew_tolerated(client):
    assert verify(client, client.assertion(iat=None)).jti == "a-unique-id"
    assert verify(client, client.assertion(nbf=MOMENT + 10, iat=MOMENT + 10)).jti


@pytest.mark.parametrize(
    "issuer", [None, "", 7, "x" * 129, "node\x00fr", "node-\ud800", "nöde", "node\n", ["node-fr"]]
)
def test_an_assertion_without_a_usable_issuer_names_no_client(client, issuer):
    with pytest.raises(TokenRefused, match="needs iss"):
        assertion_issuer(client.assertion(iss=issuer))


# --- registering a JWKS -----------------------------------------------------------------------


def test_check_jwks_keeps_public_keys_with_kids():
    key = ECKey.generate_key("P-384").as_dict(private=False)
    assert check_jwks({"keys": [{**key, "kid": "a"}]}, "ES384") == {"keys": [{**key, "kid": "a"}]}


@pytest.mark.parametrize(
    ("jwks", "algorithm", "says"),
    [
        ({"keys": []}, "ES384", "no keys"),
        ({}, "ES384", "no keys"),
        ({"keys": [{"kty": "EC"}]}, "ES384", "needs a kid"),
        ({"keys": ["not a key"]}, "ES384", "needs a kid"),
        (None, "HS256", "algorithm must be one of"),
        (None, "none", "algorithm must be one of"),
        (None, "ES256", "no key in the JWKS can verify ES256"),  # a P-384 key only
        (None, "RS384", "no key in the JWKS can verify RS384"),
    ],
)
def test_check_jwks_refuses_what_cannot_verify_the_pinned_algorithm(jwks, algorithm, says):
    if jwks is None:
        jwks = {"keys": [{**ECKey.generate_key("P-384").as_dict(private=False), "kid": "a"}]}
    with pytest.raises(ValueError, match=says):
        check_jwks(jwks, algorithm)


def test_check_jwks_refuses_private_keys_symmetric_keys_and_short_rsa():
    private = {**ECKey.generate_key("P-384").as_dict(private=True), "kid": "a"}
    with pytest.raises(ValueError, match="public keys only"):
        check_jwks({"keys": [private]}, "ES384")
    with pytest.raises(ValueError, match="public keys only"):
        check_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "a"}]}, "ES384")
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 (the point of the test)
    numbers = weak.public_key().public_numbers()
    short = {"kty": "RSA", "kid": "a", "n": _b64int(numbers.n), "e": _b64int(numbers.e)}
    with pytest.raises(ValueError, match="2048 bits"), pytest.warns(SecurityWarning):
        check_jwks({"keys": [short]}, "RS384")
    with pytest.raises(ValueError, match="only EC and RSA"):
        check_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA", "kid": "a"}]}, "ES384")


def _b64int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))
