"""GA4GH Passports (v1) presented to the Beacon, verified as a Passport Clearinghouse must.

A passport is a JWS (``typ`` exactly ``vnd.ga4gh.passport+jwt``) whose ``ga4gh_passport_v1``
claim lists visas, each a JWS of its own. Both are checked the same way:

- the header first, before any cryptography: ``alg`` one of RS256/ES256/RS384/ES384 (never
  ``none`` or HS*), the expected ``typ``, a ``kid``;
- the key: the one with that ``kid`` in the configured JWKS of the token's ``iss`` (read from
  the payload, which the signature then binds). ``jku``, ``x5u`` and ``jwk`` headers are
  ignored: keys come from the brokers file only, and an unknown ``kid`` is a refusal;
- the signature (joserfc, algorithm and key type pinned), then the claims with joserfc's
  ``JWTClaimsRegistry``: ``iss``, ``sub``, ``iat``, ``exp`` required, ``exp`` in the future,
  ``iat``/``nbf`` at most 60 s ahead.

A passport failing any of this is refused (:class:`PassportRefused`, 401). A visa failing it,
or any clearinghouse rule, is dropped and does not count: a ``sub`` other than the
passport's (LinkedIdentities are not supported), a ``source`` its issuer may not vouch for,
``conditions`` (not evaluated here, so never satisfied), a missing ``by`` where the visa type
requires one, URL fields over 255 characters, or an expiry: a visa counts only while
``now < min(exp, asserted + max_authz_ttl)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from joserfc import jws
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwt import JWTClaimsRegistry

from gateway.auth.passport_brokers import ALGORITHMS, MAX_URL, PassportTrust, TrustedIssuer
from gateway.domain.access import Visa, VisaType
from gateway.domain.json_keys import unique_keys
from gateway.errors import Unauthorized

__all__ = [
    "MAX_PASSPORT_BYTES",
    "PASSPORT_TYP",
    "VISA_TYP",
    "Passport",
    "PassportRefused",
    "verify_passport",
]

PASSPORT_TYP = "vnd.ga4gh.passport+jwt"
VISA_TYP = "vnd.ga4gh.visa+jwt"
MAX_PASSPORT_BYTES = 16 * 1024
CLOCK_SKEW = 60  # seconds an iat or nbf may lie ahead of this gateway's clock

# `by` values of the passport specification, and those a dataset grant may come from: a
# researcher (self) or a colleague (peer) cannot grant access to controlled data.
_BY = frozenset({"self", "peer", "system", "so", "dac"})
_GRANTING = frozenset({"system", "so", "dac"})
_NEEDS_BY = frozenset(
    {VisaType.ACCEPTED_TERMS_AND_POLICIES.value, VisaType.CONTROLLED_ACCESS_GRANTS.value}
)

# One registry per algorithm, so joserfc verifies with exactly the algorithm the key was
# chosen for. Unknown header parameters are ignored, as RFC 7515 says (`crit` is refused
# before joserfc sees the token).
_REGISTRIES = {
    algorithm: jws.JWSRegistry(algorithms=[algorithm], strict_check_header=False)
    for algorithm in ALGORITHMS
}


class PassportRefused(Unauthorized):
    """A bearer token that is not a usable passport, or a visa that does not count.

    ``reason`` is a short code for the audit record and :attr:`Passport.dropped`:
    ``malformed``, ``too_large``, ``algorithm``, ``type``, ``untrusted_issuer``,
    ``unknown_key``, ``bad_signature``, ``expired``, ``claims``; for visas also
    ``unlinked_subject``, ``conditions``, ``missing_by``, ``authority``, ``untrusted_source``.
    The message never quotes the token."""

    code = "invalid_token"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"passport refused: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Passport:
    issuer: str
    subject: str
    visas: tuple[Visa, ...]  # those that passed every check
    dropped: tuple[str, ...] = ()  # why each other visa was dropped (reason codes)


def verify_passport(token: str, trust: PassportTrust, now: datetime | None = None) -> Passport:
    """The passport's subject and its usable visas.

    :raises PassportRefused: the token is not a valid passport from a configured broker.
    """
    moment = now or datetime.now(UTC)
    if len(token) > MAX_PASSPORT_BYTES:
        raise PassportRefused("too_large", f"over {MAX_PASSPORT_BYTES} bytes")
    _, claims = _verified(token, trust, moment, lambda typ: typ == PASSPORT_TYP)
    encoded = claims.get("ga4gh_passport_v1")
    if not isinstance(encoded, list) or not all(isinstance(v, str) for v in encoded):
        raise PassportRefused("malformed", "ga4gh_passport_v1 must be a list of visa JWS strings")
    visas: list[Visa] = []
    dropped: list[str] = []
    for visa_token in encoded:
        try:
            visas.append(_visa(visa_token, claims["sub"], trust, moment))
        except PassportRefused as exc:
            dropped.append(exc.reason)
    return Passport(claims["iss"], claims["sub"], tuple(visas), tuple(dropped))


def _visa(token: str, subject: str, trust: PassportTrust, now: datetime) -> Visa:
    """One visa as the domain sees it. :raises PassportRefused: the reason it is dropped."""
    # The Passport spec's own visa example says "JWT"; its recommended value is VISA_TYP.
    issuer, claims = _verified(token, trust, now, lambda typ: typ in (None, "JWT", VISA_TYP))
    if claims["sub"] != subject:
        raise PassportRefused("unlinked_subject", "the visa names another subject")
    body = claims.get("ga4gh_visa_v1")
    if not isinstance(body, dict):
        raise PassportRefused("malformed", "ga4gh_visa_v1 is missing")
    if "conditions" in body:
        raise PassportRefused("conditions", "visa conditions are not evaluated here")
    kind, value, source = (_text(body.get(name), name) for name in ("type", "value", "source"))
    by = _authority(kind, body.get("by"))
    if not issuer.vouches_for(source):
        raise PassportRefused("untrusted_source", "the visa's issuer may not vouch for its source")
    asserted = body.get("asserted")
    if not _seconds(asserted):
        raise PassportRefused("malformed", "'asserted' must be seconds since the epoch")
    stamp = now.timestamp()
    if asserted > stamp + CLOCK_SKEW:
        raise PassportRefused("claims", "the visa was asserted in the future")
    if stamp >= min(claims["exp"], asserted + trust.max_authz_ttl.total_seconds()):
        raise PassportRefused("expired", "the visa has expired or was asserted too long ago")
    return Visa(kind, value, source, by)


def _authority(kind: str, by: object) -> str | None:
    if by is None:
        if kind in _NEEDS_BY:
            raise PassportRefused("missing_by", f"a {kind} visa needs 'by'")
        return None
    granting = kind == VisaType.CONTROLLED_ACCESS_GRANTS
    if not isinstance(by, str) or by not in (_GRANTING if granting else _BY):
        raise PassportRefused("authority", "the visa's 'by' does not carry the authority needed")
    return by


def _verified(
    token: str, trust: PassportTrust, now: datetime, typ_allowed: Callable[[object], bool]
) -> tuple[TrustedIssuer, dict[str, Any]]:
    """The issuer and the claims of a JWS signed by a configured issuer's key."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise PassportRefused("malformed", "not a JWS in compact serialisation")
    header = _json_segment(parts[0])
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise PassportRefused("algorithm", f"the algorithm must be one of {', '.join(ALGORITHMS)}")
    if not typ_allowed(header.get("typ")):
        raise PassportRefused("type", "wrong token type (typ)")
    if "crit" in header or "b64" in header:
        # No extension is understood here, so a critical one can never be honoured.
        raise PassportRefused("malformed", "the header asks for extensions (crit, b64)")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise PassportRefused("unknown_key", "the header names no key (kid)")
    named = _json_segment(parts[1]).get("iss")
    issuer = trust.issuers.get(named) if isinstance(named, str) else None
    if issuer is None:
        raise PassportRefused("untrusted_issuer", "the issuer is not a configured broker")
    key = issuer.key_for(kid, algorithm)
    if key is None:
        raise PassportRefused("unknown_key", "no configured key of the issuer has this kid")
    try:
        payload = jws.deserialize_compact(token, key, registry=_REGISTRIES[algorithm]).payload
    except (JoseError, ValueError, TypeError):
        raise PassportRefused("bad_signature", "the signature does not verify") from None
    claims = _json_object(payload or b"")
    _check_claims(claims, issuer.issuer, now)
    return issuer, claims


def _check_claims(claims: dict[str, Any], issuer: str, now: datetime) -> None:
    stamp = int(now.timestamp())
    registry = JWTClaimsRegistry(
        now=stamp,
        leeway=CLOCK_SKEW,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        iat={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise PassportRefused("expired", "the token has expired") from None
    except JoseError as exc:
        raise PassportRefused("claims", f"claims not valid ({exc.error})") from None
    # The leeway is for clocks running behind the issuer's: it never extends an expiry.
    if claims["exp"] <= now.timestamp():
        raise PassportRefused("expired", "the token has expired")


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise PassportRefused("malformed", "a JWS segment is not base64url") from None
    return _json_object(raw)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw, object_pairs_hook=unique_keys)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PassportRefused("malformed", "a JWS segment is not a JSON object") from None
    if not isinstance(value, dict):
        raise PassportRefused("malformed", "a JWS segment is not a JSON object")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise PassportRefused("malformed", f"visa '{name}' must be text of 1-{MAX_URL} characters")
    return value


def _seconds(value: object) -> TypeGuard[int | float]:
    # As joserfc's NumericDate check: a bool is not a number, and NaN would never expire.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
