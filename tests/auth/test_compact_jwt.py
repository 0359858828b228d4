"""Strict compact JWS reading: shape, headers and JSON are refused before any key is touched;
the signature is checked with the algorithm and key the caller pinned
(``gateway.auth.compact_jwt``)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from joserfc.jwk import ECKey, RSAKey

from gateway.auth.compact_jwt import MAX_TOKEN_BYTES, TokenRefused, read_compact, verify_signature
from tests.support.jose import b64url, forge, part

HEADER = {"alg": "ES384", "typ": "JWT", "kid": "k1"}
CLAIMS = {"iss": "node-de", "sub": "node-de", "jti": "1"}


@pytest.fixture(scope="module")
def ec384() -> ECKey:
    return ECKey.generate_key("P-384")


def refused(token: str, says: str) -> None:
    with pytest.raises(TokenRefused, match=says):
        read_compact(token)


def test_a_well_formed_token_is_read_without_its_signature_checked(ec384):
    token = forge(HEADER, CLAIMS, ec384, "ES384")
    parsed = read_compact(token)
    assert parsed.header == HEADER
    assert parsed.claims == CLAIMS
    assert parsed.text == token
    verify_signature(parsed, ec384, "ES384")


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",  # a JWE
        "onlyone",
        "",
        "..",
        "a..c",
    ],
)
def test_anything_but_three_non_empty_segments_is_refused(token):
    with pytest.raises(TokenRefused):
        read_compact(token)


def test_two_and_four_part_variants_of_a_real_token_are_refused(ec384):
    token = forge(HEADER, CLAIMS, ec384, "ES384")
    head, body, signature = token.split(".")
    refused(f"{head}.{body}", "three dot-separated parts")
    refused(f"{head}.{body}.{signature}.{signature}", "three dot-separated parts")
    refused(f"{head}.{body}.", "url-safe base64")  # alg none's empty signature


def test_padded_or_standard_base64_is_refused(ec384):
    header = {**HEADER, "x": "?>?"}  # standard base64 of this has + or /
    token = forge(header, CLAIMS, ec384, "ES384")
    head, body, signature = token.split(".")
    standard = base64.b64encode(base64.urlsafe_b64decode(head + "==")).decode()
    assert "+" in standard or "/" in standard or "=" in standard
    refused(f"{standard}.{body}.{signature}", "url-safe base64")
    refused(f"{head}==.{body}.{signature}", "url-safe base64")
    refused(f"{head}.{body}.{signature}=", "url-safe base64")
    refused(f"{head} .{body}.{signature}", "url-safe base64")


def test_an_oversized_token_is_refused_before_it_is_parsed(ec384):
    token = forge(HEADER, {**CLAIMS, "pad": "x" * MAX_TOKEN_BYTES}, ec384, "ES384")
    refused(token, "longer than")


@pytest.mark.parametrize("member", ["jku", "x5u", "jwk", "crit", "b64", "zip", "enc"])
def test_headers_that_choose_keys_or_change_verification_are_refused(ec384, member):
    value = {
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "jwk": ec384.as_dict(private=False),
        "crit": ["b64"],
        "b64": False,
        "zip": "DEF",
        "enc": "A256GCM",
    }[member]
    refused(forge({**HEADER, member: value}, CLAIMS, ec384, "ES384"), member)


@pytest.mark.parametrize("algorithm", [None, 384, ["ES384"]])
def test_a_header_without_a_string_algorithm_is_refused(ec384, algorithm):
    header = {name: value for name, value in HEADER.items() if name != "alg"}
    if algorithm is not None:
        header["alg"] = algorithm
    refused(forge(header, CLAIMS, ec384, "ES384"), "no algorithm")


@pytest.mark.parametrize(
    ("header", "claims", "says"),
    [
        (b'{"alg":"ES384","alg":"none"}', CLAIMS, "header has a duplicate JSON key"),
        (HEADER, b'{"iss":"a","sub":"a","iss":"b"}', "payload has a duplicate JSON key"),
        (b'["ES384"]', CLAIMS, "header is not a JSON object"),
        (HEADER, b"not json", "payload is not a JSON object"),
        (HEADER, b'"a string"', "payload is not a JSON object"),
        (HEADER, b'{"exp": NaN}', "payload is not a JSON object"),
        (HEADER, b'{"exp": 99999999999999999999}', "payload is not a JSON object"),
        (HEADER, b'{"iss": "\xff\xfe"}', "payload is not a JSON object"),
        (HEADER, b"\x00\x00\x00", "payload is not a JSON object"),
    ],
)
def test_json_that_is_not_one_i_json_object_is_refused(ec384, header, claims, says):
    refused(forge(header, claims, ec384, "ES384"), says)


def test_deep_nesting_within_the_size_limit_is_refused_not_a_crash(ec384):
    depth = 2500
    claims = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    token = forge(HEADER, claims, ec384, "ES384")
    assert len(token) <= MAX_TOKEN_BYTES
    refused(token, "payload is not a JSON object")


def test_a_segment_that_is_not_base64_of_anything_is_refused(ec384):
    token = forge(HEADER, CLAIMS, ec384, "ES384")
    _, body, signature = token.split(".")
    refused(f"A.{body}.{signature}", "header is not base64url")


# --- the signature, with the algorithm and key the caller pinned ------------------------------


@pytest.mark.parametrize(
    ("algorithm", "make"),
    [
        ("ES384", lambda: ECKey.generate_key("P-384")),
        ("ES256", lambda: ECKey.generate_key("P-256")),
        ("RS384", lambda: RSAKey.generate_key(2048)),
        ("RS256", lambda: RSAKey.generate_key(2048)),
    ],
)
def test_each_accepted_algorithm_verifies_with_its_key(algorithm, make):
    key = make()
    token = read_compact(forge({**HEADER, "alg": algorithm}, CLAIMS, key, algorithm))
    verify_signature(token, key, algorithm)
    with pytest.raises(TokenRefused, match="does not verify"):
        verify_signature(token, make(), algorithm)  # another key of the same kind


@pytest.mark.parametrize("named", ["none", "None", "NONE", "HS256", "ES256", "RS384", "es384"])
def test_the_token_cannot_choose_another_algorithm(ec384, named):
    token = read_compact(forge({**HEADER, "alg": named}, CLAIMS, ec384, "ES384"))
    with pytest.raises(TokenRefused, match="must be signed with ES384"):
        verify_signature(token, ec384, "ES384")


def hs256_with_public_pem(rsa: RSAKey, algorithm_named: str) -> str:
    """The classic confusion: the public key's PEM used as an HMAC secret (joserfc will not
    make such a key, so the MAC is computed by hand)."""
    pem = rsa.as_pem(private=False)
    signing_input = f"{part({**HEADER, 'alg': algorithm_named})}.{part(CLAIMS)}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


@pytest.mark.parametrize("named", ["HS256", "RS384"])
def test_hs256_keyed_with_the_public_key_does_not_verify_as_rs384(named):
    rsa = RSAKey.generate_key(2048)
    token = read_compact(hs256_with_public_pem(rsa, named))
    with pytest.raises(TokenRefused):
        verify_signature(token, rsa, "RS384")


@pytest.mark.parametrize(
    "signature",
    [
        bytes(96),  # r = s = 0: the CVE-2022-21449 class
        bytes(95),
        bytes(97),
        bytes(48),
        b"\x01",
        b"\xff" * 96,
        b"\x00" * 48 + b"\x01" * 48,
    ],
)
def test_zero_or_wrong_length_ecdsa_signatures_do_not_verify(ec384, signature):
    head, body, _ = forge(HEADER, CLAIMS, ec384, "ES384").split(".")
    token = read_compact(f"{head}.{body}.{b64url(signature)}")
    with pytest.raises(TokenRefused, match="does not verify"):
        verify_signature(token, ec384, "ES384")


def test_a_der_encoded_ecdsa_signature_is_not_accepted(ec384):
    """JWS ECDSA signatures are r||s; the DER form a library might also emit is refused."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    head, body, _ = forge(HEADER, CLAIMS, ec384, "ES384").split(".")
    private = ec384.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    der = private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA384()))
    token = read_compact(f"{head}.{body}.{b64url(der)}")
    with pytest.raises(TokenRefused, match="does not verify"):
        verify_signature(token, ec384, "ES384")


def test_a_signature_over_other_claims_does_not_verify(ec384):
    head, _, signature = forge(HEADER, CLAIMS, ec384, "ES384").split(".")
    other = part({**CLAIMS, "sub": "someone-else"})
    with pytest.raises(TokenRefused, match="does not verify"):
        verify_signature(read_compact(f"{head}.{other}.{signature}"), ec384, "ES384")
