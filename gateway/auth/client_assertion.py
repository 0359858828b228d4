"""SMART Backend Services client authentication: the ``private_key_jwt`` client assertion.

authlib's ``JWTBearerClientAssertion`` is not used: it decodes without an algorithm list (so
joserfc refuses RS384/ES384, which SMART clients must use), puts no upper bound on ``exp``
and lets the token's ``alg`` choose the key (``reference/crossborder-security.md`` §3). The
rules below are SMART's and RFC 7523's, with the gateway's choices made explicit:

- the algorithm is pinned per client at registration; the key is the one registered key whose
  ``kid`` and type match it (exactly one), never one the token points to;
- ``iss`` = ``sub`` = client_id; ``aud`` is this token URL (a string, or a one-element list);
- ``exp`` is required, in the future and at most five minutes ahead; ``iat``/``nbf``, when
  given, not in the future; ``jti`` required (the caller makes it single use).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from gateway.auth.compact_jwt import CompactJWT, TokenRefused, read_compact, verify_signature
from gateway.domain.clients import RegisteredClient

__all__ = [
    "ASSERTION_TYPE",
    "CLIENT_ALGORITHMS",
    "Assertion",
    "assertion_issuer",
    "check_jwks",
    "verify_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# SMART requires RS384/ES384; GA4GH AAI requires RS256/ES256. Never none, never HS*.
CLIENT_ALGORITHMS = ("ES384", "RS384", "ES256", "RS256")
MAX_LIFETIME_SECONDS = 300
CLOCK_SKEW_SECONDS = 30
_KEY_TYPE = {"ES384": ("EC", "P-384"), "ES256": ("EC", "P-256"), "RS384": ("RSA", None)}
_KEY_TYPE["RS256"] = ("RSA", None)
_MIN_RSA_BITS = 2048
# RFC 6749 §A.1: a client_id is *VSCHAR (printable ASCII). The jti is held to the same: both
# are looked up and stored, and a NUL or a lone surrogate is text no database will take.
_CLIENT_ID = re.compile(r"[\x20-\x7e]{1,128}")
_JTI = re.compile(r"[\x20-\x7e]{1,256}")


@dataclass(frozen=True, slots=True)
class Assertion:
    client_id: str
    jti: str
    expires: datetime
    claims: dict[str, Any]


def assertion_issuer(token: str) -> tuple[CompactJWT, str]:
    """The parsed assertion and the client it claims to come from (not yet verified).

    :raises TokenRefused:
    """
    parsed = read_compact(token)
    issuer = parsed.claims.get("iss")
    if not isinstance(issuer, str) or not _CLIENT_ID.fullmatch(issuer):
        raise TokenRefused("the assertion needs iss, the client_id (printable ASCII)")
    return parsed, issuer


def verify_assertion(
    parsed: CompactJWT, client: RegisteredClient, token_url: str, now: datetime
) -> Assertion:
    """Check a parsed client assertion against its registered client. :raises TokenRefused:"""
    if parsed.header.get("typ") not in (None, "JWT"):
        raise TokenRefused("the assertion typ must be JWT")
    verify_signature(parsed, _key_for(parsed.header, client), client.algorithm)
    claims = parsed.claims
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise TokenRefused("the assertion's iss and sub must both be the client_id")
    if claims.get("aud") not in (token_url, [token_url]):
        raise TokenRefused("the assertion's aud must be this token URL")
    expires = _check_times(claims, now)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not _JTI.fullmatch(jti):
        raise TokenRefused("the assertion needs a jti (printable ASCII)")
    return Assertion(client.client_id, jti, expires, claims)


def check_jwks(jwks: Mapping[str, Any], algorithm: str) -> dict[str, Any]:
    """A client's JWKS as it will be stored: public keys only, each with a ``kid``, at least
    one usable with ``algorithm``. :raises ValueError: says what is wrong."""
    if algorithm not in CLIENT_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(CLIENT_ALGORITHMS)}")
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ValueError("the JWKS has no keys")
    for entry in keys:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise ValueError("every key in the JWKS needs a kid")
        if any(private in entry for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ValueError(f"key {entry['kid']}: the JWKS must hold public keys only")
        _import(entry)
    if not [entry for entry in keys if _fits(entry, algorithm)]:
        raise ValueError(f"no key in the JWKS can verify {algorithm}")
    return {"keys": [dict(entry) for entry in keys]}


def _key_for(header: Mapping[str, Any], client: RegisteredClient) -> ECKey | RSAKey:
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise TokenRefused("the assertion header needs a kid")
    matching = [
        entry
        for entry in client.jwks["keys"]
        if entry.get("kid") == kid and _fits(entry, client.algorithm)
    ]
    if len(matching) != 1:
        raise TokenRefused("no single registered key has that kid for the client's algorithm")
    return _import(matching[0])


def _fits(entry: Mapping[str, Any], algorithm: str) -> bool:
    kty, curve = _KEY_TYPE[algorithm]
    return entry.get("kty") == kty and (curve is None or entry.get("crv") == curve)


def _import(entry: Mapping[str, Any]) -> ECKey | RSAKey:
    try:
        if entry.get("kty") == "EC":
            return ECKey.import_key(dict(entry))
        if entry.get("kty") == "RSA":
            key = RSAKey.import_key(dict(entry))
            if key.raw_value.key_size < _MIN_RSA_BITS:
                raise ValueError(f"key {entry.get('kid')}: RSA keys need {_MIN_RSA_BITS} bits")
            return key
    except (JoseError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"key {entry.get('kid')}: not a usable JWK ({exc})") from None
    raise ValueError(f"key {entry.get('kid')}: only EC and RSA keys are accepted")


def _check_times(claims: Mapping[str, Any], now: datetime) -> datetime:
    moment = now.timestamp()
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise TokenRefused("the assertion needs exp")
    if expires <= moment:
        raise TokenRefused("the assertion has expired")
    if expires > moment + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise TokenRefused("the assertion's exp is more than five minutes ahead")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is not None and (not _is_number(value) or value > moment + CLOCK_SKEW_SECONDS):
            raise TokenRefused(f"the assertion's {name} is in the future")
    return datetime.fromtimestamp(expires, UTC)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
